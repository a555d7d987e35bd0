/** Disk contents for image tests: random data with zero runs, and qemu-img (Debian's qemu-utils) to make formats. */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";

export const QEMU_IMG = "/usr/bin/qemu-img";

export function qemuImg(...args: string[]): string {
  return execFileSync(QEMU_IMG, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Random data with zero runs (so sparse formats have holes), the same layout for the same seed. */
export function diskData(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0), x / 0x100000000);
  for (let i = 0; i < size;) {
    const n = Math.min(size - i, 4096 + Math.floor(rnd() * 512 * 1024));
    if (rnd() < 0.6) crypto.randomFillSync(b, i, n);
    i += n;
  }
  return b;
}
