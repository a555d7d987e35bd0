/**
 * Constant memory: converting a 1 GiB streamOptimized image must not take more memory than a 64 MiB one.
 * Both are mostly zero, made by qemu-img from sparse raw files with data scattered through them.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { openFlatImage } from "../provider/vmdk";

const QEMU_IMG = "/usr/bin/qemu-img";
const MiB = 1024 * 1024;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmdk-mem-"));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A sparse raw file of `size` with 1 MiB of random data every `every` bytes and a compressible block after it. */
function makeSparseRaw(file: string, size: number, every: number): void {
  const fd = fs.openSync(file, "w");
  try {
    fs.ftruncateSync(fd, size);
    for (let at = 0; at < size; at += every) {
      fs.writeSync(fd, crypto.randomBytes(MiB), 0, MiB, at);
      fs.writeSync(fd, Buffer.from("compressible ".repeat(50000)), 0, 512 * 1024, at + 2 * MiB);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function sha256OfFile(file: string): string {
  return execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ")[0];
}

interface Run {
  bytes: number;
  sha256: string;
  seconds: number;
  peakRssGrowth: number;
  peakHeapGrowth: number;
  peakExternalGrowth: number;
}

async function convertMeasured(file: string): Promise<Run> {
  const base = process.memoryUsage();
  const peak = { rss: base.rss, heap: base.heapUsed, ext: base.external };
  const sample = () => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heap = Math.max(peak.heap, m.heapUsed);
    peak.ext = Math.max(peak.ext, m.external);
  };
  const timer = setInterval(sample, 5);
  const t0 = process.hrtime.bigint();
  const hash = crypto.createHash("sha256");
  let bytes = 0;
  try {
    const img = await openFlatImage(fs.createReadStream(file), { diskFormat: "vmdk" });
    expect(img.format.kind).toBe("streamOptimized");
    await pipeline(
      img.stream,
      new Writable({
        write(c: Buffer, _e, cb) {
          bytes += c.length;
          hash.update(c);
          sample();
          cb();
        },
      }),
    );
  } finally {
    clearInterval(timer);
  }
  sample();
  return {
    bytes,
    sha256: hash.digest("hex"),
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    peakRssGrowth: peak.rss - base.rss,
    peakHeapGrowth: peak.heap - base.heapUsed,
    peakExternalGrowth: peak.ext - base.external,
  };
}

test("memory does not grow with image size (64 MiB vs 1 GiB streamOptimized)", async () => {
  const runs: Record<string, Run> = {};
  for (const [name, size] of [
    ["small", 64 * MiB],
    ["large", 1024 * MiB],
  ] as const) {
    const raw = path.join(dir, `${name}.raw`);
    const vmdk = path.join(dir, `${name}.vmdk`);
    makeSparseRaw(raw, size, 16 * MiB);
    execFileSync(QEMU_IMG, ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, vmdk]);
    const expected = sha256OfFile(raw);
    fs.rmSync(raw);
    await convertMeasured(vmdk); // warm-up: JIT, zlib and stream machinery allocate once
    const r = await convertMeasured(vmdk);
    fs.rmSync(vmdk);
    expect(r.bytes).toBe(size);
    expect(r.sha256).toBe(expected);
    runs[name] = r;
  }
  const mb = (n: number) => (n / MiB).toFixed(1);
  console.log(
    Object.entries(runs)
      .map(([k, r]) => `${k}: ${mb(r.bytes)} MiB in ${r.seconds.toFixed(2)} s (${(r.bytes / MiB / r.seconds).toFixed(0)} MiB/s); peak growth rss ${mb(r.peakRssGrowth)} MiB, heap ${mb(r.peakHeapGrowth)} MiB, external ${mb(r.peakExternalGrowth)} MiB`)
      .join("\n"),
  );
  const { small, large } = runs;
  for (const r of [small, large]) {
    expect(r.peakRssGrowth).toBeLessThan(64 * MiB);
    expect(r.peakHeapGrowth).toBeLessThan(64 * MiB);
  }
  // 16x the data: if anything were proportional to the size, the large run would be far above the small one.
  expect(large.peakRssGrowth).toBeLessThan(small.peakRssGrowth + 16 * MiB);
  expect(large.peakHeapGrowth).toBeLessThan(small.peakHeapGrowth + 16 * MiB);
}, 300_000);
