/**
 * Token expiry mid-run: a Keystone whose tokens live 15 s. The plugin imports one EsxImage, the token expires,
 * and the next import in the same plugin process takes a fresh token before calling Glance (no 401 round trip).
 * (Its own Keystone and Glance: token lifetime is server-wide. ~40 s.)
 *
 * Plugin protocol (test/harness/plugin.ts): two Creates in one plugin process, 15 s apart, so the token cached
 * by that process expires between them.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { GlanceClient } from "../provider/glance/client";
import { VimSession } from "../provider/vim/session";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { EsxPlugin, simConfig, startEsxPlugin } from "./support/esx-plugin";
import { KeystoneGlance, startKeystoneGlance } from "../scripts/lib/keystone-sim";

const TOKEN_SECONDS = 15;
let sim: EsxSim;
let kg: KeystoneGlance;
let p: EsxPlugin | undefined;

beforeAll(async () => {
  [sim, kg] = await Promise.all([startEsxSim({ tls: true }), startKeystoneGlance({ tokenExpirationSec: TOKEN_SECONDS })]);
}, 300_000);

afterAll(async () => {
  await p?.plugin.stop();
  await VimSession.closeAll();
  await Promise.all([sim?.stop(), kg?.stop()]);
}, 60_000);

async function upload(name: string): Promise<{ id: string; data: Buffer }> {
  const client = new GlanceClient({ url: kg.glance.url, token: await kg.userToken() });
  const data = crypto.randomBytes(1024 * 1024);
  const img = await client.createImage({ name, disk_format: "raw", container_format: "bare" });
  await client.uploadData(img.id, data, data.length);
  return { id: img.id, data };
}

function count(re: RegExp): number {
  return p!.plugin.logs.filter((l) => l.message.includes(`Keystone ${kg.keystone.url} user ${kg.user.name}`) && re.test(l.message)).length;
}

test("an expired token is replaced before the next Glance call; the import succeeds", async () => {
  p = await startEsxPlugin(
    simConfig(sim, {
      "esx:keystoneUrl": kg.keystone.url,
      "esx:keystoneUsername": kg.user.name,
      "esx:keystonePassword": kg.user.password,
      "esx:keystoneProject": kg.user.project,
    }),
  );
  const ds = Object.keys(sim.datastores)[0];
  const images = [await upload("expiry-1"), await upload("expiry-2")];
  const first = await p.up("EsxImage", "expiry-1", { glanceImageId: images[0].id });
  expect(first.outs.imported).toBe(true);
  await p.plugin.waitForLog((l) => /authenticated, token valid until/.test(l.message), 5000);
  // With 15 s tokens a data transfer (which wants a token with 90% of its lifetime left) may take a second one.
  const before = count(/authenticated, token valid until/);
  expect(before).toBeGreaterThanOrEqual(1);

  await new Promise((r) => setTimeout(r, (TOKEN_SECONDS + 1) * 1000)); // the plugin's token has expired now

  const second = await p.up("EsxImage", "expiry-2", { glanceImageId: images[1].id });
  expect(second.outs.imported).toBe(true);
  const flat = path.join(sim.datastores[ds], "images", images[1].id, `${images[1].id}-flat.vmdk`);
  expect(fs.readFileSync(flat).equals(images[1].data)).toBe(true);
  expect(count(/authenticated, token valid until/)).toBeGreaterThan(before);
  // Glance never saw the expired token: the plugin noticed the expiry itself.
  expect(count(/Glance refused the token/)).toBe(0);
}, 180_000);
