/**
 * One call for the provider: peek at a Glance image stream, detect its format and hand back the flat extent as a
 * Readable plus its exact size (for the descriptor and the PUT's Content-Length), before any byte is converted.
 *
 *   const img = await openFlatImage(glanceResponse, { diskFormat: meta.disk_format, sizeBytes: meta.size });
 *   await putDatastoreFile(`${name}.vmdk`, renderDescriptor({ extentFileName: `${name}-flat.vmdk`,
 *     capacityBytes: img.capacityBytes, adapterType: img.adapterType ?? meta.vmware_adaptertype ?? "lsiLogic", diskType }));
 *   await pipeline(img.stream, got.stream.put(url, { headers: { "content-length": String(img.capacityBytes) } }));
 */
import { Readable } from "node:stream";
import { ByteReader, type ByteSource } from "./byte-reader";
import { sectorAlign } from "./descriptor";
import { DETECT_HEAD_BYTES, detectFormat, type DetectedFormat } from "./detect";
import { UnsupportedImageError } from "./errors";
import { rawToFlat } from "./raw-to-flat";
import { monolithicSparseToFlat } from "./sparse-to-flat";
import { streamOptimizedToFlat } from "./stream-optimized-to-flat";

export type SupportedFormat = Exclude<DetectedFormat, { kind: "unsupported" }>;

export interface FlatConverterOptions {
  /** Glance's `size` of the image in bytes: required for raw/flat images (their capacity), checked against the input. */
  sizeBytes?: number;
}

/** Throws UnsupportedImageError for an unsupported format; narrows otherwise. */
export function assertSupported(f: DetectedFormat): asserts f is SupportedFormat {
  if (f.kind === "unsupported") throw new UnsupportedImageError(f.format, f.message);
}

/** Size in bytes of the flat extent a supported image converts to. */
export function flatCapacity(f: SupportedFormat, o: FlatConverterOptions = {}): number {
  if (f.kind === "raw" || f.kind === "flat") {
    if (o.sizeBytes === undefined || !Number.isSafeInteger(o.sizeBytes) || o.sizeBytes <= 0) {
      throw new Error(`a ${f.kind} image needs its positive size in bytes (Glance "size") to size the disk; got ${o.sizeBytes}`);
    }
    return sectorAlign(o.sizeBytes);
  }
  return f.capacityBytes;
}

/** The converter for a detected format, usable as a `stream.pipeline` stage (it reads the image from byte 0). */
export function flatConverter(f: DetectedFormat, o: FlatConverterOptions = {}): (source: ByteSource | ByteReader) => AsyncGenerator<Buffer> {
  assertSupported(f);
  switch (f.kind) {
    case "raw":
    case "flat":
      return (s) => rawToFlat(s, o.sizeBytes === undefined ? {} : { expectedBytes: o.sizeBytes });
    case "monolithicSparse":
      return (s) => monolithicSparseToFlat(s);
    case "streamOptimized":
      return (s) => streamOptimizedToFlat(s);
  }
}

export interface FlatImage {
  format: SupportedFormat;
  /** Exact number of bytes `stream` produces: a whole number of sectors. */
  capacityBytes: number;
  /** `ddb.adapterType` from an embedded descriptor, if any. */
  adapterType?: string;
  stream: Readable;
}

/**
 * Reads the head of `source`, detects the format and returns the flat-extent stream (which has not consumed
 * anything beyond the head yet). Unsupported formats throw UnsupportedImageError and close `source`.
 */
export async function openFlatImage(source: ByteSource, o: FlatConverterOptions & { diskFormat: string }): Promise<FlatImage> {
  const r = new ByteReader(source);
  let format: DetectedFormat, capacityBytes: number;
  try {
    format = detectFormat(await r.peek(DETECT_HEAD_BYTES), o.diskFormat);
    assertSupported(format);
    capacityBytes = flatCapacity(format, o);
  } catch (e) {
    await r.close().catch(() => undefined);
    throw e;
  }
  const convert = flatConverter(format, o);
  async function* run(): AsyncGenerator<Buffer> {
    try {
      yield* convert(r);
    } finally {
      await r.close(); // also when the consumer stops early or conversion fails: release the source
    }
  }
  const stream = Readable.from(run(), { objectMode: false, highWaterMark: 1024 * 1024 });
  const out: FlatImage = { format, capacityBytes, stream };
  if ("adapterType" in format && format.adapterType !== undefined) out.adapterType = format.adapterType;
  return out;
}
