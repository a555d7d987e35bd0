/**
 * One call for an NFC lease upload: peek at a Glance image stream, detect its format and hand back a
 * streamOptimized VMDK stream of it (the form an import lease takes), before any byte is converted.
 *
 *   const img = await openStreamOptimizedImage(glanceData, { diskFormat: meta.disk_format, sizeBytes: meta.size });
 *   // img.contentLength: a number when the size is known up front (pass-through), else undefined: send chunked.
 *   await pipeline(img.stream, leaseUpload(img.contentLength));
 *
 * - A streamOptimized image the host takes as it is passes through byte for byte (its markers checked on the
 *   way): its own compression is kept, nothing is spent on inflating and deflating again, the wire carries exactly
 *   the bytes Glance stores, and the length is the Glance size. Re-encoded instead: a header version other than 3
 *   (ESX refuses older ones: "sparse VMDK version too old", which qemu-img before 2.5.1 wrote), a grain size
 *   other than 64 KiB, or an embedded descriptor whose createType is not streamOptimized.
 * - raw, flat VMDK extents and monolithicSparse images are converted to flat bytes (the converters of
 *   open-flat-image) and encoded by flatToStreamOptimized: zero grains skipped, the rest deflated as the wire
 *   allows (see its adaptive policy). The length is known only at the end.
 */
import { Readable } from "node:stream";
import { ByteReader, type ByteSource } from "./byte-reader";
import { DETECT_HEAD_BYTES, detectFormat, type DetectedFormat, type SparseFormat } from "./detect";
import { flatToStreamOptimized, newEncodeStats, type EncodeStats, type StreamOptimizedOptions } from "./flat-to-stream-optimized";
import { assertSupported, flatCapacity, flatConverter, type SupportedFormat } from "./open-flat-image";
import { COMPRESSION_DEFLATE } from "./sparse-header";
import { streamOptimizedPassThrough } from "./stream-optimized-to-flat";

export interface StreamOptimizedImageOptions extends Pick<StreamOptimizedOptions, "level" | "concurrency" | "policy" | "window"> {
  /** Glance's `disk_format`. */
  diskFormat: string;
  /** Glance's `size`: required for raw/flat images (their capacity); a pass-through's length. */
  sizeBytes?: number;
  /** "auto" (default): pass a streamOptimized image the host takes through as it is; "encode": always re-encode. */
  streamOptimized?: "auto" | "encode";
  /** Pass-through: inflate every grain to check it (default false: the host checks the data it inflates). */
  verifyGrains?: boolean;
  /** ddb.adapterType of an encoded image; default the source's embedded one, else lsiLogic. */
  adapterType?: string;
  /** Extent name in an encoded image's descriptor; default "disk.vmdk". */
  fileName?: string;
}

export interface StreamOptimizedImage {
  format: SupportedFormat;
  /** Size of the virtual disk in bytes. */
  capacityBytes: number;
  /** `ddb.adapterType` of the source's embedded descriptor, if any. */
  adapterType?: string;
  /** "passthrough": the source's own bytes; "encode": converted and encoded here. */
  mode: "passthrough" | "encode";
  /** Why this mode, for the log. */
  reason: string;
  /** Exact length of `stream` when known before it starts (pass-through with a known size); else undefined (send it chunked). */
  contentLength?: number;
  stream: Readable;
  /** Encoding figures, filled in while `stream` is read (all zero for a pass-through). */
  stats: EncodeStats;
}

/** Why a streamOptimized image must be re-encoded for an ESX host, or undefined when it can pass as it is. */
export function passThroughObstacle(f: SparseFormat): string | undefined {
  const h = f.header;
  if (h.version !== 3) return `its header is version ${h.version} (ESX takes version 3 only)`;
  if (h.grainSectors !== 128) return `its grains are ${h.grainSectors} sectors (VMware writes 128)`;
  if (h.compressAlgorithm !== COMPRESSION_DEFLATE) return `its compression algorithm is ${h.compressAlgorithm}`;
  const ct = f.descriptor?.createType;
  if (ct !== undefined && ct !== "streamOptimized") return `its descriptor says createType "${ct}"`;
  return undefined;
}

function decide(format: SupportedFormat, o: StreamOptimizedImageOptions): { mode: "passthrough" | "encode"; reason: string } {
  if (format.kind !== "streamOptimized") return { mode: "encode", reason: `a ${format.kind} image is encoded as streamOptimized` };
  if (o.streamOptimized === "encode") return { mode: "encode", reason: "re-encoding was asked for" };
  const obstacle = passThroughObstacle(format);
  if (obstacle) return { mode: "encode", reason: `re-encoded: ${obstacle}` };
  return { mode: "passthrough", reason: "the streamOptimized image passes through as it is" };
}

/**
 * Reads the head of `source`, detects the format and returns the streamOptimized stream (which has not consumed
 * anything beyond the head yet). Unsupported formats throw UnsupportedImageError and close `source`. Errors in
 * the data (ImageFormatError, TruncatedImageError) come out of `stream`.
 */
export async function openStreamOptimizedImage(source: ByteSource, o: StreamOptimizedImageOptions): Promise<StreamOptimizedImage> {
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
  const { mode, reason } = decide(format, o);
  const stats = newEncodeStats();
  const sourceAdapter = "adapterType" in format ? format.adapterType : undefined;
  let gen: AsyncGenerator<Buffer>;
  if (mode === "passthrough") {
    gen = streamOptimizedPassThrough(r, { verifyGrains: o.verifyGrains, expectedBytes: o.sizeBytes });
  } else {
    const flat = flatConverter(format, o)(r);
    gen = flatToStreamOptimized(flat, {
      capacityBytes,
      adapterType: o.adapterType ?? sourceAdapter ?? "lsiLogic",
      fileName: o.fileName,
      level: o.level,
      concurrency: o.concurrency,
      policy: o.policy,
      window: o.window,
      stats,
    });
  }
  async function* run(): AsyncGenerator<Buffer> {
    try {
      yield* gen;
    } finally {
      await r.close(); // also when the consumer stops early or conversion fails: release the source
    }
  }
  const out: StreamOptimizedImage = {
    format,
    capacityBytes,
    mode,
    reason,
    stream: Readable.from(run(), { objectMode: false, highWaterMark: 1024 * 1024 }),
    stats,
  };
  if (sourceAdapter !== undefined) out.adapterType = sourceAdapter;
  if (mode === "passthrough" && o.sizeBytes !== undefined) out.contentLength = o.sizeBytes;
  return out;
}
