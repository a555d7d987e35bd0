/** Progress of a long transfer: percentage and rate, logged every 10% or 5 s, whichever comes first. */
import { Readable } from "node:stream";
import { Logger } from "../host";

const MB = 1e6;
const MiB = 1024 * 1024;

/** Passes the stream through, logging progress against `total` bytes. */
export function withProgress(src: Readable, total: number, log: Logger): Readable {
  async function* run(): AsyncGenerator<Buffer> {
    const started = Date.now();
    let done = 0;
    let lastAt = started;
    let lastDecile = 0;
    for await (const chunk of src) {
      done += chunk.length;
      yield chunk;
      const now = Date.now();
      const decile = Math.floor((done * 10) / total);
      if (decile > lastDecile || now - lastAt >= 5000) {
        lastDecile = decile;
        lastAt = now;
        const rate = done / MB / Math.max(0.001, (now - started) / 1000);
        log(`${Math.floor((done * 100) / total)}% (${(done / MiB).toFixed(1)} of ${(total / MiB).toFixed(1)} MiB) at ${rate.toFixed(1)} MB/s`);
      }
    }
  }
  return Readable.from(run(), { objectMode: false, highWaterMark: MiB });
}
