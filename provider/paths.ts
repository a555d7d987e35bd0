import * as fs from "node:fs";
import * as path from "node:path";

let root: string | undefined;

/** The directory of this package's package.json, whether running from dist/ (tsc) or from sources (ts-jest). */
export function packageRoot(): string {
  if (root) return root;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const pj = path.join(dir, "package.json");
    if (fs.existsSync(pj) && JSON.parse(fs.readFileSync(pj, "utf8")).name === "pulumi-esx") return (root = dir);
    if (path.dirname(dir) === dir) throw new Error("pulumi-esx package root not found above " + __dirname);
  }
}
