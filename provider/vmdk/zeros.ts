/** One shared, never-written buffer of zeros: zero runs are emitted as slices of it, never allocated. */
export const ZERO_CHUNK_BYTES = 1024 * 1024;
const ZEROS = Buffer.alloc(ZERO_CHUNK_BYTES);

/** Yields `n` zero bytes as slices of the shared buffer (consumers must not write into them). */
export function* zeroRun(n: number): Generator<Buffer> {
  while (n > 0) {
    const k = Math.min(n, ZERO_CHUNK_BYTES);
    yield ZEROS.subarray(0, k);
    n -= k;
  }
}

/** True for a slice of the shared zero buffer (what zeroRun yields): known zeros, no need to look at the bytes. */
export function isZeroRun(b: Buffer): boolean {
  return b.buffer === ZEROS.buffer;
}

/** True when every byte of `b` is zero (a memcmp against the shared buffer). */
export function isAllZero(b: Buffer): boolean {
  for (let off = 0; off < b.length; off += ZERO_CHUNK_BYTES) {
    const n = Math.min(ZERO_CHUNK_BYTES, b.length - off);
    if (!b.subarray(off, off + n).equals(ZEROS.subarray(0, n))) return false;
  }
  return true;
}
