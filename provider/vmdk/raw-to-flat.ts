/**
 * raw / flat VMDK extent -> flat extent: the bytes pass through unchanged and are counted; the end is padded with
 * zeros to a whole sector (a VMDK extent is a whole number of 512-byte sectors).
 */
import { ByteReader, type ByteSource } from "./byte-reader";
import { ImageFormatError, TruncatedImageError } from "./errors";
import { SECTOR } from "./sparse-header";
import { zeroRun } from "./zeros";

export interface RawConversion {
  /** The image's size in bytes as Glance reports it; when given, the input must be exactly this long. */
  expectedBytes?: number;
  /** Called with the total (padded) output size once the input ended. */
  onEnd?: (flatBytes: number) => void;
}

export async function* rawToFlat(source: ByteSource | ByteReader, opts: RawConversion = {}): AsyncGenerator<Buffer> {
  const r = ByteReader.of(source);
  const limit = opts.expectedBytes;
  for await (const chunk of r.rest()) {
    if (limit !== undefined && r.position > limit) {
      throw new ImageFormatError(`image is longer than its declared size of ${limit} bytes`);
    }
    yield chunk;
  }
  const n = r.position;
  if (limit !== undefined && n < limit) throw new TruncatedImageError(`truncated image: input ended after ${n} of ${limit} bytes`);
  const pad = (SECTOR - (n % SECTOR)) % SECTOR;
  yield* zeroRun(pad);
  opts.onEnd?.(n + pad);
}
