/**
 * Programs written from the README and the examples type-check against the sdk (args derived from the zod
 * schemas), and a program with a wrong type does not.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const root = path.resolve(__dirname, "..");
const snippetDir = path.join(root, ".sim", "readme-snippets");

function diagnostics(files: string[]): string[] {
  const cfg = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, root);
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true, types: ["node"] });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && files.includes(path.resolve(d.file.fileName)))
    .map((d) => `${path.basename(d.file!.fileName)}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
}

function readmeSnippets(): string[] {
  const md = fs.readFileSync(path.join(root, "README.md"), "utf8");
  return [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).filter((s) => s.includes("pulumi-esx"));
}

beforeAll(() => fs.mkdirSync(snippetDir, { recursive: true }));
afterAll(() => fs.rmSync(snippetDir, { recursive: true, force: true }));

test("README programs and every example type-check against the sdk", () => {
  const snippets = readmeSnippets();
  expect(snippets.length).toBeGreaterThan(0);
  const files = snippets.map((s, i) => {
    const f = path.join(snippetDir, `readme-${i}.ts`);
    fs.writeFileSync(f, s);
    return f;
  });
  const examples = fs
    .readdirSync(path.join(root, "examples"))
    .map((d) => path.join(root, "examples", d, "index.ts"))
    .filter((f) => fs.existsSync(f));
  expect(examples.length).toBeGreaterThan(0);
  expect(diagnostics([...files, ...examples])).toEqual([]);
});

test("a program with a wrong argument type does not type-check", () => {
  const f = path.join(snippetDir, "wrong.ts");
  fs.writeFileSync(f, `import { GuestNetwork } from "pulumi-esx";\nnew GuestNetwork("x", { portGroup: "p", vlanId: "100" });\n`);
  const d = diagnostics([f]);
  expect(d.join("\n")).toMatch(/vlanId|number/);
});
