/**
 * flat -> streamOptimized (disk capture): qemu-img must accept the output (`check`) and read back the exact input;
 * our own reader must too (this exercises the VMware layout: GD at end, GT/GD/footer markers).
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DETECT_HEAD_BYTES, detectFormat, flatToStreamOptimized, streamOptimizedToFlat } from "../provider/vmdk";

const QEMU_IMG = "/usr/bin/qemu-img";
const MiB = 1024 * 1024;
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmdk-writer-"));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Disk data: random, repetitive and zero runs, sizes 1 .. 200 KiB, from a seeded generator. */
function diskData(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 0x100000000;
  for (let i = 0; i < size;) {
    const n = Math.min(size - i, 1 + Math.floor(rnd() * 200 * 1024));
    const t = rnd();
    if (t < 0.3) crypto.randomFillSync(b, i, n);
    else if (t < 0.6) b.fill(`pattern ${i} `, i, i + n);
    i += n;
  }
  return b;
}

function chunked(data: Buffer, seed: number): Readable {
  let s = seed;
  const rnd = () => (s = (s * 1664525 + 1013904223) >>> 0) / 0x100000000;
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length;) {
        const n = rnd() < 0.2 ? 1 + Math.floor(rnd() * 16) : 1 + Math.floor(rnd() * 70 * 1024);
        yield Buffer.from(data.subarray(i, i + n));
        i += n;
      }
    })(),
  );
}

async function collect(src: Readable, ...stages: ((s: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>)[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(Buffer.from(c));
      cb();
    },
  });
  await (pipeline as (...s: unknown[]) => Promise<void>)(src, ...stages, sink);
  return Buffer.concat(chunks);
}

test.each([
  ["grain-aligned", 16 * MiB],
  ["not grain-aligned, spanning two grain tables", 33 * MiB + 7 * 512],
  ["all zeros", 4 * MiB],
])("%s: qemu-img checks and reads back the exact bytes", async (_name, size) => {
  const data = _name === "all zeros" ? Buffer.alloc(size) : diskData(size, size);
  const vmdk = await collect(chunked(data, 3), (s) => flatToStreamOptimized(s, { capacityBytes: size, adapterType: "paraVirtual", fileName: "cap.vmdk" }));
  const file = path.join(dir, "cap.vmdk");
  fs.writeFileSync(file, vmdk);
  expect(execFileSync(QEMU_IMG, ["check", file], { encoding: "utf8" })).toMatch(/No errors were found on the image/);
  const info = JSON.parse(execFileSync(QEMU_IMG, ["info", "--output=json", file], { encoding: "utf8" }));
  expect(info).toMatchObject({ format: "vmdk", "virtual-size": size, "format-specific": { data: { "create-type": "streamOptimized" } } });
  const back = path.join(dir, "back.raw");
  execFileSync(QEMU_IMG, ["convert", "-O", "raw", file, back]);
  expect(fs.readFileSync(back).equals(data)).toBe(true);

  const d = detectFormat(vmdk.subarray(0, DETECT_HEAD_BYTES), "vmdk");
  expect(d).toMatchObject({ kind: "streamOptimized", capacityBytes: size, adapterType: "lsilogic" });
  const flat = await collect(chunked(vmdk, 9), (s) => streamOptimizedToFlat(s));
  expect(flat.equals(data)).toBe(true);
  fs.rmSync(back);
});

test("input shorter or longer than the capacity fails", async () => {
  const data = diskData(MiB, 1);
  await expect(collect(chunked(data, 1), (s) => flatToStreamOptimized(s, { capacityBytes: 2 * MiB }))).rejects.toThrow(
    /^truncated image: input ended at offset 1048576 while reading flat disk data at offset 1048576 \(expected 2097152 bytes\)/,
  );
  await expect(collect(chunked(data, 1), (s) => flatToStreamOptimized(s, { capacityBytes: MiB / 2 }))).rejects.toThrow(
    "flat disk is longer than its declared capacity of 524288 bytes",
  );
  await expect(collect(chunked(data, 1), (s) => flatToStreamOptimized(s, { capacityBytes: 1000 }))).rejects.toThrow(/not a positive whole number of sectors/);
});
