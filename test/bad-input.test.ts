/**
 * The bad input corpus (test/fixtures/bad-inputs.ts) through the real plugin's Check: every case is rejected, its
 * failure names the field (`property`, and the reason starts with the field path), and the host sees no request.
 * Requests are counted by a small HTTP forwarder between the plugin and the simulator (plain HTTP); a valid
 * create before and a read after the corpus show that the counter does see the plugin's traffic.
 *
 * Plugin protocol (test/harness/plugin.ts): every corpus case goes to Check on its own and the test reads the
 * failures' `property` and `reason` fields, which `pulumi` only prints as text; whole programs with bad input are in
 * the CLI tests.
 */
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { BAD_INPUTS, inputsOf, VALID } from "./fixtures/bad-inputs";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { EsxPlugin, startEsxPlugin } from "./support/esx-plugin";

interface Counter {
  url: string;
  count(): number;
  close(): Promise<void>;
}

/** Forwards every HTTP request to 127.0.0.1:targetPort and counts them. */
async function startCounter(targetPort: number): Promise<Counter> {
  let n = 0;
  const agent = new http.Agent({ keepAlive: true });
  const srv = http.createServer((req, res) => {
    n++;
    const up = http.request({ host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", (e) => res.destroy(e));
    req.pipe(up);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    count: () => n,
    close: () =>
      new Promise<void>((r) => {
        agent.destroy();
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

let sim: EsxSim;
let counter: Counter;
let p: EsxPlugin;
let control: { id: string; outs: Record<string, any> };

beforeAll(async () => {
  sim = await startEsxSim({ tls: false });
  counter = await startCounter(Number(sim.host.split(":")[1]));
  p = await startEsxPlugin({ "esx:host": counter.url, "esx:allowHttp": "true", "esx:username": sim.username, "esx:password": sim.password });
  // Positive control: a valid create goes through the counter.
  control = await p.up("GuestNetwork", "control", { portGroup: "control-pg" });
  expect(counter.count()).toBeGreaterThan(0);
}, 120_000);

afterAll(async () => {
  await p?.plugin.stop();
  await counter?.close();
  await sim?.stop();
});

test("the corpus has at least 60 cases over the three resources, and the valid bases pass check", async () => {
  expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(60);
  for (const kind of ["GuestNetwork", "EsxImage", "EsxInstance"] as const) {
    expect(BAD_INPUTS.filter((c) => c.kind === kind).length).toBeGreaterThanOrEqual(20);
    const before = counter.count();
    const r = await p.plugin.check(p.urn(kind, "valid"), {}, { ...VALID[kind], __provider: p.provider[kind] });
    expect(r.failures).toEqual([]);
    expect(counter.count()).toBe(before);
  }
});

describe.each(BAD_INPUTS.map((c, n) => [`${n + 1} ${c.kind} ${c.field}: ${c.what}`, c] as const))("%s", (_label, c) => {
  test("rejected in check, naming its field, with no request to the host", async () => {
    const before = counter.count();
    const r = await p.plugin.check(p.urn(c.kind, "bad"), {}, { ...inputsOf(c), __provider: p.provider[c.kind] });
    expect(r.failures.length).toBeGreaterThan(0);
    // Every failure is about this field, and says so in its reason.
    expect(r.failures.map((f) => f.property)).toEqual(r.failures.map(() => c.field));
    for (const f of r.failures) expect(f.reason.startsWith(`${c.field}: `)).toBe(true);
    expect(counter.count()).toBe(before);
  });
});

test("after the corpus the counter still sees the plugin's requests (a read of the control port group)", async () => {
  const before = counter.count();
  const r = await p.plugin.read(control.id, p.urn("GuestNetwork", "control"), control.outs);
  expect(r.id).toBe("control-pg");
  expect(counter.count()).toBeGreaterThan(before);
  await p.plugin.delete(control.id, p.urn("GuestNetwork", "control"), control.outs);
});
