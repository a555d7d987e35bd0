/**
 * got ships only as an ES module. This package compiles to CommonJS (module "node16"), where TypeScript
 * keeps `import()` as a real dynamic import: Node loads the ES module natively in the plugin process, and
 * jest loads it through its ESM support (NODE_OPTIONS=--experimental-vm-modules, set by the test script).
 */
import type { Got } from "got" with { "resolution-mode": "import" };

let cached: Promise<Got> | undefined;

export function loadGot(): Promise<Got> {
  cached ??= import("got").then((m) => m.default);
  return cached;
}
