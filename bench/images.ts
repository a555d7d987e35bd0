/**
 * Test images for the benchmarks: sparse-ish raw files (mostly holes, so disk use and time stay small) with
 * some random and some compressible data, their streamOptimized VMDK made by qemu-img, uploaded to Glance.
 */
import { execFile } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { GlanceClient } from "../provider/glance/client";
import { MiB } from "./lib";

const run = promisify(execFile);
export const QEMU_IMG = "/usr/bin/qemu-img";

/**
 * A raw file of `size` bytes: in every `every` bytes, 1 MiB of random data and 1 MiB of repeated text
 * (compressible, like real file systems), the rest holes; a small block near the end.
 */
export function makeRaw(file: string, size: number, every: number): void {
  const fd = fs.openSync(file, "w");
  try {
    fs.ftruncateSync(fd, size);
    const text = Buffer.from("pulumi-esx benchmark line of compressible text 0123456789\n".repeat(20_000)).subarray(0, MiB);
    for (let at = 0; at + 2 * MiB <= size; at += every) {
      fs.writeSync(fd, crypto.randomBytes(MiB), 0, MiB, at);
      fs.writeSync(fd, text, 0, MiB, at + MiB);
    }
    fs.writeSync(fd, Buffer.from("tail".repeat(1024)), 0, 4096, size - 8192);
  } finally {
    fs.closeSync(fd);
  }
}

export async function toStreamOptimized(raw: string, vmdk: string): Promise<void> {
  await run(QEMU_IMG, ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, vmdk], { timeout: 600_000 });
}

/** Uploads a file as a new Glance image; returns its id. */
export async function uploadToGlance(glance: GlanceClient, name: string, file: string, diskFormat: "raw" | "vmdk"): Promise<string> {
  const img = await glance.createImage({ name, disk_format: diskFormat, container_format: "bare" });
  await glance.uploadData(img.id, fs.createReadStream(file), fs.statSync(file).size);
  return img.id;
}

export function tmpFile(dir: string, name: string): string {
  return path.join(dir, name);
}

/** Files (regular, readable) under `roots`, depth first, in a stable order. */
function* filesUnder(roots: string[]): Generator<{ file: string; size: number }> {
  for (const root of roots) {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(root, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = path.join(root, e.name);
      if (e.isDirectory()) yield* filesUnder([p]);
      else if (e.isFile()) {
        try {
          fs.accessSync(p, fs.constants.R_OK);
          yield { file: p, size: fs.statSync(p).size };
        } catch {
          /* unreadable: skip */
        }
      }
    }
  }
}

/** Where the machine's own files come from for realistic disk contents: documentation, Python's library, shared libraries, programs. */
export const CONTENT_ROOTS = ["/usr/share/doc", "/usr/lib/python3", "/usr/lib/python3.11", "/usr/lib/x86_64-linux-gnu", "/usr/bin", "/usr/share/locale"];

/**
 * A raw disk image made like a real one: `qemu-img create` of `size` bytes, then an ext4 file system (mke2fs -d)
 * holding about `dataBytes` of this machine's files (documentation, Python sources, shared libraries, programs).
 */
export async function makeFsImage(file: string, size: number, dataBytes: number): Promise<void> {
  const stage = fs.mkdtempSync(path.join(path.dirname(file), "stage-"));
  try {
    let total = 0;
    let n = 0;
    for (const { file: src, size: sz } of filesUnder(CONTENT_ROOTS)) {
      if (total >= dataBytes) break;
      if (sz === 0 || sz > 64 * MiB) continue;
      fs.copyFileSync(src, path.join(stage, `${n++}-${path.basename(src)}`));
      total += sz;
    }
    await run(QEMU_IMG, ["create", "-q", "-f", "raw", file, String(size)]);
    await run("/usr/sbin/mke2fs", ["-q", "-F", "-t", "ext4", "-d", stage, file], { timeout: 600_000 });
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/** Text as disks hold it: the machine's Python sources, man-page sources and documentation, repeated to `size`. */
export function makeTextFile(file: string, size: number): void {
  const parts: Buffer[] = [];
  let total = 0;
  for (const { file: src, size: sz } of filesUnder(["/usr/lib/python3", "/usr/lib/python3.11", "/usr/share/doc", "/usr/share/perl5"])) {
    if (!/\.(py|txt|pm|html|md|rst)$|README|copyright$/.test(src) || sz === 0 || sz > 4 * MiB) continue;
    parts.push(fs.readFileSync(src));
    total += sz;
    if (total >= Math.min(size, 64 * MiB)) break;
  }
  if (total === 0) throw new Error("no text files found for the text-like data set");
  const corpus = Buffer.concat(parts);
  const fd = fs.openSync(file, "w");
  try {
    for (let at = 0; at < size; at += corpus.length) fs.writeSync(fd, corpus, 0, Math.min(corpus.length, size - at), at);
  } finally {
    fs.closeSync(fd);
  }
}

/** `size` bytes of random data (incompressible: like encrypted or already compressed contents). */
export function makeRandomFile(file: string, size: number): void {
  const fd = fs.openSync(file, "w");
  try {
    for (let at = 0; at < size; at += 4 * MiB) fs.writeSync(fd, crypto.randomBytes(Math.min(4 * MiB, size - at)), 0, Math.min(4 * MiB, size - at), at);
  } finally {
    fs.closeSync(fd);
  }
}
