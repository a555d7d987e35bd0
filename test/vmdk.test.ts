/**
 * Disk image detection and streaming conversion to flat extents, against images made by the real qemu-img.
 * Every conversion is fed in random chunk sizes (1 byte .. 70 KiB) through stream.pipeline and compared byte for
 * byte with `qemu-img convert -O raw` of the same file.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  DETECT_HEAD_BYTES,
  ImageFormatError,
  TruncatedImageError,
  UnsupportedImageError,
  ZERO_CHUNK_BYTES,
  detectFormat,
  flatConverter,
  monolithicSparseToFlat,
  openFlatImage,
  rawToFlat,
  streamOptimizedToFlat,
  type DetectedFormat,
} from "../provider/vmdk";

const QEMU_IMG = "/usr/bin/qemu-img";
const MiB = 1024 * 1024;
let dir: string;

function qemuImg(...args: string[]): string {
  return execFileSync(QEMU_IMG, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Deterministic PRNG (xorshift32) so a failing case can be replayed from its seed. */
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

/** Random disk content: incompressible runs, compressible text-like runs and zero runs of 512 B .. 300 KiB. */
function makeDiskData(size: number, seed: number): Buffer {
  const rnd = prng(seed);
  const b = Buffer.alloc(size);
  let i = 0;
  while (i < size) {
    const n = Math.min(size - i, 512 + Math.floor(rnd() * 300 * 1024));
    const t = rnd();
    if (t < 0.35) {
      for (let j = 0; j < n; j += 4) b.writeUInt32LE((rnd() * 0x100000000) >>> 0, i + j - (j + 4 > n ? j + 4 - n : 0));
    } else if (t < 0.7) {
      const word = Buffer.from(`block ${i} ${Math.floor(rnd() * 1000)} `);
      for (let j = 0; j < n; j++) b[i + j] = word[j % word.length];
    } // else: zeros
    i += n;
  }
  return b;
}

/** Feeds a buffer in random chunk sizes: a fifth of them tiny (1..16 bytes), the rest up to 70 KiB. */
function chunked(data: Buffer, seed: number): Readable {
  const rnd = prng(seed);
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length;) {
        const n = rnd() < 0.2 ? 1 + Math.floor(rnd() * 16) : 1 + Math.floor(rnd() * 70 * 1024);
        yield Buffer.from(data.subarray(i, i + n)); // a copy: the converter must not rely on one backing buffer
        i += n;
      }
    })(),
  );
}

class Collect extends Writable {
  chunks: Buffer[] = [];
  override _write(c: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.chunks.push(c);
    cb();
  }
  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

async function convertFile(file: string, diskFormat: string, seed = 7): Promise<{ format: DetectedFormat; out: Collect }> {
  const data = fs.readFileSync(file);
  const format = detectFormat(data.subarray(0, DETECT_HEAD_BYTES), diskFormat);
  const out = new Collect();
  await pipeline(chunked(data, seed), flatConverter(format, { sizeBytes: data.length }), out);
  return { format, out };
}

function rawOf(file: string): Buffer {
  const ref = path.join(dir, `ref-${path.basename(file)}.raw`);
  qemuImg("convert", "-O", "raw", file, ref);
  const b = fs.readFileSync(ref);
  fs.rmSync(ref);
  return b;
}

/** Returns the first differing offset (for a readable failure), or -1. */
function firstDiff(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

const SIZE = 24 * MiB + 12345; // not a multiple of the grain size, nor of the sector size
let src: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmdk-test-"));
  src = path.join(dir, "src.raw");
  fs.writeFileSync(src, makeDiskData(SIZE, 42));
  const img = (name: string, ...args: string[]) => qemuImg("convert", "-f", "raw", src, ...args, path.join(dir, name));
  img("ms.vmdk", "-O", "vmdk", "-o", "subformat=monolithicSparse,adapter_type=lsilogic");
  img("so.vmdk", "-O", "vmdk", "-o", "subformat=streamOptimized,adapter_type=buslogic");
  img("mf.vmdk", "-O", "vmdk", "-o", "subformat=monolithicFlat");
  img("img.qcow2", "-O", "qcow2");
  img("img.vhd", "-O", "vpc");
  img("img.vhdx", "-O", "vhdx");
  img("img.vdi", "-O", "vdi");
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const head = (name: string) => {
  const fd = fs.openSync(path.join(dir, name), "r");
  try {
    const b = Buffer.alloc(DETECT_HEAD_BYTES);
    return b.subarray(0, fs.readSync(fd, b, 0, b.length, 0));
  } finally {
    fs.closeSync(fd);
  }
};

describe("detectFormat", () => {
  const sectors = Math.ceil(SIZE / 512);

  test("raw, flat extent, monolithicSparse and streamOptimized with header fields", () => {
    expect(detectFormat(head("src.raw"), "raw")).toEqual({ kind: "raw" });
    expect(detectFormat(head("mf-flat.vmdk"), "vmdk")).toEqual({ kind: "flat" });
    const ms = detectFormat(head("ms.vmdk"), "vmdk");
    expect(ms).toMatchObject({ kind: "monolithicSparse", capacityBytes: sectors * 512, adapterType: "lsilogic" });
    expect(ms).toMatchObject({ header: { capacitySectors: sectors, grainSectors: 128, compressAlgorithm: 0 } });
    if (ms.kind !== "monolithicSparse") throw new Error("unreachable");
    expect(ms.header.gdOffset).toBeGreaterThan(0);
    expect(ms.descriptor).toMatchObject({ createType: "monolithicSparse", capacitySectors: sectors });
    const so = detectFormat(head("so.vmdk"), "VMDK");
    expect(so).toMatchObject({ kind: "streamOptimized", capacityBytes: sectors * 512, adapterType: "buslogic" });
    expect(so).toMatchObject({ header: { grainSectors: 128, compressAlgorithm: 1, flags: expect.any(Number) } });
    expect(so).toMatchObject({ descriptor: { createType: "streamOptimized" } });
  });

  test.each([
    ["img.qcow2", "qcow2", "qcow2", /^qcow2 images are not supported: convert with `qemu-img convert -f qcow2 -O vmdk -o subformat=streamOptimized/],
    ["img.qcow2", "vmdk", "qcow2", /^disk_format is vmdk but the image is a qcow2 image: qcow2 images are not supported: convert with `qemu-img/],
    ["img.qcow2", "raw", "qcow2", /^disk_format is raw but the image is a qcow2 image: .*qemu-img convert -f qcow2/],
    ["img.vhd", "vhd", "vhd", /^VHD images are not supported: convert with `qemu-img convert -f vpc/],
    ["img.vhd", "raw", "vhd", /^disk_format is raw but the image is a vhd image/],
    ["img.vhdx", "vhdx", "vhdx", /^VHDX images are not supported: convert with `qemu-img convert -f vhdx/],
    ["img.vhdx", "vmdk", "vhdx", /^disk_format is vmdk but the image is a vhdx image/],
    ["img.vdi", "vdi", "vdi", /^VDI images are not supported: convert with `qemu-img convert -f vdi/],
    ["img.vdi", "raw", "vdi", /^disk_format is raw but the image is a vdi image/],
    ["mf.vmdk", "vmdk", "vmdk", /^this VMDK is only a descriptor file: a descriptor without its extent cannot be imported/],
    ["ms.vmdk", "raw", "vmdkSparse", /^disk_format is raw but the image is a VMDK: set disk_format=vmdk/],
    ["src.raw", "iso", "iso", /^ISO images are CD\/DVD media, not disks/],
    ["src.raw", "ploop", "ploop", /^ploop images are not supported/],
    ["src.raw", "weird", "weird", /^unknown disk_format "weird": only raw and vmdk images can be imported/],
  ])("%s with disk_format %s is unsupported (%s)", (file, diskFormat, format, message) => {
    const d = detectFormat(head(file), diskFormat);
    expect(d).toMatchObject({ kind: "unsupported", format });
    if (d.kind === "unsupported") expect(d.message).toMatch(message);
  });

  test("an ISO 9660 signature under disk_format raw is a raw (hybrid) disk; a KDMV header with a bad version throws", () => {
    const iso = Buffer.alloc(DETECT_HEAD_BYTES);
    iso.write("\x01CD001\x01", 0x8000, "latin1");
    expect(detectFormat(iso, "raw")).toEqual({ kind: "raw" });
    const bad = Buffer.from(head("so.vmdk"));
    bad.writeUInt32LE(9, 4);
    expect(() => detectFormat(bad, "vmdk")).toThrow(new ImageFormatError("sparse VMDK header: unsupported version 9"));
  });

  test("a delta (child) sparse VMDK is unsupported", () => {
    const child = path.join(dir, "child.vmdk");
    qemuImg("create", "-f", "vmdk", "-F", "vmdk", "-b", path.join(dir, "ms.vmdk"), child);
    try {
      const d = detectFormat(head("child.vmdk"), "vmdk");
      expect(d).toMatchObject({
        kind: "unsupported",
        message: expect.stringMatching(/is a delta \(child\) disk of ".*ms\.vmdk" and cannot be imported alone/),
      });
    } finally {
      fs.rmSync(child);
    }
  });
});

describe("conversion to a flat extent equals qemu-img convert -O raw", () => {
  test.each([
    ["src.raw", "raw", "raw"],
    ["mf-flat.vmdk", "vmdk", "flat"],
    ["ms.vmdk", "vmdk", "monolithicSparse"],
    ["so.vmdk", "vmdk", "streamOptimized"],
  ])("%s (%s)", async (file, diskFormat, kind) => {
    const f = path.join(dir, file);
    const expected = rawOf(f);
    expect(expected.length).toBe(Math.ceil(SIZE / 512) * 512);
    for (const seed of [1, 2, 3]) {
      const { format, out } = await convertFile(f, diskFormat, seed);
      expect(format.kind).toBe(kind);
      const got = out.data;
      expect(got.length).toBe(expected.length);
      expect(firstDiff(got, expected)).toBe(-1);
    }
  });

  test("zero runs are slices of one shared buffer, not fresh allocations", async () => {
    const { out } = await convertFile(path.join(dir, "so.vmdk"), "vmdk");
    const zeroChunks = out.chunks.filter((c) => c.length > 0 && c.every((x) => x === 0));
    const zeroBacking = new Set(zeroChunks.map((c) => c.buffer));
    expect(zeroChunks.length).toBeGreaterThan(10);
    expect(zeroChunks.every((c) => c.length <= ZERO_CHUNK_BYTES)).toBe(true);
    // The stream-optimized source compresses zero runs away, so the zeros in the output come from the shared buffer
    // (an all-zero *stored* grain would be its own buffer: the test data has none within whole grains).
    expect(zeroBacking.size).toBe(1);
  });

  test("openFlatImage gives capacity and adapter before conversion, and the exact bytes", async () => {
    const f = path.join(dir, "ms.vmdk");
    let read = 0;
    const src = Readable.from(
      (async function* () {
        for await (const c of fs.createReadStream(f)) {
          read += (c as Buffer).length;
          yield c as Buffer;
        }
      })(),
    );
    const img = await openFlatImage(src, { diskFormat: "vmdk" });
    expect(img.capacityBytes).toBe(Math.ceil(SIZE / 512) * 512);
    expect(img.adapterType).toBe("lsilogic");
    expect(read).toBeLessThan(fs.statSync(f).size); // only the head has been read so far
    const out = new Collect();
    await pipeline(img.stream, out);
    expect(firstDiff(out.data, rawOf(f))).toBe(-1);
  });

  test("openFlatImage pads a raw image to a whole sector and checks it against the Glance size", async () => {
    const data = makeDiskData(5000, 3);
    const img = await openFlatImage(chunked(data, 5), { diskFormat: "raw", sizeBytes: 5000 });
    expect(img.capacityBytes).toBe(5120);
    const out = new Collect();
    await pipeline(img.stream, out);
    expect(out.data).toEqual(Buffer.concat([data, Buffer.alloc(120)]));
    const short = await openFlatImage(chunked(data, 5), { diskFormat: "raw", sizeBytes: 6000 });
    await expect(pipeline(short.stream, new Collect())).rejects.toThrow(new TruncatedImageError("truncated image: input ended after 5000 of 6000 bytes"));
    const long = await openFlatImage(chunked(data, 5), { diskFormat: "raw", sizeBytes: 4000 });
    await expect(pipeline(long.stream, new Collect())).rejects.toThrow(/image is longer than its declared size of 4000 bytes/);
    await expect(openFlatImage(chunked(data, 5), { diskFormat: "raw" })).rejects.toThrow(/needs its positive size in bytes/);
  });

  test("openFlatImage rejects an unsupported image and closes the source", async () => {
    const s = fs.createReadStream(path.join(dir, "img.qcow2"));
    const err = await openFlatImage(s, { diskFormat: "qcow2" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedImageError);
    expect((err as UnsupportedImageError).format).toBe("qcow2");
    expect(s.destroyed).toBe(true);
  });
});

/** Walks the markers of a streamOptimized file: [offset, lba, size] of each grain and the EOS offset. */
function grainMarkers(b: Buffer): { grains: { at: number; lba: number; size: number }[]; eos: number } {
  let at = Number(b.readBigUInt64LE(64)) * 512;
  const grains = [];
  for (;;) {
    const v = Number(b.readBigUInt64LE(at));
    const size = b.readUInt32LE(at + 8);
    if (size === 0) {
      if (b.readUInt32LE(at + 12) === 0) return { grains, eos: at };
      at += 512 + v * 512;
    } else {
      grains.push({ at, lba: v, size });
      at += Math.ceil((12 + size) / 512) * 512;
    }
  }
}

async function run(gen: (s: Readable) => AsyncGenerator<Buffer>, data: Buffer): Promise<void> {
  await pipeline(chunked(data, 11), gen, new Collect());
}

describe("corrupt and truncated streamOptimized input", () => {
  let so: Buffer;
  let m: ReturnType<typeof grainMarkers>;
  beforeAll(() => {
    so = fs.readFileSync(path.join(dir, "so.vmdk"));
    m = grainMarkers(so);
    expect(m.grains.length).toBeGreaterThan(100);
  });
  const conv = (s: Readable) => streamOptimizedToFlat(s);

  test("input cut inside a grain fails; input that ends right after the footer (no end-of-stream marker) is complete", async () => {
    const g = m.grains[50];
    await expect(run(conv, so.subarray(0, g.at + 100))).rejects.toThrow(
      new TruncatedImageError(
        `truncated image: input ended at offset ${g.at + 100} while reading compressed grain at LBA ${g.lba} (${g.size} bytes at offset ${g.at + 12})`,
      ),
    );
    await expect(run(conv, so.subarray(0, m.eos))).resolves.toBeUndefined();
  });

  test("bad magic", async () => {
    const b = Buffer.from(so);
    b.write("XXXX", 0, "latin1");
    await expect(run(conv, b)).rejects.toThrow(/sparse VMDK header: bad magic 0x58585858 \(expected "KDMV"\)/);
  });

  test("corrupt compressed data", async () => {
    const b = Buffer.from(so);
    const g = m.grains[10];
    b.fill(0x55, g.at + 12 + 10, g.at + 12 + 40);
    await expect(run(conv, b)).rejects.toThrow(new RegExp(`grain at LBA ${g.lba} has corrupt compressed data`));
  });

  test("grain beyond the capacity", async () => {
    const b = Buffer.from(so);
    const g = m.grains[m.grains.length - 1];
    b.writeBigUInt64LE(BigInt(Math.ceil(SIZE / 512) + 128), g.at);
    await expect(run(conv, b)).rejects.toThrow(/grain at LBA \d+ \(offset \d+\) lies beyond the capacity of 49177 sectors/);
  });

  test("grain out of LBA order", async () => {
    const b = Buffer.from(so);
    const g = m.grains[20];
    b.writeBigUInt64LE(BigInt(m.grains[5].lba), g.at);
    await expect(run(conv, b)).rejects.toThrow(new RegExp(`grain at LBA ${m.grains[5].lba} \\(offset ${g.at}\\) is out of order`));
  });

  test("impossible grain size and unknown marker type", async () => {
    const b = Buffer.from(so);
    b.writeUInt32LE(10 * MiB, m.grains[3].at + 8);
    await expect(run(conv, b)).rejects.toThrow(/grain marker at offset \d+ has an impossible size 10485760/);
    const c = Buffer.from(so);
    c.writeUInt32LE(7, m.eos + 12);
    await expect(run(conv, c)).rejects.toThrow(new ImageFormatError(`streamOptimized VMDK: unknown marker type 7 at offset ${m.eos}`));
  });
});

describe("corrupt and truncated monolithicSparse input", () => {
  let ms: Buffer;
  let gdOffset: number;
  beforeAll(() => {
    ms = fs.readFileSync(path.join(dir, "ms.vmdk"));
    gdOffset = Number(ms.readBigUInt64LE(56)) * 512;
  });
  const conv = (s: Readable) => monolithicSparseToFlat(s);
  const firstGt = () => ms.readUInt32LE(gdOffset) * 512;

  test("truncated in the grains", async () => {
    await expect(run(conv, ms.subarray(0, ms.length - 70000))).rejects.toThrow(/^truncated image: input ended at offset \d+ while reading grain at LBA \d+/);
  });

  test("truncated in the grain tables", async () => {
    await expect(run(conv, ms.subarray(0, firstGt() + 100))).rejects.toThrow(/^truncated image: input ended at offset \d+ while reading grain table 0/);
  });

  test("grains stored out of LBA order", async () => {
    const b = Buffer.from(ms);
    const gt = firstGt();
    // Find two allocated grains and swap their table entries: the file now stores LBA order backwards there.
    const allocated = [];
    for (let j = 0; j < 512 && allocated.length < 2; j++) if (b.readUInt32LE(gt + j * 4) > 1) allocated.push(j);
    const [x, y] = allocated;
    const ex = b.readUInt32LE(gt + x * 4);
    b.writeUInt32LE(b.readUInt32LE(gt + y * 4), gt + x * 4);
    b.writeUInt32LE(ex, gt + y * 4);
    await expect(run(conv, b)).rejects.toThrow(
      new RegExp(`grain for LBA ${y * 128} is stored at offset ${ex * 512}, behind data already read .* grains must be stored in LBA order`),
    );
  });

  test("a streamOptimized image handed to the monolithicSparse converter", async () => {
    await expect(run(conv, fs.readFileSync(path.join(dir, "so.vmdk")))).rejects.toThrow(/this is a streamOptimized image/);
  });
});

describe("raw passthrough", () => {
  test("counts, pads to a sector, and fails on short input", async () => {
    const data = Buffer.from("x".repeat(1000));
    const out = new Collect();
    let end = 0;
    await pipeline(chunked(data, 1), (s: Readable) => rawToFlat(s, { expectedBytes: 1000, onEnd: (n) => (end = n) }), out);
    expect(out.data).toEqual(Buffer.concat([data, Buffer.alloc(24)]));
    expect(end).toBe(1024);
  });
});
