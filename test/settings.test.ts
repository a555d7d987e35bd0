/**
 * provider/settings.ts: an http:// ESX host is refused unless esx:allowHttp (or the host's allowHttp in esx:hosts)
 * is set, and then warned about once per host; the environment variables the provider reads.
 */
import { hostConnection, settingsFromConfig } from "../provider/settings";

const cfg = (c: Record<string, string>) => (k: string) => c[k];

test("an http:// host is refused without esx:allowHttp, naming the setting; https and plain names pass", () => {
  const s = settingsFromConfig(cfg({ "esx:host": "http://127.0.0.1:8989", "esx:password": "pw" }), {});
  expect(() => hostConnection(s, undefined)).toThrow(/http:\/\/127\.0\.0\.1:8989 is an http:\/\/ URL.*esx:allowHttp: true/);
  for (const host of ["https://esx1:8443", "esx1", "esx1:8443"]) {
    expect(hostConnection(settingsFromConfig(cfg({ "esx:host": host }), {}), undefined).conn.host).toBe(host);
  }
});

test("esx:allowHttp accepts it with one warning per host; esx:hosts entries may set their own allowHttp", () => {
  const written: string[] = [];
  const spy = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    const s = settingsFromConfig(cfg({ "esx:host": "http://127.0.0.1:8990", "esx:allowHttp": "true" }), {});
    expect(hostConnection(s, undefined).conn.host).toBe("http://127.0.0.1:8990");
    hostConnection(s, undefined);
    expect(written.filter((w) => w.includes("esx:allowHttp is set: ESX host 127.0.0.1:8990"))).toHaveLength(1);

    const many = settingsFromConfig(
      cfg({ "esx:hosts": JSON.stringify({ sim: { host: "http://127.0.0.1:8991", allowHttp: true }, lab: { host: "http://127.0.0.1:8992" } }) }),
      {},
    );
    expect(hostConnection(many, "sim").alias).toBe("sim");
    expect(() => hostConnection(many, "lab")).toThrow(/esx:allowHttp/);
  } finally {
    spy.mockRestore();
  }
});

test("environment: lock staleness, call tracing and the Glance timeout fallback", () => {
  expect(settingsFromConfig(cfg({}), {})).toMatchObject({ lockStaleMs: 120_000, traceCalls: false, glanceTimeoutMs: undefined });
  const env = { PULUMI_ESX_LOCK_STALE_MS: "3000", PULUMI_ESX_TRACE_CALLS: "1", PULUMI_ESX_GLANCE_TIMEOUT_MS: "4000" };
  expect(settingsFromConfig(cfg({}), env)).toMatchObject({ lockStaleMs: 3000, traceCalls: true, glanceTimeoutMs: 4000 });
  expect(settingsFromConfig(cfg({ "esx:glanceTimeoutMs": "5000" }), env).glanceTimeoutMs).toBe(5000);
});
