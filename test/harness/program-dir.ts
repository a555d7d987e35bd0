/**
 * A throw-away "program directory", the cwd the engine gives the plugin. The plugin evaluates `__provider`
 * with require-from-string, which resolves `require("pkg")` from process.cwd(), so the packages a serialized
 * provider requires must be resolvable there, as in a real program that depends on them.
 * For the plugin-level tests only: it links the repository itself; program-level tests run through the Pulumi CLI
 * with the package installed from its packed tarball (scripts/lib/pulumi.ts).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The package under test: the nearest directory above this file holding a package.json (works from dist too). */
export function packageRoot(): string {
  return findRoot(__dirname);
}
/** Its package name (the name a program would import it by). */
export function packageName(): string {
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), "package.json"), "utf8")).name;
}

function findRoot(from: string): string {
  for (let d = from; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, "package.json"))) return d;
    if (path.dirname(d) === d) throw new Error(`no package.json above ${from}`);
  }
}

/**
 * Creates a temp directory with node_modules/<name> symlinks. Default links: packageName() (e.g. `pulumi-esx`) -> the
 * repository root, `@pulumi/pulumi` -> the installed SDK. `links` adds or overrides (name -> absolute target).
 */
export function makeProgramDir(links: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-program-"));
  const all: Record<string, string> = {
    [packageName()]: packageRoot(),
    "@pulumi/pulumi": path.dirname(require.resolve("@pulumi/pulumi/package.json")),
    ...links,
  };
  for (const [name, target] of Object.entries(all)) {
    const link = path.join(dir, "node_modules", name);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(target, link, "dir");
  }
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "harness-program", private: true }));
  return dir;
}
