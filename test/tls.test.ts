/**
 * TLS through the real plugin against the HTTPS simulators (self-signed; and one whose certificate expired
 * yesterday): an unpinned certificate, a wrong pin and an expired certificate are refused before any request
 * (errors name the host, the thumbprint seen or the expiry, and esx:thumbprint as the fix); a correct pin works;
 * esx:insecure works and warns exactly once per host per plugin process. The session-level pieces (SHA-1 pins,
 * pin formats) are in test/vim-session.test.ts.
 *
 * Plugin protocol (test/harness/plugin.ts): the warnings are counted per plugin process, and errors are read from
 * single calls.
 */
import * as tls from "node:tls";
import { VimSession } from "../provider/vim/session";
import { hostContext } from "../provider/esx/host";
import { readNetworkInfo } from "../provider/driver/network/port-group";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { EsxPlugin, startEsxPlugin } from "./support/esx-plugin";

let good: EsxSim;
let expired: EsxSim;
let expiredValidTo: string;
const plugins: EsxPlugin[] = [];

function config(sim: EsxSim, extra: Record<string, string> = {}): Record<string, string> {
  return { "esx:host": sim.host, "esx:username": sim.username, "esx:password": sim.password, ...extra };
}

async function plugin(cfg: Record<string, string>): Promise<EsxPlugin> {
  const p = await startEsxPlugin(cfg);
  plugins.push(p);
  return p;
}

/** Port groups on the host, read over a correctly pinned session (or insecure for the expired host). */
async function portGroups(sim: EsxSim): Promise<string[]> {
  const s = VimSession.for({ host: sim.host, username: sim.username, password: sim.password, insecure: true });
  return (await readNetworkInfo(await hostContext(s))).portGroups.map((g) => g.name);
}

/** The certificate's notAfter as Node prints it (what the error must name). */
function validTo(sim: EsxSim): Promise<string> {
  const [host, port] = sim.host.split(":");
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port: Number(port), rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().valid_to);
      s.destroy();
    });
    s.on("error", reject);
  });
}

async function refused(p: EsxPlugin, name: string): Promise<string> {
  const err = await p.up("GuestNetwork", name, { portGroup: `tls-${name}` }).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err!.message;
}

beforeAll(async () => {
  [good, expired] = await Promise.all([startEsxSim({ tls: true }), startEsxSim({ expiredCert: true })]);
  expiredValidTo = await validTo(expired);
  expect(Date.parse(expiredValidTo)).toBeLessThan(Date.now());
}, 120_000);

afterAll(async () => {
  await Promise.all(plugins.map((p) => p.plugin.stop()));
  await VimSession.closeAll();
  await Promise.all([good?.stop(), expired?.stop()]);
});

test("an unpinned self-signed certificate is refused, naming host, thumbprint and the fix", async () => {
  const p = await plugin(config(good));
  const msg = await refused(p, "unpinned");
  expect(msg).toContain(`GuestNetwork "tls-unpinned" on ESX host ${good.host}`);
  expect(msg).toContain("is not trusted");
  expect(msg).toContain(good.thumbprintSha256);
  expect(msg).toContain("esx:thumbprint");
  expect(await portGroups(good)).not.toContain("tls-unpinned");
  expect(p.plugin.logs.filter((l) => l.message.includes("esx:insecure is set"))).toEqual([]);
});

test("a wrong pin is refused, naming the thumbprint the host presented", async () => {
  const wrong = "AB:".repeat(31) + "AB";
  const p = await plugin(config(good, { "esx:thumbprint": wrong }));
  const msg = await refused(p, "wrongpin");
  expect(msg).toContain(`on ESX host ${good.host}`);
  expect(msg).toContain("does not match esx:thumbprint");
  expect(msg).toContain(good.thumbprintSha256);
  expect(msg).toContain(good.thumbprintSha1);
  expect(msg).toMatch(/update esx:thumbprint/);
  expect(await portGroups(good)).not.toContain("tls-wrongpin");
});

test("a pin wins over esx:insecure: a wrong pin is refused even then", async () => {
  const p = await plugin(config(good, { "esx:thumbprint": "CD:".repeat(31) + "CD", "esx:insecure": "true" }));
  const msg = await refused(p, "pininsecure");
  expect(msg).toContain("does not match esx:thumbprint");
  expect(await portGroups(good)).not.toContain("tls-pininsecure");
});

test("an expired certificate without a pin is refused, naming its expiry and thumbprint", async () => {
  const p = await plugin(config(expired));
  const msg = await refused(p, "expired");
  expect(msg).toContain(`on ESX host ${expired.host}`);
  expect(msg).toContain(`expired on ${expiredValidTo}`);
  expect(msg).toContain(expired.thumbprintSha256);
  expect(msg).toContain("esx:thumbprint");
  expect(await portGroups(expired)).not.toContain("tls-expired");
});

test("an expired certificate is refused even when pinned, saying to renew it and update the pin", async () => {
  const p = await plugin(config(expired, { "esx:thumbprint": expired.thumbprintSha256 }));
  const msg = await refused(p, "expiredpinned");
  expect(msg).toContain(`on ESX host ${expired.host}`);
  expect(msg).toContain(`expired on ${expiredValidTo}`);
  expect(msg).toContain(expired.thumbprintSha256);
  expect(msg).toMatch(/renew/i);
  expect(msg).toContain("esx:thumbprint");
  expect(await portGroups(expired)).not.toContain("tls-expiredpinned");
});

test("a correct pin works (SHA-256 as ESX shows it, and SHA-1 lower case without colons)", async () => {
  for (const [name, pin] of [
    ["sha256", good.thumbprintSha256],
    ["sha1", good.thumbprintSha1.replace(/:/g, "").toLowerCase()],
  ]) {
    const p = await plugin(config(good, { "esx:thumbprint": pin }));
    const { id, outs } = await p.up("GuestNetwork", name, { portGroup: `tls-${name}` });
    expect(await portGroups(good)).toContain(`tls-${name}`);
    await p.plugin.delete(id, p.urn("GuestNetwork", name), outs);
    expect(await portGroups(good)).not.toContain(`tls-${name}`);
    expect(p.plugin.logs.filter((l) => l.message.includes("esx:insecure"))).toEqual([]);
  }
});

test("esx:insecure works for both hosts and warns exactly once per host in the plugin process", async () => {
  const hosts = {
    a: { host: good.host, username: good.username, password: good.password, insecure: true },
    b: { host: expired.host, username: expired.username, password: expired.password, insecure: true },
  };
  const p = await plugin({ "esx:hosts": JSON.stringify(hosts) });
  const made: { id: string; outs: Record<string, any>; name: string }[] = [];
  for (const [alias, n] of [
    ["a", 1],
    ["a", 2],
    ["b", 1],
    ["b", 2],
  ] as const) {
    const name = `ins-${alias}${n}`;
    const r = await p.up("GuestNetwork", name, { host: alias, portGroup: name });
    made.push({ ...r, name });
    const back = await p.plugin.read(r.id, p.urn("GuestNetwork", name), r.outs);
    expect(back.id).toBe(name);
  }
  expect(await portGroups(good)).toEqual(expect.arrayContaining(["ins-a1", "ins-a2"]));
  expect(await portGroups(expired)).toEqual(expect.arrayContaining(["ins-b1", "ins-b2"]));
  for (const m of made) await p.plugin.delete(m.id, p.urn("GuestNetwork", m.name), m.outs);

  const warnings = p.plugin.logs.filter((l) => l.message.includes("esx:insecure is set"));
  expect(warnings.map((w) => w.severity)).toEqual(["warning", "warning"]);
  expect(warnings.filter((w) => w.message.includes(good.host))).toHaveLength(1);
  expect(warnings.filter((w) => w.message.includes(expired.host))).toHaveLength(1);
});
