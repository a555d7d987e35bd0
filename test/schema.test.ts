/**
 * schema.json, docs/reference.md and sdk/args.generated.ts are generated from the zod schemas: this fails when a
 * schema changed without `npm run schema`. It also checks that the replace rules and secrets are described and
 * that every sdk argument and output carries TSDoc from its schema description.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildPackageSchema } from "../provider/schema/package-schema";
import { renderReference } from "../provider/schema/reference";
import { renderSdkTypes } from "../provider/schema/sdk-types";
import { SECRET_OUTPUTS } from "../provider/schema/secrets";
import * as ts from "typescript";

const root = path.resolve(__dirname, "..");

test("the committed schema.json, docs/reference.md and sdk/args.generated.ts match the zod schemas", () => {
  const fresh = buildPackageSchema();
  const committed = JSON.parse(fs.readFileSync(path.join(root, "schema.json"), "utf8"));
  expect(committed).toEqual(fresh);
  expect(fs.readFileSync(path.join(root, "docs", "reference.md"), "utf8")).toBe(renderReference(fresh));
  expect(fs.readFileSync(path.join(root, "sdk", "args.generated.ts"), "utf8")).toBe(renderSdkTypes());
});

/** Members of the interfaces and classes in a TypeScript source, with their TSDoc text ("" when none). */
function membersWithDocs(file: string, classesOnly = false): Record<string, Record<string, string>> {
  const src = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
  const out: Record<string, Record<string, string>> = {};
  src.forEachChild((n) => {
    if (!((!classesOnly && ts.isInterfaceDeclaration(n)) || ts.isClassDeclaration(n)) || !n.name) return;
    const members: Record<string, string> = {};
    for (const m of n.members) {
      if (!(ts.isPropertySignature(m) || ts.isPropertyDeclaration(m)) || !m.name) continue;
      const docs = ts.getJSDocCommentsAndTags(m).map((d) => (typeof d.comment === "string" ? d.comment : ""));
      members[m.name.getText(src)] = docs.join("\n");
    }
    out[n.name.text] = members;
  });
  return out;
}

test("every generated sdk argument and output has TSDoc from the schema's description", () => {
  const decls = membersWithDocs(path.join(root, "sdk", "args.generated.ts"));
  const s = buildPackageSchema();
  for (const [token, r] of Object.entries<any>(s.resources)) {
    const name = token.split(":").pop()!;
    const args = decls[`${name}Args`];
    const outs = decls[`${name}Outputs`];
    expect(Object.keys(args).sort()).toEqual(Object.keys(r.inputProperties).sort());
    expect(Object.keys(outs).sort()).toEqual(Object.keys(r.properties).sort());
    for (const [k, p] of Object.entries<any>(r.inputProperties))
      expect({ k, doc: args[k] }).toEqual({ k, doc: expect.stringContaining(p.description.split(" One of:")[0]) });
    for (const [k, p] of Object.entries<any>(r.properties))
      expect({ k, doc: outs[k] }).toEqual({ k, doc: expect.stringContaining(p.description.split(" One of:")[0]) });
  }
  // nested argument types are documented too
  for (const [name, members] of Object.entries(decls))
    for (const [k, d] of Object.entries(members))
      if (!["start", "end"].includes(k) && !name.endsWith("Glance") && !name.startsWith("GuestNetworkAllocationRange"))
        expect({ name, k, d }).toEqual({ name, k, d: expect.stringMatching(/\S/) });
});

test("the sdk classes declare no outputs of their own: they inherit the generated, documented ones", () => {
  for (const f of ["guest-network.ts", "esx-instance.ts", "esx-image.ts"]) {
    const classes = membersWithDocs(path.join(root, "sdk", f), true);
    expect(Object.keys(classes).length).toBe(1);
    for (const members of Object.values(classes)) expect(members).toEqual({});
  }
});

test("outputs that may carry secrets are secret in schema.json, in the sdk's TSDoc and in additionalSecretOutputs", () => {
  const s = buildPackageSchema();
  expect(SECRET_OUTPUTS.EsxInstance).toContain("userData");
  const decls = membersWithDocs(path.join(root, "sdk", "args.generated.ts"));
  for (const [res, keys] of Object.entries(SECRET_OUTPUTS)) {
    for (const k of keys) {
      expect(s.resources[`esx:index:${res}`].properties[k].secret).toBe(true);
      expect(s.resources[`esx:index:${res}`].inputProperties[k].secret).toBe(true);
      expect(decls[`${res}Outputs`][k]).toMatch(/Secret/);
      expect(decls[`${res}Args`][k]).toMatch(/Secret/);
    }
  }
  expect(s.config.variables.glanceToken.secret).toBe(true);
});

test("schema describes replacement, defaults and secret config", () => {
  const s = buildPackageSchema();
  const gn = s.resources["esx:index:GuestNetwork"];
  expect(gn.inputProperties.portGroup.replaceOnChanges).toBe(true);
  expect(gn.inputProperties.vlanId.replaceOnChanges).toBeUndefined();
  expect(gn.inputProperties.vswitch.default).toBe("vSwitch0");
  expect(gn.requiredInputs).toEqual(["portGroup"]);
  expect(gn.properties.networkId.description).toMatch(/Network object/);
  expect(s.config.variables.password.secret).toBe(true);
  for (const r of Object.values<any>(s.resources)) {
    for (const [k, p] of Object.entries<any>(r.inputProperties)) expect({ k, d: typeof p.description }).toEqual({ k, d: "string" });
  }
});
