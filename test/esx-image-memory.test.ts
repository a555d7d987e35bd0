/**
 * Constant memory through the plugin: importing a 1 GiB (virtual) streamOptimized image must not make the plugin
 * process grow more than importing a 64 MiB one. RSS of the plugin process is sampled from /proc/<pid>/status.
 *
 * Plugin protocol (test/harness/plugin.ts): the RSS of the plugin process is sampled during one Create, which
 * needs that process's PID.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GlanceClient } from "../provider/glance/client";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { EsxPlugin, simConfig, startEsxPlugin } from "./support/esx-plugin";
import { GlanceSim, startGlance } from "../scripts/lib/glance-sim";

const MiB = 1024 * 1024;
let sim: EsxSim;
let glance: GlanceSim;
let client: GlanceClient;
let p: EsxPlugin;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "esx-image-mem-"));
  [sim, glance] = await Promise.all([startEsxSim({ tls: true }), startGlance()]);
  client = new GlanceClient({ url: glance.url });
  p = await startEsxPlugin(simConfig(sim, { "esx:glanceUrl": glance.url }));
}, 120_000);

afterAll(async () => {
  await p?.plugin.stop();
  await Promise.all([sim?.stop(), glance?.stop()]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A sparse raw file with 1 MiB of random data every `every` bytes, as a streamOptimized VMDK. */
function makeImage(name: string, size: number, every: number): { vmdk: string; raw: string } {
  const raw = path.join(dir, `${name}.raw`);
  const fd = fs.openSync(raw, "w");
  fs.ftruncateSync(fd, size);
  for (let at = 0; at < size; at += every) fs.writeSync(fd, crypto.randomBytes(MiB), 0, MiB, at);
  fs.writeSync(fd, Buffer.from("tail".repeat(1024)), 0, 4096, size - 8192); // a grain near the end, after zeros
  fs.closeSync(fd);
  const vmdk = path.join(dir, `${name}.vmdk`);
  execFileSync("/usr/bin/qemu-img", ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, vmdk]);
  return { vmdk, raw };
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

function sha256(file: string): string {
  return execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ")[0];
}

async function importMeasured(name: string, size: number, every: number): Promise<{ peakGrowth: number; seconds: number }> {
  const { vmdk, raw } = makeImage(name, size, every);
  const img = await client.createImage({ name, disk_format: "vmdk", container_format: "bare" });
  await client.uploadData(img.id, fs.createReadStream(vmdk), fs.statSync(vmdk).size);
  const base = rssBytes(p.plugin.pid);
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(p.plugin.pid))), 25);
  const started = Date.now();
  try {
    const { id, outs } = await p.up("EsxImage", name, { glanceImageId: img.id });
    const seconds = (Date.now() - started) / 1000;
    const ds = outs.datastore as string;
    const flat = path.join(sim.datastores[ds], "images", img.id, `${img.id}-flat.vmdk`);
    expect(fs.statSync(flat).size).toBe(size);
    expect(sha256(flat)).toBe(sha256(raw));
    await p.plugin.delete(id, p.urn("EsxImage", name), outs);
    return { peakGrowth: peak - base, seconds };
  } finally {
    clearInterval(timer);
    fs.rmSync(raw, { force: true });
  }
}

test("plugin RSS does not grow with the image size (64 MiB vs 1 GiB streamOptimized)", async () => {
  const small = await importMeasured("small", 64 * MiB, 16 * MiB);
  const large = await importMeasured("large", 1024 * MiB, 128 * MiB);
  console.log(
    `plugin RSS growth: 64 MiB image ${(small.peakGrowth / MiB).toFixed(1)} MiB in ${small.seconds}s, 1 GiB image ${(large.peakGrowth / MiB).toFixed(1)} MiB in ${large.seconds}s`,
  );
  // A leak proportional to the data would put the 1 GiB run hundreds of MiB above the 64 MiB one; garbage-collector
  // timing moves either by a few tens of MiB, hence the margins (the benchmark reports the exact figures).
  expect(large.peakGrowth).toBeLessThan(small.peakGrowth + 64 * MiB);
  expect(large.peakGrowth).toBeLessThan(100 * MiB);
}, 120_000);
