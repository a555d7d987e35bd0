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
