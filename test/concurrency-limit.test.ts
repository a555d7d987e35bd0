/**
 * esx:maxConcurrentOperations bounds how many operations one provider process runs against a host at once.
 * Six GuestNetwork creates are sent to the plugin together, with a proxy holding every AddPortGroup for 400 ms:
 * with the bound at 2, at most two AddPortGroup calls are ever in flight at the host; with the default, all six.
 *
 * Plugin protocol (test/harness/plugin.ts): six Creates are sent to one plugin process at once, so only the
 * provider's own bound limits them (under `pulumi up` the engine's --parallel would be a second bound).
 */
import { FaultEnv, startFaultEnv } from "./support/fault-env";
import { startEsxPlugin, EsxPlugin } from "./support/esx-plugin";
import { ProxyCall } from "./support/fault-proxy";

let env: FaultEnv;
const plugins: EsxPlugin[] = [];

beforeAll(async () => {
  env = await startFaultEnv();
}, 120_000);

afterAll(async () => {
  for (const p of plugins) await p.plugin.stop().catch(() => undefined);
  await env?.stop();
});

function maxOverlap(calls: ProxyCall[]): number {
  const edges = calls.flatMap((c) => [
    { t: c.startedAt, d: +1 },
    { t: c.startedAt + c.ms, d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d); // an end and a start at the same ms do not overlap
  let cur = 0;
  let max = 0;
  for (const e of edges) max = Math.max(max, (cur += e.d));
  return max;
}

async function createSix(extra: Record<string, string>, prefix: string): Promise<number> {
  const p = await startEsxPlugin({
    "esx:host": env.esx.url,
    "esx:allowHttp": "true",
    "esx:username": env.sim.username,
    "esx:password": env.sim.password,
    ...extra,
  });
  plugins.push(p);
  env.esx.clearCalls();
  env.esx.addRule({ soapOp: "AddPortGroup", action: { delayMs: 400 }, times: Infinity });
  const names = [1, 2, 3, 4, 5, 6].map((i) => `${prefix}-${i}`);
  await Promise.all(names.map((n) => p.up("GuestNetwork", n, { portGroup: n, vlanId: 10 })));
  env.esx.clearRules();
  const pgs = await env.portGroups();
  for (const n of names) expect(pgs).toContain(n);
  const adds = env.esx.calls.filter((c) => c.soapOp === "AddPortGroup");
  expect(adds).toHaveLength(6);
  return maxOverlap(adds);
}

test("esx:maxConcurrentOperations=2: never more than two operations at the host", async () => {
  expect(await createSix({ "esx:maxConcurrentOperations": "2" }, "lim2")).toBe(2);
}, 120_000);

test("default bound (64): six independent creates run at once", async () => {
  expect(await createSix({}, "limdef")).toBe(6);
}, 120_000);

test("esx:maxConcurrentOperations must be a positive integer; the socket pool follows it", () => {
  const { settingsFromConfig } = require("../provider/settings") as typeof import("../provider/settings");
  const cfg = (v?: string) => (k: string) => ({ "esx:host": "esx1", "esx:maxConcurrentOperations": v })[k];
  for (const bad of ["0", "-1", "2.5", "many"]) expect(() => settingsFromConfig(cfg(bad))).toThrow(/esx:maxConcurrentOperations/);
  expect(settingsFromConfig(cfg(undefined)).maxConcurrentOperations).toBe(64);
  const s = settingsFromConfig(cfg("4"));
  expect(s.maxConcurrentOperations).toBe(4);
  expect(s.hosts.default.maxSockets).toBe(12);
});
