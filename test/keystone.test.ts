/**
 * Glance behind a real Keystone (Debian's keystone, sqlite, fernet tokens; scripts/lib/keystone-sim.ts): the
 * real plugin imports EsxImages with Keystone v3 password auth and with an application credential, finding Glance
 * in the token's service catalog (no esx:glanceUrl); a wrong password fails with an error naming Keystone and the
 * user but no secret; a token Keystone revoked mid-run is replaced after Glance's 401; Glance itself refuses
 * requests without a valid token (keystonemiddleware is really in its pipeline).
 *
 * Plugin protocol (test/harness/plugin.ts): single Creates and their errors, in one plugin process whose token
 * cache is what is tested.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { GlanceClient } from "../provider/glance/client";
import { GlanceError } from "../provider/glance/errors";
import { VimSession } from "../provider/vim/session";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { EsxPlugin, simConfig, startEsxPlugin } from "./support/esx-plugin";
import { KeystoneGlance, startKeystoneGlance } from "../scripts/lib/keystone-sim";

const MiB = 1024 * 1024;
let sim: EsxSim;
let kg: KeystoneGlance;
let appCred: { id: string; secret: string };
let ds: string;
const plugins: EsxPlugin[] = [];

/** Uploads `size` random bytes as a raw image (with a token of the demo user); returns id and data. */
async function upload(name: string, size = 2 * MiB + 512): Promise<{ id: string; data: Buffer }> {
  const client = new GlanceClient({ url: kg.glance.url, token: await kg.userToken() });
  const data = crypto.randomBytes(size);
  const img = await client.createImage({ name, disk_format: "raw", container_format: "bare" });
  await client.uploadData(img.id, data, data.length);
  return { id: img.id, data };
}

function keystoneConfig(extra: Record<string, string>): Record<string, string> {
  return simConfig(sim, { "esx:keystoneUrl": kg.keystone.url, ...extra });
}

function passwordConfig(password = kg.user.password): Record<string, string> {
  return keystoneConfig({
    "esx:keystoneUsername": kg.user.name,
    "esx:keystonePassword": password,
    "esx:keystoneProject": kg.user.project,
  });
}

async function plugin(config: Record<string, string>): Promise<EsxPlugin> {
  const p = await startEsxPlugin(config);
  plugins.push(p);
  return p;
}

/** Imports `image` through the plugin and checks the flat extent on the datastore holds its bytes; then deletes. */
async function importAndCheck(p: EsxPlugin, name: string, image: { id: string; data: Buffer }): Promise<void> {
  const { id, outs } = await p.up("EsxImage", name, { glanceImageId: image.id });
  expect(outs).toMatchObject({ glanceImageId: image.id, imported: true, sourceFormat: "raw", capacityBytes: image.data.length });
  const flat = path.join(sim.datastores[ds], "images", image.id, `${image.id}-flat.vmdk`);
  expect(fs.readFileSync(flat).equals(image.data)).toBe(true);
  await p.plugin.delete(id, p.urn("EsxImage", name), outs);
  expect(fs.existsSync(path.dirname(flat))).toBe(false);
}

/** How often the plugin authenticated with Keystone and how often Glance refused its token (its debug log). */
function authLogs(p: EsxPlugin): { authenticated: number; refused: number } {
  const mine = p.plugin.logs.filter((l) => l.message.includes(`Keystone ${kg.keystone.url} user ${kg.user.name}`));
  return {
    authenticated: mine.filter((l) => /authenticated, token valid until/.test(l.message)).length,
    refused: mine.filter((l) => /Glance refused the token/.test(l.message)).length,
  };
}

/** Everything the plugin answered or printed, except the configure request (which carries the config). */
function pluginOutput(p: EsxPlugin): string {
  return JSON.stringify([p.plugin.calls.filter((c) => c.method !== "configure"), p.plugin.logs]);
}

beforeAll(async () => {
  [sim, kg] = await Promise.all([startEsxSim({ tls: true }), startKeystoneGlance()]);
  ds = Object.keys(sim.datastores)[0];
  appCred = await kg.keystone.createApplicationCredential(kg.user, "pulumi-esx-test");
}, 300_000);

afterAll(async () => {
  for (const p of plugins) await p.plugin.stop();
  await VimSession.closeAll();
  await Promise.all([sim?.stop(), kg?.stop()]);
}, 60_000);

test("Glance refuses requests without a valid Keystone token (auth_token middleware is on)", async () => {
  const anonymous = await fetch(`${kg.glance.url}/v2/images`);
  expect(anonymous.status).toBe(401);
  const bogus = await fetch(`${kg.glance.url}/v2/images`, { headers: { "x-auth-token": "not-a-token" } });
  expect(bogus.status).toBe(401);
  const valid = await fetch(`${kg.glance.url}/v2/images`, { headers: { "x-auth-token": await kg.userToken() } });
  expect(valid.status).toBe(200);
  const { id } = await upload("refused");
  const err = await new GlanceClient({ url: kg.glance.url, retries: 0 }).getImage(id).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GlanceError);
  expect((err as GlanceError).status).toBe(401);
}, 60_000);

test("password auth: EsxImage imports from the Glance found in the service catalog; a revoked token is replaced after Glance's 401", async () => {
  const p = await plugin(passwordConfig());
  const first = await upload("password-1");
  await importAndCheck(p, "password-1", first);
  await p.plugin.waitForLog((l) => /authenticated, token valid until/.test(l.message), 5000);
  expect(authLogs(p)).toEqual({ authenticated: 1, refused: 0 }); // one token for the whole import and delete

  // Revoke every token of the user (the plugin holds one, issued during the import above) and prove it.
  const before = await kg.userToken();
  await kg.keystone.revokeUserTokens(kg.user.userId);
  expect((await fetch(`${kg.glance.url}/v2/images`, { headers: { "x-auth-token": before } })).status).toBe(401);
  // Keystone compares revocation times in whole seconds: a token issued in the same second counts as revoked too.
  await new Promise((r) => setTimeout(r, 1500));

  const second = await upload("password-2");
  await importAndCheck(p, "password-2", second);
  // The plugin used its cached (revoked) token, Glance answered 401, it authenticated once more and went on.
  await p.plugin.waitForLog((l) => /Glance refused the token/.test(l.message), 5000);
  expect(authLogs(p)).toEqual({ authenticated: 2, refused: 1 });
}, 180_000);

test("application-credential auth: EsxImage imports from the Glance found in the service catalog", async () => {
  const p = await plugin(keystoneConfig({ "esx:keystoneApplicationCredentialId": appCred.id, "esx:keystoneApplicationCredentialSecret": appCred.secret }));
  await importAndCheck(p, "appcred", await upload("appcred"));
  expect(pluginOutput(p)).not.toContain(appCred.secret);
}, 180_000);

test("wrong password: the error names the Keystone URL and the user, and no secret appears anywhere", async () => {
  const wrong = `wrong-${crypto.randomBytes(6).toString("hex")}`;
  const p = await plugin(passwordConfig(wrong));
  const { id } = await upload("wrong-password");
  const err = await p.up("EsxImage", "wrong-password", { glanceImageId: id }).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err).toBeInstanceOf(Error);
  const message = String(err?.message);
  expect(message).toContain(kg.keystone.url);
  expect(message).toContain(`user ${kg.user.name}`);
  expect(message).toMatch(/HTTP 401/);
  const output = pluginOutput(p);
  for (const secret of [wrong, kg.user.password, appCred.secret]) {
    expect(message).not.toContain(secret);
    expect(output).not.toContain(secret);
  }
  // Nothing was imported.
  expect(fs.existsSync(path.join(sim.datastores[ds], "images", id))).toBe(false);
}, 120_000);
