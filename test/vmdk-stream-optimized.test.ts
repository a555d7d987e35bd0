/**
 * Any importable image -> a streamOptimized VMDK stream (what an NFC import lease takes): openStreamOptimizedImage
 * over raw, flat VMDK extents, monolithicSparse and streamOptimized images made by the real qemu-img, fed in
 * random chunk sizes. Every output passes `qemu-img check`, and `qemu-img convert` of it back to raw equals the
 * source byte for byte: sizes with a partial last grain (and a raw size that is not even whole sectors), all-zero
 * images, data in the very last bytes, gaps of gigabytes. A streamOptimized image ESX takes passes through
 * unchanged; one it does not take is re-encoded. Memory stays bounded on a multi-GiB sparse input.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  ImageFormatError,
  TruncatedImageError,
  UnsupportedImageError,
  flatToStreamOptimized,
  newEncodeStats,
  openStreamOptimizedImage,
  parseSparseHeader,
  type StreamOptimizedImageOptions,
  assessSamples,
  chooseRawRoute,
  sampleOffsets,
  sampleRawImage,
} from "../provider/vmdk";

const QEMU_IMG = "/usr/bin/qemu-img";
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
let dir: string;

function qemuImg(...args: string[]): string {
  return execFileSync(QEMU_IMG, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** Random, text-like and zero runs of 512 B .. 300 KiB (so grains are all-zero, partly zero, compressible or not). */
function diskData(size: number, seed: number): Buffer {
  const rnd = prng(seed);
  const b = Buffer.alloc(size);
  for (let i = 0; i < size;) {
    const n = Math.min(size - i, 512 + Math.floor(rnd() * 300 * 1024));
    const t = rnd();
    if (t < 0.35) crypto.randomFillSync(b, i, n);
    else if (t < 0.7) b.fill(`line ${i} of some text ${Math.floor(rnd() * 1000)}\n`, i, i + n);
    i += n;
  }
  return b;
}

/** The file in random chunk sizes: a fifth tiny (1..16 bytes), the rest up to 200 KiB, each a fresh copy. */
function chunked(data: Buffer, seed: number): Readable {
  const rnd = prng(seed);
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length;) {
        const n = rnd() < 0.2 ? 1 + Math.floor(rnd() * 16) : 1 + Math.floor(rnd() * 200 * 1024);
        yield Buffer.from(data.subarray(i, i + n));
        i += n;
      }
    })(),
  );
}

/** A file read in 1 MiB chunks (for the large sparse images). */
const fileStream = (f: string) => fs.createReadStream(f, { highWaterMark: MiB });

async function toFile(src: Readable, file: string): Promise<number> {
  let n = 0;
  const out = fs.createWriteStream(file);
  await pipeline(
    src,
    async function* (s: AsyncIterable<Buffer>) {
      for await (const c of s) {
        n += c.length;
        yield c;
      }
    },
    out,
  );
  return n;
}

function checkAndInfo(vmdk: string): { "virtual-size": number; format: string; "format-specific": { data: { "create-type": string } } } {
  expect(qemuImg("check", vmdk)).toMatch(/No errors were found on the image/);
  return JSON.parse(qemuImg("info", "--output=json", vmdk));
}

/** qemu-img's raw reading of `vmdk` equals `expected` byte for byte (`expected` padded with zeros to a sector). */
function expectRawEquals(vmdk: string, expected: Buffer): void {
  const back = path.join(dir, "back.raw");
  qemuImg("convert", "-O", "raw", vmdk, back);
  const got = fs.readFileSync(back);
  fs.rmSync(back);
  const want = Buffer.concat([expected, Buffer.alloc((512 - (expected.length % 512)) % 512)]);
  expect(got.length).toBe(want.length);
  expect(got.equals(want)).toBe(true);
}

async function encode(src: Readable, o: StreamOptimizedImageOptions, name = "out.vmdk") {
  const img = await openStreamOptimizedImage(src, o);
  const file = path.join(dir, name);
  const bytes = await toFile(img.stream, file);
  return { img, file, bytes };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmdk-so-test-"));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const FORMATS = [
  { name: "raw", diskFormat: "raw", make: (raw: string) => raw },
  {
    name: "flat VMDK extent",
    diskFormat: "vmdk",
    make: (raw: string) => {
      qemuImg("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=monolithicFlat", raw, path.join(dir, "mf.vmdk"));
      return path.join(dir, "mf-flat.vmdk");
    },
  },
  {
    name: "monolithicSparse",
    diskFormat: "vmdk",
    make: (raw: string) => {
      qemuImg("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=monolithicSparse,adapter_type=lsilogic", raw, path.join(dir, "ms.vmdk"));
      return path.join(dir, "ms.vmdk");
    },
  },
  {
    name: "streamOptimized, re-encoded",
    diskFormat: "vmdk",
    streamOptimized: "encode" as const,
    make: (raw: string) => {
      qemuImg("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized,adapter_type=buslogic", raw, path.join(dir, "so.vmdk"));
      return path.join(dir, "so.vmdk");
    },
  },
];

const CONTENTS: { name: string; size: number; data: (size: number) => Buffer }[] = [
  { name: "mixed data, partial last grain, size not whole sectors", size: 5 * MiB + 12345, data: (n) => diskData(n, 7) },
  { name: "all zeros", size: 3 * MiB + 512, data: (n) => Buffer.alloc(n) },
  {
    name: "data only in the last bytes",
    size: 2 * MiB + 3 * 512,
    data: (n) => {
      const b = Buffer.alloc(n);
      crypto.randomFillSync(b, n - 700, 700);
      return b;
    },
  },
];

describe.each(FORMATS)("$name -> streamOptimized equals the source", (f) => {
  test.each(CONTENTS)("$name", async (c) => {
    const data = c.data(c.size);
    const raw = path.join(dir, "src.raw");
    fs.writeFileSync(raw, data);
    const input = fs.readFileSync(f.make(raw));
    for (const seed of [1, 2]) {
      const { img, file, bytes } = await encode(chunked(input, seed), {
        diskFormat: f.diskFormat,
        sizeBytes: input.length,
        streamOptimized: f.streamOptimized,
      });
      expect(img.mode).toBe("encode");
      expect(img.contentLength).toBeUndefined();
      const info = checkAndInfo(file);
      expect(info).toMatchObject({ format: "vmdk", "virtual-size": img.capacityBytes, "format-specific": { data: { "create-type": "streamOptimized" } } });
      expectRawEquals(file, f.name === "raw" ? data : Buffer.concat([data, Buffer.alloc(img.capacityBytes - data.length)]));
      const s = img.stats;
      expect(s.outBytes).toBe(bytes);
      expect(s.flatBytes).toBe(img.capacityBytes);
      const grains = Math.ceil(img.capacityBytes / 65536);
      expect(s.zeroGrains + s.deflatedGrains + s.storedGrains).toBe(grains);
      if (c.name === "all zeros") expect(s.zeroGrains).toBe(grains);
      if (c.name === "data only in the last bytes") expect(s.zeroGrains).toBe(grains - 1);
    }
  });
});

describe("streamOptimized sources", () => {
  let data: Buffer;
  let so: Buffer;
  beforeAll(() => {
    data = diskData(6 * MiB + 4096, 11);
    const raw = path.join(dir, "p.raw");
    fs.writeFileSync(raw, data);
    qemuImg("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, path.join(dir, "p.vmdk"));
    so = fs.readFileSync(path.join(dir, "p.vmdk"));
  });

  test("one ESX takes passes through byte for byte, with its length known up front", async () => {
    const { img, file, bytes } = await encode(chunked(so, 3), { diskFormat: "vmdk", sizeBytes: so.length, verifyGrains: true });
    expect(img).toMatchObject({ mode: "passthrough", contentLength: so.length, capacityBytes: data.length });
    expect(bytes).toBe(so.length);
    expect(fs.readFileSync(file).equals(so)).toBe(true);
  });

  test("a pass-through checks the structure on the way and the length against Glance's size", async () => {
    const b = Buffer.from(so);
    // The first grain marker sits at overHead; make the second grain claim the first one's LBA.
    const first = Number(parseSparseHeader(b).overHead) * 512;
    const second = first + Math.ceil((12 + b.readUInt32LE(first + 8)) / 512) * 512;
    b.writeBigUInt64LE(b.readBigUInt64LE(first), second);
    await expect(encode(chunked(b, 4), { diskFormat: "vmdk", sizeBytes: b.length })).rejects.toThrow(/is out of order/);
    await expect(encode(chunked(so, 4), { diskFormat: "vmdk", sizeBytes: so.length + 1 })).rejects.toThrow(TruncatedImageError);
    await expect(encode(chunked(so, 4), { diskFormat: "vmdk", sizeBytes: so.length - 512 })).rejects.toThrow(/longer than its declared size/);
    const corrupt = Buffer.from(so);
    corrupt.fill(0x55, first + 12 + 10, first + 12 + 40);
    await expect(encode(chunked(corrupt, 5), { diskFormat: "vmdk", sizeBytes: so.length, verifyGrains: true })).rejects.toThrow(/corrupt compressed data/);
  });

  test("one ESX does not take (header version 1) is re-encoded, and says why", async () => {
    const v1 = Buffer.from(so);
    v1.writeUInt32LE(1, 4);
    const { img, file } = await encode(chunked(v1, 6), { diskFormat: "vmdk", sizeBytes: v1.length });
    expect(img.mode).toBe("encode");
    expect(img.reason).toMatch(/header is version 1 \(ESX takes version 3 only\)/);
    expect(parseSparseHeader(fs.readFileSync(file)).version).toBe(3);
    checkAndInfo(file);
    expectRawEquals(file, data);
  });

  test("unsupported formats are refused before any output, closing the source", async () => {
    const raw = path.join(dir, "q.raw");
    fs.writeFileSync(raw, data.subarray(0, MiB));
    qemuImg("convert", "-f", "raw", "-O", "qcow2", raw, path.join(dir, "q.qcow2"));
    const s = fs.createReadStream(path.join(dir, "q.qcow2"));
    await expect(openStreamOptimizedImage(s, { diskFormat: "qcow2" })).rejects.toBeInstanceOf(UnsupportedImageError);
    expect(s.destroyed).toBe(true);
  });
});

describe("the encoder's policies and failures", () => {
  const data = diskData(4 * MiB + 512, 5);

  test.each([
    ["adaptive, level 1", { level: 1 }],
    ["every grain deflated (policy always), level 6, one compressor", { level: 6, policy: "always" as const, concurrency: 1 }],
    ["every grain stored (level 0)", { level: 0 }],
    ["a window of 2 grains", { level: 2, window: 2, concurrency: 3 }],
  ])("%s: exact round trip", async (_n, o) => {
    const stats = newEncodeStats();
    const file = path.join(dir, "pol.vmdk");
    await toFile(Readable.from(flatToStreamOptimized(chunked(data, 9), { capacityBytes: data.length, ...o, stats })), file);
    checkAndInfo(file);
    expectRawEquals(file, data);
    const nonZero = Math.ceil(data.length / 65536) - stats.zeroGrains;
    if (o.level === 0) expect(stats).toMatchObject({ storedGrains: nonZero, deflatedGrains: 0 });
    if ("policy" in o) expect(stats).toMatchObject({ deflatedGrains: nonZero, storedGrains: 0 });
    expect(stats.deflatedOut).toBeLessThanOrEqual(stats.deflatedIn + 1024 * stats.deflatedGrains);
  });

  test("input shorter or longer than the capacity, and bad options, fail", async () => {
    const run = (src: Readable, o: Parameters<typeof flatToStreamOptimized>[1]) =>
      toFile(Readable.from(flatToStreamOptimized(src, o)), path.join(dir, "bad.vmdk"));
    await expect(run(chunked(data.subarray(0, MiB), 1), { capacityBytes: 2 * MiB })).rejects.toThrow(
      /^truncated image: input ended at offset 1048576 while reading flat disk data at offset 1048576 \(expected 2097152 bytes\)/,
    );
    await expect(run(chunked(data.subarray(0, MiB), 1), { capacityBytes: MiB / 2 })).rejects.toThrow(
      new ImageFormatError("flat disk is longer than its declared capacity of 524288 bytes"),
    );
    await expect(run(chunked(data, 1), { capacityBytes: 1000 })).rejects.toThrow(/not a positive whole number of sectors/);
    await expect(run(chunked(data, 1), { capacityBytes: data.length, level: 10 })).rejects.toThrow(/deflate level 10/);
  });
});

describe("large sparse inputs", () => {
  /** Peak of heap + external memory (ArrayBuffers included) while `f` runs, sampled every 5 ms, above the start. */
  async function peakGrowth<T>(f: () => Promise<T>): Promise<{ value: T; growth: number }> {
    global.gc?.();
    const used = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.external;
    };
    const start = used();
    let peak = start;
    const t = setInterval(() => (peak = Math.max(peak, used())), 5);
    try {
      const value = await f();
      peak = Math.max(peak, used());
      return { value, growth: peak - start };
    } finally {
      clearInterval(t);
    }
  }

  test("a 4 GiB monolithicSparse image with data at the start, in the middle and in the last grain", async () => {
    const size = 4 * GiB;
    const raw = path.join(dir, "big.raw");
    const fd = fs.openSync(raw, "w");
    const pieces: [number, Buffer][] = [
      [0, diskData(3 * MiB, 21)],
      [Math.floor(size / 3 / 512) * 512, diskData(MiB + 777, 22)],
      [size - 65536, crypto.randomBytes(65536)],
    ];
    fs.ftruncateSync(fd, size);
    for (const [at, b] of pieces) fs.writeSync(fd, b, 0, b.length, at);
    fs.closeSync(fd);
    const ms = path.join(dir, "big-ms.vmdk");
    qemuImg("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=monolithicSparse", raw, ms);

    const { value, growth } = await peakGrowth(() => encode(fileStream(ms), { diskFormat: "vmdk", sizeBytes: fs.statSync(ms).size }, "big-out.vmdk"));
    expect(value.img.capacityBytes).toBe(size);
    expect(value.bytes).toBeLessThan(8 * MiB);
    expect(growth).toBeLessThan(48 * MiB);
    checkAndInfo(value.file);
    // qemu-img compare reads both images as the guest sees them (holes as zeros) and stops at the first difference.
    expect(qemuImg("compare", "-f", "raw", "-F", "vmdk", raw, value.file)).toMatch(/Images are identical/);
    fs.rmSync(ms);
  });

  test("a 4 GiB raw image of real zero bytes (no known zero runs) with data every 512 MiB", async () => {
    const size = 4 * GiB;
    const marks = new Map<number, Buffer>();
    for (let at = 0; at < size; at += 512 * MiB) marks.set(at + 4096, crypto.randomBytes(3000));
    // Glance-like chunks: 64 KiB, not grain-aligned (an odd first chunk), every one a fresh buffer.
    const src = Readable.from(
      (function* () {
        let pos = 0;
        let n = 1000;
        while (pos < size) {
          const len = Math.min(n, size - pos);
          const b = Buffer.alloc(len);
          for (const [at, d] of marks)
            if (at < pos + len && at + d.length > pos) d.copy(b, Math.max(0, at - pos), Math.max(0, pos - at), Math.min(d.length, pos + len - at));
          yield b;
          pos += len;
          n = 65536;
        }
      })(),
    );
    const { value, growth } = await peakGrowth(() => encode(src, { diskFormat: "raw", sizeBytes: size }, "big-raw.vmdk"));
    expect(value.img.stats.zeroGrains).toBe(size / 65536 - marks.size);
    expect(value.bytes).toBeLessThan(2 * MiB);
    expect(growth).toBeLessThan(48 * MiB);
    checkAndInfo(value.file);
    const rawOf = path.join(dir, "big-raw.raw");
    const fd = fs.openSync(rawOf, "w");
    fs.ftruncateSync(fd, size);
    for (const [at, d] of marks) fs.writeSync(fd, d, 0, d.length, at);
    fs.closeSync(fd);
    expect(qemuImg("compare", "-f", "raw", "-F", "vmdk", rawOf, value.file)).toMatch(/Images are identical/);
  });
});

describe("the route of a raw image (lease or /folder) from grains sampled over it", () => {
  test("offsets are grain-aligned, spread, include the last grain, and never repeat", () => {
    expect(sampleOffsets(10 * 65536 + 5, 4)).toEqual([0, 3 * 65536, 6 * 65536, 10 * 65536]);
    expect(sampleOffsets(100, 8)).toEqual([0]);
    expect(sampleOffsets(3 * 65536, 32)).toEqual([0, 65536, 131072]);
  });

  test("zeros, compressible and random grains are told apart; the decision follows the thresholds", async () => {
    const zero = Buffer.alloc(65536);
    const text = Buffer.from("a line of text in a file, as disks hold them\n".repeat(1500)).subarray(0, 65536);
    const rand = crypto.randomBytes(65536);
    const sparse = assessSamples([zero, zero, zero, text]);
    expect(sparse).toMatchObject({ samples: 4, zeroFraction: 0.75 });
    expect(chooseRawRoute(sparse)).toMatchObject({ route: "lease", reason: expect.stringMatching(/75 % zeros.*zero grains are skipped/) });
    const full = assessSamples([rand, rand, text, rand]);
    expect(full.zeroFraction).toBe(0);
    expect(full.deflateRatio).toBeGreaterThan(0.7);
    expect(chooseRawRoute(full)).toMatchObject({ route: "folder", reason: expect.stringMatching(/not worth encoding/) });
    const compressible = assessSamples([text, text, rand]);
    expect(compressible.wireFraction).toBeLessThan(0.4);
    expect(chooseRawRoute(compressible).route).toBe("lease");
    expect(chooseRawRoute(compressible, { maxWireFraction: 0.1 }).route).toBe("folder");
    expect(assessSamples([])).toMatchObject({ samples: 0, zeroFraction: 0, deflateRatio: 1, wireFraction: 1 });

    // sampleRawImage reads each offset once, at most `parallel` at a time, the last grain short
    const image = Buffer.concat([zero, text, zero, rand.subarray(0, 1000)]);
    const reads: number[] = [];
    let inFlight = 0;
    let most = 0;
    const s = await sampleRawImage(
      async (off, len) => {
        reads.push(off);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setImmediate(r));
        inFlight--;
        return image.subarray(off, off + len);
      },
      image.length,
      32,
      2,
    );
    expect(reads.sort((a, b) => a - b)).toEqual([0, 65536, 131072, 196608]);
    expect(most).toBe(2);
    expect(s).toMatchObject({ samples: 4, zeroFraction: 0.5 });
  });
});
