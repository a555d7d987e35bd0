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
