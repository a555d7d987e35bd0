/**
 * Which way a raw (or flat VMDK extent) image should cross to the host: encoded as streamOptimized through an NFC
 * import lease, or as it is through the datastore's /folder endpoint. streamOptimized and monolithicSparse images
 * always take the lease (they are compressed or sparse already: passing them through or re-encoding them costs
 * little); this is only about images whose bytes are all there.
 *
 * The encoder skips zero grains at the cost of a memcmp and deflates the rest as the wire allows, so a raw image
 * with many zero grains crosses in a fraction of the bytes (and of the host's and the TLS's work) and is faster on
 * any link; an image full of data gains only what deflate saves, and only on a link slower than the encoder: on a
 * fast one the plain /folder path is faster (measured in `npm run bench`, section 6). A raw image's head says little
 * about the rest (boot sector, partition table and file system metadata), so the decision samples grains spread over
 * the whole image (Range requests to Glance: the bytes are not verified, a wrong sample only costs speed).
 */
import * as zlib from "node:zlib";
import { isAllZero } from "./zeros";

const GRAIN = 65536;

export interface RawImageSample {
  /** Grains sampled. */
  samples: number;
  /** Fraction of the sampled grains that are all zeros. */
  zeroFraction: number;
  /** Deflated size / size of the sampled grains that are not zero, at level 1 (1 when none). */
  deflateRatio: number;
  /** Estimated streamOptimized bytes / image bytes when every grain is deflated: (1 - zeroFraction) x deflateRatio. */
  wireFraction: number;
}

/** `n` grain-aligned offsets spread evenly over an image of `size` bytes (the last grain included). */
export function sampleOffsets(size: number, n: number): number[] {
  const grains = Math.ceil(size / GRAIN);
  const k = Math.max(1, Math.min(n, grains));
  const out: number[] = [];
  for (let i = 0; i < k; i++) out.push(Math.floor(((grains - 1) * i) / Math.max(1, k - 1)) * GRAIN);
  return [...new Set(out)];
}

/** Zero fraction and level-1 deflate ratio of sampled grains. */
export function assessSamples(samples: Buffer[]): RawImageSample {
  let zero = 0;
  let dataIn = 0;
  let dataOut = 0;
  for (const s of samples) {
    if (isAllZero(s)) zero++;
    else {
      dataIn += s.length;
      dataOut += zlib.deflateSync(s, { level: 1 }).length;
    }
  }
  const zeroFraction = samples.length ? zero / samples.length : 0;
  const deflateRatio = dataIn ? Math.min(1, dataOut / dataIn) : 1;
  return { samples: samples.length, zeroFraction, deflateRatio, wireFraction: (1 - zeroFraction) * deflateRatio };
}

/** Reads `n` grains spread over the image with `read(offset, length)` (e.g. GlanceClient.readRange), `parallel` at a time. */
export async function sampleRawImage(read: (offset: number, length: number) => Promise<Buffer>, size: number, n = 32, parallel = 8): Promise<RawImageSample> {
  const offsets = sampleOffsets(size, n);
  const samples: Buffer[] = new Array(offsets.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, offsets.length) }, async () => {
      while (next < offsets.length) {
        const i = next++;
        samples[i] = await read(offsets[i], Math.min(GRAIN, size - offsets[i]));
      }
    }),
  );
  return assessSamples(samples);
}

export interface RawRouteOptions {
  /** The lease when at least this fraction of the grains are zeros; default 0.25. */
  minZeroFraction?: number;
  /** ... or when the image would cross in at most this fraction of its bytes; default 0.4. */
  maxWireFraction?: number;
}

/**
 * The route for a raw image from its sample: the lease when zero grains are common (>= 25 %) or deflate would cut
 * the bytes to 40 % or less, else /folder. From section 6 of `npm run bench`: a 20 %-data ext4 image crosses in
 * under a fifth of its bytes through the encoder; an image full of data (half random, half text: about 50 % after
 * deflate) crosses faster through /folder on a link faster than the encoder (loopback there), and would gain at most
 * 2x on a slow one. The link's speed is not known beforehand, hence a margin on the data side.
 */
export function chooseRawRoute(s: RawImageSample, o: RawRouteOptions = {}): { route: "lease" | "folder"; reason: string } {
  const minZero = o.minZeroFraction ?? 0.25;
  const maxWire = o.maxWireFraction ?? 0.4;
  const what = `${s.samples} sampled grains: ${(100 * s.zeroFraction).toFixed(0)} % zeros, the rest deflating to ${(100 * s.deflateRatio).toFixed(0)} %`;
  if (s.zeroFraction >= minZero) return { route: "lease", reason: `${what}: zero grains are skipped` };
  if (s.wireFraction <= maxWire) return { route: "lease", reason: `${what}: about ${(100 * s.wireFraction).toFixed(0)} % of the bytes cross` };
  return { route: "folder", reason: `${what}: about ${(100 * s.wireFraction).toFixed(0)} % of the bytes would cross, not worth encoding` };
}
