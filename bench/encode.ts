/**
 * Section 6: streamOptimized encoding (provider/vmdk openStreamOptimizedImage / flatToStreamOptimized), the groundwork
 * of importing through an NFC lease. References measured in the same run:
 *  - deflate levels 0/1/2/6 on three data sets (an ext4 image qemu-img and mke2fs made from this machine's files,
 *    random data, text): bytes out and encode throughput with one compression at a time and with two (zlib on
 *    libuv's pool), against `gzip -1` of the same bytes and `qemu-img convert -O vmdk -o subformat=streamOptimized`;
 *  - the compression engine: zlib on libuv's pool against worker threads deflating grains (pigz-style);
 *  - the wire: Glance -> checksum -> encoder -> the host (a PUT of the streamOptimized bytes, chunked, as a lease
 *    upload would carry them) against the plain pipe of the raw image (Glance GET piped into a /folder PUT) and
 *    against the /folder import's own data path, for a 20 %-data image and a full one, with the adaptive policy,
 *    with every grain deflated, and with level 0; and the route chooseRawRoute picks from 32 sampled grains.
 * Best of the repetitions for each figure (noise only ever slows a run down); every repetition is in the JSON.
 */
import { execFile, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import * as zlib from "node:zlib";
import { uploadStream } from "../provider/esx/transfer";
import { hostContext } from "../provider/esx/host";
import { GlanceClient } from "../provider/glance/client";
import { expectedHash, HashingSource } from "../provider/glance/verify";
import { VimSession } from "../provider/vim/session";
import {
  chooseRawRoute,
  flatToStreamOptimized,
  newEncodeStats,
  openFlatImage,
  openStreamOptimizedImage,
  sampleRawImage,
  type EncodeStats,
  type StreamOptimizedImageOptions,
} from "../provider/vmdk";
import { startEsxSim } from "../scripts/lib/esx-sim";
import { startGlance } from "../scripts/lib/glance-sim";
import { makeFsImage, makeRandomFile, makeRaw, makeTextFile, QEMU_IMG, uploadToGlance } from "./images";
import { BenchOptions, Cleanup, fmt, GiB, MiB, Row, timed } from "./lib";
import { WorkerDeflatePool } from "./zlib-workers";

const run = promisify(execFile);
const DS = "LocalDS_0";
const LEVELS = [0, 1, 2, 6];
const G = 65536;
const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

interface DataSet {
  name: string;
  file: string;
  size: number;
}

/** Bytes out and time of `gzip -1 -c file`. */
async function gzip1(file: string): Promise<{ ms: number; bytes: number }> {
  return timed(
    () =>
      new Promise<number>((resolve, reject) => {
        const p = spawn("gzip", ["-1", "-c", file], { stdio: ["ignore", "pipe", "inherit"] });
        let n = 0;
        p.stdout.on("data", (c: Buffer) => (n += c.length));
        p.once("error", reject);
        p.once("close", (code) => (code === 0 ? resolve(n) : reject(new Error(`gzip exited ${code}`))));
      }),
  ).then(({ ms, value }) => ({ ms, bytes: value }));
}

async function qemuStreamOptimized(file: string, out: string): Promise<{ ms: number; bytes: number }> {
  const { ms } = await timed(() => run(QEMU_IMG, ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", file, out], { timeout: 600_000 }));
  const bytes = fs.statSync(out).size;
  fs.rmSync(out, { force: true });
  return { ms, bytes };
}

/** Our encoder over a local file: every grain at `level` (policy always), `concurrency` compressions at once. */
async function encodeFile(
  file: string,
  size: number,
  level: number,
  concurrency: number,
): Promise<{ ms: number; bytes: number; cpuMs: number; stats: EncodeStats }> {
  const stats = newEncodeStats();
  const cpu0 = process.cpuUsage();
  const { ms } = await timed(async () => {
    for await (const _ of flatToStreamOptimized(fs.createReadStream(file, { highWaterMark: MiB }), {
      capacityBytes: size,
      level,
      concurrency,
      policy: "always",
      stats,
    }));
  });
  const c = process.cpuUsage(cpu0);
  return { ms, bytes: stats.outBytes, cpuMs: (c.user + c.system) / 1000, stats };
}

/** The non-zero grains of a file (for the engine comparison). */
function grainsOf(file: string): Buffer[] {
  const data = fs.readFileSync(file);
  const zero = Buffer.alloc(G);
  const out: Buffer[] = [];
  for (let o = 0; o + G <= data.length; o += G) if (!data.subarray(o, o + G).equals(zero)) out.push(data.subarray(o, o + G));
  return out;
}

/** Deflates `grains` at level 1 with `deflate`, `inFlight` at a time; MB/s of grain data. */
async function engineRate(grains: Buffer[], inFlight: number, deflate: (b: Buffer) => Promise<Buffer> | Buffer): Promise<number> {
  const { ms } = await timed(async () => {
    const q: (Promise<Buffer> | Buffer)[] = [];
    for (const g of grains) {
      q.push(deflate(g));
      if (q.length >= inFlight) await q.shift();
    }
    await Promise.all(q);
  });
  return mbps(grains.length * G, ms);
}

export interface WireCtx {
  glance: GlanceClient;
  glanceUrl: string;
  simHost: string;
  cookie: string;
  dsDir: string;
  ctx: Awaited<ReturnType<typeof hostContext>>;
}

/** The plain pipe: Glance GET piped into a /folder PUT, no processing (as in section 1). */
export async function pipeOnce(w: WireCtx, imageId: string, size: number, n: number, hashAlgo?: string): Promise<number> {
  const file = `bench-enc/pipe-${n}.raw`;
  const { ms } = await timed(async () => {
    const src = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(`${w.glanceUrl}/v2/images/${imageId}/file`, resolve).on("error", reject));
    if (src.statusCode !== 200) throw new Error(`pipe GET: HTTP ${src.statusCode}`);
    if (hashAlgo) {
      const h = crypto.createHash(hashAlgo);
      src.on("data", (d: Buffer) => h.update(d));
      src.once("end", () => h.digest());
    }
    await new Promise<void>((resolve, reject) => {
      const req = https.request(
        `https://${w.simHost}/folder/${file}?dcPath=ha-datacenter&dsName=${DS}`,
        { method: "PUT", rejectUnauthorized: false, headers: { cookie: w.cookie, "content-type": "application/octet-stream", "content-length": String(size) } },
        (res) => {
          res.resume();
          res.on("end", () => (res.statusCode === 200 || res.statusCode === 201 ? resolve() : reject(new Error(`pipe PUT: HTTP ${res.statusCode}`))));
        },
      );
      req.on("error", reject);
      pipeline(src, req).catch(reject);
    });
  });
  fs.rmSync(path.join(w.dsDir, file), { force: true });
  return ms;
}

/**
 * Glance -> checksum -> openStreamOptimizedImage -> PUT of the streamOptimized bytes to the host (chunked: the
 * size is not known in advance), as an import through a lease would carry them. Returns time, wire bytes, stats.
 */
export async function encodedOnce(
  w: WireCtx,
  imageId: string,
  n: number,
  o: Partial<StreamOptimizedImageOptions>,
  check?: string,
): Promise<{ ms: number; wire: number; stats: EncodeStats; mode: string }> {
  const file = `bench-enc/enc-${n}.vmdk`;
  let wire = 0;
  let stats = newEncodeStats();
  let mode = "";
  const image = await w.glance.getImage(imageId); // metadata first, outside the timing: the pipe has none
  const { ms } = await timed(async () => {
    const data = await w.glance.openData(imageId, image);
    const want = expectedHash(data.image)!;
    const src = new HashingSource(data.stream, want.algo, want.value, `image ${imageId}`);
    const img = await openStreamOptimizedImage(src, { diskFormat: data.image.disk_format ?? "raw", sizeBytes: data.image.size ?? undefined, ...o });
    stats = img.stats;
    mode = img.mode;
    await uploadStream(w.ctx, { datastore: DS, path: file }, img.stream, img.contentLength);
    await src.finish();
    wire = img.contentLength ?? stats.outBytes;
  });
  const local = path.join(w.dsDir, file);
  if (check) {
    // the bytes the host received are a valid streamOptimized image of the source (not timed)
    await run(QEMU_IMG, ["check", local]);
    const { stdout } = await run(QEMU_IMG, ["compare", "-f", "raw", "-F", "vmdk", check, local], { timeout: 600_000 });
    if (!/identical/.test(stdout)) throw new Error(`encoded upload of ${imageId} differs from the source: ${stdout}`);
  }
  if (fs.statSync(local).size !== wire) throw new Error(`${file}: host has ${fs.statSync(local).size} bytes, sent ${wire}`);
  fs.rmSync(local, { force: true });
  return { ms, wire, stats, mode };
}

/** The /folder import's data path (section 1 without the create's other steps): Glance -> checksum -> flat -> PUT. */
export async function folderOnce(w: WireCtx, imageId: string, n: number): Promise<number> {
  const file = `bench-enc/folder-${n}-flat.vmdk`;
  const image = await w.glance.getImage(imageId);
  const { ms } = await timed(async () => {
    const data = await w.glance.openData(imageId, image);
    const want = expectedHash(data.image)!;
    const src = new HashingSource(data.stream, want.algo, want.value, `image ${imageId}`);
    const flat = await openFlatImage(src, { diskFormat: data.image.disk_format ?? "raw", sizeBytes: data.image.size ?? undefined });
    await uploadStream(w.ctx, { datastore: DS, path: file }, flat.stream, flat.capacityBytes);
    await src.finish();
  });
  fs.rmSync(path.join(w.dsDir, file), { force: true });
  return ms;
}

export async function encodeSection(opts: BenchOptions): Promise<Row[]> {
  const { quick, log } = opts;
  const cleanup = new Cleanup();
  const rows: Row[] = [];
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-esx-bench-enc-"));
    cleanup.add("temp dir", () => fs.rmSync(dir, { recursive: true, force: true }));
    const reps = 2;

    // --- deflate levels on three data sets -------------------------------------------------------------------
    const sweep = quick ? 32 * MiB : 128 * MiB;
    log(`encode: making the data sets (${fmt.mib(sweep)} each)`);
    const sets: DataSet[] = [
      { name: "ext4 image of this machine's files (70 % full)", file: path.join(dir, "fs.raw"), size: sweep },
      { name: "random data", file: path.join(dir, "random.raw"), size: sweep },
      { name: "text (Python sources, docs)", file: path.join(dir, "text.raw"), size: sweep },
    ];
    await makeFsImage(sets[0].file, sweep, Math.floor(sweep * 0.7));
    makeRandomFile(sets[1].file, sweep);
    makeTextFile(sets[2].file, sweep);

    for (const ds of sets) {
      const gz = await gzip1(ds.file);
      const qemu = await qemuStreamOptimized(ds.file, path.join(dir, "qemu.vmdk"));
      log(`encode ${ds.name}: gzip -1 ${fmt.ms(gz.ms)} ${pct(gz.bytes / ds.size)}, qemu-img streamOptimized ${fmt.ms(qemu.ms)} ${pct(qemu.bytes / ds.size)}`);
      rows.push({
        section: "6",
        figure: `references, ${ds.name}: qemu-img convert to streamOptimized`,
        value: `${fmt.mbps((ds.size / qemu.ms) * 1000)}, ${pct(qemu.bytes / ds.size)} of the image`,
        reference: `gzip -1 ${fmt.mbps((ds.size / gz.ms) * 1000)}, ${pct(gz.bytes / ds.size)}`,
        ratio: fmt.x(gz.ms / qemu.ms),
        bar: "- (references for the rows below)",
        met: null,
        data: { set: ds.name, size: ds.size, gzipMs: gz.ms, gzipBytes: gz.bytes, qemuMs: qemu.ms, qemuBytes: qemu.bytes },
      });
      for (const level of LEVELS) {
        const one: Awaited<ReturnType<typeof encodeFile>>[] = [];
        const two: Awaited<ReturnType<typeof encodeFile>>[] = [];
        for (let i = 0; i < reps; i++) {
          one.push(await encodeFile(ds.file, ds.size, level, 1));
          two.push(await encodeFile(ds.file, ds.size, level, 2));
        }
        const best = (xs: typeof one) => xs.reduce((a, b) => (b.ms < a.ms ? b : a));
        const b1 = best(one);
        const b2 = best(two);
        const r1 = mbps(ds.size, b1.ms);
        const r2 = mbps(ds.size, b2.ms);
        log(`encode ${ds.name} level ${level}: ${r1.toFixed(0)} MB/s (x2 ${r2.toFixed(0)}), ${pct(b1.bytes / ds.size)}`);
        rows.push({
          section: "6",
          figure: `encode ${ds.name}, deflate level ${level}: throughput 1 compression at a time (2 at a time), bytes out`,
          value: `${r1.toFixed(0)} MB/s (${r2.toFixed(0)} MB/s), ${pct(b1.bytes / ds.size)} of the image`,
          reference: `gzip -1 ${fmt.mbps((ds.size / gz.ms) * 1000)}, ${pct(gz.bytes / ds.size)}`,
          ratio: `${fmt.x(r1 / mbps(ds.size, gz.ms))} speed, ${fmt.x(b1.bytes / gz.bytes)} size`,
          bar: "- (informational: which levels pay)",
          met: null,
          data: {
            set: ds.name,
            level,
            size: ds.size,
            oneMs: one.map((x) => x.ms),
            twoMs: two.map((x) => x.ms),
            bytes: b1.bytes,
            cpuMsOne: b1.cpuMs,
            cpuMsTwo: b2.cpuMs,
            zeroGrains: b1.stats.zeroGrains,
          },
        });
      }
    }

    // --- the engine: libuv's pool vs worker threads (pigz-style), level 1, the ext4 data set ---------------
    {
      const grains = grainsOf(sets[0].file);
      const deflateAsync = promisify(zlib.deflate) as (b: Buffer, o: zlib.ZlibOptions) => Promise<Buffer>;
      const pool = new WorkerDeflatePool(2);
      cleanup.add("deflate workers", () => pool.close());
      const sync: number[] = [];
      const uv2: number[] = [];
      const uv4: number[] = [];
      const wk2: number[] = [];
      for (let i = 0; i < reps; i++) {
        sync.push(await engineRate(grains, 1, (g) => zlib.deflateSync(g, { level: 1, chunkSize: G + 1024 })));
        uv2.push(await engineRate(grains, 2, (g) => deflateAsync(g, { level: 1, chunkSize: G + 1024 })));
        uv4.push(await engineRate(grains, 4, (g) => deflateAsync(g, { level: 1, chunkSize: G + 1024 })));
        wk2.push(await engineRate(grains, 8, (g) => pool.deflate(g, 1)));
      }
      const best = (xs: number[]) => Math.max(...xs);
      log(
        `encode engine: sync ${best(sync).toFixed(0)}, libuv x2 ${best(uv2).toFixed(0)}, x4 ${best(uv4).toFixed(0)}, 2 worker threads ${best(wk2).toFixed(0)} MB/s`,
      );
      rows.push({
        section: "6",
        figure: "deflate level 1 of the ext4 set's grains: libuv's pool, 2 (4) at a time",
        value: `${best(uv2).toFixed(0)} MB/s (${best(uv4).toFixed(0)} MB/s)`,
        reference: `one thread (deflateSync) ${best(sync).toFixed(0)} MB/s`,
        ratio: fmt.x(best(uv2) / best(sync)),
        bar: "- (does a second core help)",
        met: null,
        data: { sync, uv2, uv4 },
      });
      rows.push({
        section: "6",
        figure: "deflate level 1 of the ext4 set's grains: 2 worker threads (pigz-style)",
        value: `${best(wk2).toFixed(0)} MB/s`,
        reference: `libuv's pool, 2 at a time ${best(uv2).toFixed(0)} MB/s`,
        ratio: fmt.x(best(wk2) / best(uv2)),
        bar: "- (workers instead of libuv's pool?)",
        met: null,
        data: { wk2 },
      });
      await pool.close();
    }
    for (const ds of sets) fs.rmSync(ds.file, { force: true });

    // --- the wire: Glance -> encoder -> host against the plain pipe ------------------------------------------
    const size = quick ? 128 * MiB : 1 * GiB;
    log(`encode: making the ${fmt.mib(size)} images for the wire (20 % data, full of data)`);
    const sparseRaw = path.join(dir, "wire-20.raw");
    await makeFsImage(sparseRaw, size, Math.floor(size * 0.2));
    const fullRaw = path.join(dir, "wire-full.raw");
    makeRaw(fullRaw, size, 2 * MiB);
    const [sim, glance] = await Promise.all([startEsxSim({ tls: true }), startGlance()]);
    cleanup.add("esxsim", () => sim.stop());
    cleanup.add("glance", () => glance.stop());
    const gc = new GlanceClient({ url: glance.url });
    const session = VimSession.for({ host: sim.host, username: sim.username, password: sim.password, thumbprint: sim.thumbprintSha256 });
    cleanup.add("bench session", () => session.logout());
    const w: WireCtx = {
      glance: gc,
      glanceUrl: glance.url,
      simHost: sim.host,
      cookie: await session.cookieHeader(),
      dsDir: sim.datastores[DS],
      ctx: await hostContext(session),
    };
    const sparseId = await uploadToGlance(gc, "bench-wire-20", sparseRaw, "raw");
    const fullId = await uploadToGlance(gc, "bench-wire-full", fullRaw, "raw");
    // warm-up (connections, JIT, the hash worker) and a correctness check of what the host received
    await pipeOnce(w, sparseId, size, 0);
    await encodedOnce(w, sparseId, 0, {}, sparseRaw);
    await encodedOnce(w, fullId, 0, {}, fullRaw);

    const variants: { name: string; o: Partial<StreamOptimizedImageOptions>; sparseOnly?: boolean }[] = [
      { name: "adaptive, level 1 (the default)", o: {} },
      // on the full image this takes 4-6 times the pipe (measured): left out there to keep the run short
      { name: "every grain deflated at level 1, 2 at a time", o: { policy: "always" }, sparseOnly: true },
      { name: "level 0 (stored grains; zero grains skipped)", o: { level: 0 } },
    ];
    const wireReps = 2;
    for (const [id, label] of [
      [sparseId, "raw image, 20 % data (ext4)"],
      [fullId, "raw image full of data (half random, half text)"],
    ] as const) {
      const sparse = id === sparseId;
      // the route the sample of grains chooses, and what sampling costs (Range reads from Glance)
      const probe = await timed(() => sampleRawImage((off, len) => gc.readRange(id, off, len), size));
      const route = chooseRawRoute(probe.value);
      const pipeMs: number[] = [];
      const hashPipeMs: number[] = [];
      const folderMs: number[] = [];
      const res = variants.map(() => [] as Awaited<ReturnType<typeof encodedOnce>>[]);
      for (let i = 1; i <= wireReps; i++) {
        pipeMs.push(await pipeOnce(w, id, size, i));
        hashPipeMs.push(await pipeOnce(w, id, size, i, "sha512"));
        folderMs.push(await folderOnce(w, id, i));
        for (let v = 0; v < variants.length; v++) if (sparse || !variants[v].sparseOnly) res[v].push(await encodedOnce(w, id, i * 10 + v, variants[v].o));
        log(
          `encode wire ${label} ${i}: pipe ${fmt.ms(pipeMs.at(-1)!)}, /folder ${fmt.ms(folderMs.at(-1)!)}, ${variants
            .map((x, v) => (res[v].length ? `${x.name.split(" (")[0]} ${fmt.ms(res[v].at(-1)!.ms)}` : ""))
            .filter(Boolean)
            .join(", ")}`,
        );
      }
      const pipeBest = Math.min(...pipeMs);
      const hashPipeBest = Math.min(...hashPipeMs);
      const folderBest = Math.min(...folderMs);
      rows.push({
        section: "6",
        figure: `${label} ${fmt.mib(size)}: the /folder import's data path (Glance -> checksum -> PUT, no encoding)`,
        value: fmt.ms(folderBest),
        reference: `plain pipe ${fmt.ms(pipeBest)}`,
        ratio: `${fmt.x(pipeBest / folderBest)} speed`,
        bar: "- (the other route)",
        met: null,
        data: { size, pipeMs, folderMs },
      });
      for (let v = 0; v < variants.length; v++) {
        if (res[v].length === 0) continue;
        const best = res[v].reduce((a, b) => (b.ms < a.ms ? b : a));
        const speed = pipeBest / best.ms;
        const wireRatio = best.wire / size;
        const isDefault = v === 0;
        rows.push({
          section: "6",
          figure: `${label} ${fmt.mib(size)}, Glance -> checksum -> streamOptimized -> host: ${variants[v].name}`,
          value: `${fmt.ms(best.ms)}, wire ${pct(wireRatio)} of the image`,
          reference: `plain pipe ${fmt.ms(pipeBest)} (wire 100 %); pipe+sha512 ${fmt.ms(hashPipeBest)}; /folder path ${fmt.ms(folderBest)}`,
          ratio: `${fmt.x(speed)} speed (${fmt.x(folderBest / best.ms)} of /folder)`,
          bar: isDefault && sparse ? "wire <= 0.30 and speed >= 1.00 of the pipe" : "- (alternative)",
          met: isDefault && sparse ? wireRatio <= 0.3 && speed >= 1 : null,
          data: { size, pipeMs, hashPipeMs, folderMs, ms: res[v].map((x) => x.ms), wire: res[v].map((x) => x.wire), stats: best.stats },
          note: isDefault
            ? `grains: ${best.stats.zeroGrains} zero (skipped), ${best.stats.deflatedGrains} deflated (to ${pct(best.stats.deflatedOut / Math.max(1, best.stats.deflatedIn))}), ${best.stats.storedGrains} stored`
            : undefined,
        });
      }
      // the decision's outcome: the chosen route against the plain pipe
      const chosenMs = route.route === "folder" ? folderBest : Math.min(...res[0].map((x) => x.ms));
      const chosenSpeed = pipeBest / chosenMs;
      rows.push({
        section: "6",
        figure: `${label} ${fmt.mib(size)}: the route chosen from ${probe.value.samples} sampled grains (${fmt.ms(probe.ms)} of Range reads)`,
        value: `${route.route === "folder" ? "/folder" : "lease (streamOptimized)"}: ${fmt.ms(chosenMs)}`,
        reference: `plain pipe ${fmt.ms(pipeBest)}`,
        ratio: `${fmt.x(chosenSpeed)} speed`,
        bar: sparse ? "speed >= 1.00 of the pipe" : "speed >= 0.90 of the pipe",
        met: sparse ? chosenSpeed >= 1 : chosenSpeed >= 0.9,
        data: { probe: probe.value, probeMs: probe.ms, route },
        note: route.reason,
      });
    }
  } finally {
    await cleanup.run(log);
  }
  return rows;
}
