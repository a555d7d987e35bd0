/**
 * streamOptimized VMDK -> flat extent bytes, streaming; and the same walk over the markers as a validating
 * pass-through (the bytes unchanged, for an NFC lease that takes streamOptimized).
 *
 * After the header, embedded descriptor and (qemu-img) preallocated tables, up to `overHead`, the file is a
 * sequence of sector-aligned markers:
 *   grain marker:    lba u64 | size u32 (> 0) | size bytes of zlib data | pad to a sector
 *   metadata marker: numSectors u64 | size u32 = 0 | type u32 | pad to 512 | numSectors sectors of data
 *                    type 0 = end of stream, 1 = grain table, 2 = grain directory, 3 = footer (a header copy).
 * Grains are read in file order and must come in increasing LBA order (VMware and qemu-img write them so);
 * tables are skipped, gaps are filled with zeros. Memory: one compressed grain and one inflated grain at a time.
 */
import * as zlib from "node:zlib";
import { ByteReader, type ByteSource } from "./byte-reader";
import { ImageFormatError, TruncatedImageError } from "./errors";
import { FLAG_COMPRESSED, FLAG_MARKERS, SECTOR, capacityBytes, grainBytes, parseSparseHeader, type SparseHeader } from "./sparse-header";
import type { FlatConversion } from "./sparse-to-flat";
import { zeroRun } from "./zeros";

export const MARKER_EOS = 0;
export const MARKER_GT = 1;
export const MARKER_GD = 2;
export const MARKER_FOOTER = 3;

/** A zlib stream (RFC 1950) starts with CMF/FLG such that CMF is deflate and CMF*256+FLG is a multiple of 31. */
function isZlib(b: Buffer): boolean {
  return b.length >= 2 && (b[0] & 0x0f) === 8 && ((b[0] << 8) | b[1]) % 31 === 0;
}

export function inflateGrain(data: Buffer, gBytes: number, lba: number): Buffer {
  try {
    // chunkSize = grain size: zlib fills one output buffer instead of growing and concatenating 16 KiB pieces.
    const opts = { chunkSize: gBytes, maxOutputLength: gBytes };
    return isZlib(data) ? zlib.inflateSync(data, opts) : zlib.inflateRawSync(data, opts);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ERR_BUFFER_TOO_LARGE")
      throw new ImageFormatError(`streamOptimized VMDK: grain at LBA ${lba} inflates to more than the grain size (${gBytes} bytes)`);
    throw new ImageFormatError(`streamOptimized VMDK: grain at LBA ${lba} has corrupt compressed data (${(e as Error).message})`);
  }
}

/** What the marker walk hands out: bytes to echo (pass-through) and grains (LBA + compressed data). */
type WalkEvent = { kind: "bytes"; bytes: Buffer } | { kind: "grain"; lba: number; data: Buffer };

/** Reads the header and checks the streamOptimized flags. */
async function readHeader(r: ByteReader): Promise<{ raw: Buffer; h: SparseHeader }> {
  const raw = await r.read(SECTOR, "sparse VMDK header");
  const h = parseSparseHeader(raw);
  if ((h.flags & FLAG_COMPRESSED) === 0 || (h.flags & FLAG_MARKERS) === 0) {
    throw new ImageFormatError("streamOptimized VMDK: header lacks the compressed-grain and marker flags");
  }
  return { raw, h };
}

/**
 * Walks a streamOptimized image after its header. With `echo`, every byte read comes out as a "bytes" event (in
 * order, zero-copy where the source chunks allow), so that the events' bytes are the input exactly; grains come
 * out as "grain" events (their data already echoed) when `grainData`, else they are only checked and echoed.
 * Fails on a grain out of LBA order, beyond the capacity, of an impossible size, on an unknown marker, or on input
 * that ends before the end-of-stream marker (or the footer, for a file whose header locates its grain directory).
 */
async function* walkMarkers(r: ByteReader, h: SparseHeader, o: { echo: boolean; grainData: boolean }): AsyncGenerator<WalkEvent> {
  const cap = capacityBytes(h);
  const gBytes = grainBytes(h);
  // zlib's worst case expansion is ~0.03% + a few bytes; anything much bigger is a corrupt size field.
  const maxCompressed = gBytes + (gBytes >> 3) + 1024;
  const bytes = (b: Buffer): WalkEvent => ({ kind: "bytes", bytes: b });
  async function* pass(n: number, what: string): AsyncGenerator<WalkEvent> {
    if (o.echo) for await (const b of r.pieces(n, what)) yield bytes(b);
    else await r.skip(n, what);
  }
  async function* read(n: number, what: string): AsyncGenerator<WalkEvent, Buffer> {
    const b = await r.read(n, what);
    if (o.echo) yield bytes(b);
    return b;
  }

  const descEnd = (h.descriptorOffset + h.descriptorSize) * SECTOR;
  yield* pass(Math.max(SECTOR, descEnd, h.overHead * SECTOR) - r.position, "VMDK metadata before the first grain");

  let next = 0; // the lowest LBA byte offset the next grain may have
  // A stream whose header already locates the grain directory (qemu-img 7.2 writes such files for some inputs)
  // may end without footer or end-of-stream marker; so may one after its footer. Input that ends cleanly at a
  // marker boundary is then complete (the Glance checksum still covers every byte).
  let mayEnd = h.gdOffset !== undefined;
  for (;;) {
    const at = r.position;
    if (mayEnd && (await r.atEnd())) return;
    const m = yield* read(12, "marker (input ended before the end-of-stream marker)");
    const value = Number(m.readBigUInt64LE(0));
    const size = m.readUInt32LE(8);
    if (size > 0) {
      const lba = value;
      const lbaBytes = lba * SECTOR;
      if (size > maxCompressed) throw new ImageFormatError(`streamOptimized VMDK: grain marker at offset ${at} has an impossible size ${size}`);
      if (lbaBytes >= cap)
        throw new ImageFormatError(`streamOptimized VMDK: grain at LBA ${lba} (offset ${at}) lies beyond the capacity of ${cap / SECTOR} sectors`);
      if (lba % h.grainSectors !== 0) throw new ImageFormatError(`streamOptimized VMDK: grain LBA ${lba} (offset ${at}) is not a multiple of the grain size`);
      if (lbaBytes < next) {
        throw new ImageFormatError(
          `streamOptimized VMDK: grain at LBA ${lba} (offset ${at}) is out of order: LBA ${next / SECTOR} was already written; grains must be in increasing LBA order to stream (re-create the image with qemu-img convert, without -W)`,
        );
      }
      next = lbaBytes + gBytes;
      if (o.grainData) {
        const data = yield* read(size, `compressed grain at LBA ${lba}`);
        yield { kind: "grain", lba, data };
      } else {
        yield* pass(size, `compressed grain at LBA ${lba}`);
      }
      yield* pass((SECTOR - ((12 + size) % SECTOR)) % SECTOR, `padding of grain at LBA ${lba}`);
      continue;
    }
    const rest = yield* read(SECTOR - 12, "metadata marker");
    const type = rest.readUInt32LE(0);
    const numSectors = value;
    if (type === MARKER_EOS) return;
    if (type === MARKER_GT || type === MARKER_GD) {
      yield* pass(numSectors * SECTOR, type === MARKER_GT ? "grain table" : "grain directory");
    } else if (type === MARKER_FOOTER) {
      if (numSectors < 1) throw new ImageFormatError(`streamOptimized VMDK: footer marker at offset ${at} has no footer`);
      const footer = parseSparseHeader(yield* read(SECTOR, "footer"));
      yield* pass((numSectors - 1) * SECTOR, "footer");
      mayEnd = true;
      if (footer.capacitySectors !== h.capacitySectors) {
        throw new ImageFormatError(`streamOptimized VMDK: footer capacity ${footer.capacitySectors} differs from header capacity ${h.capacitySectors}`);
      }
    } else {
      throw new ImageFormatError(`streamOptimized VMDK: unknown marker type ${type} at offset ${at}`);
    }
  }
}

/**
 * Converts a streamOptimized VMDK read from `source` (from its first byte) into exactly capacity bytes of flat
 * disk, in LBA order. Fails on a grain out of LBA order, beyond the capacity, corrupt, or on input that ends
 * before the end-of-stream marker.
 */
export async function* streamOptimizedToFlat(source: ByteSource | ByteReader, opts: FlatConversion = {}): AsyncGenerator<Buffer> {
  const r = ByteReader.of(source);
  const { h } = await readHeader(r);
  const cap = capacityBytes(h);
  const gBytes = grainBytes(h);
  opts.onCapacity?.(cap);
  let emitted = 0;
  for await (const e of walkMarkers(r, h, { echo: false, grainData: true })) {
    if (e.kind !== "grain") continue;
    const lbaBytes = e.lba * SECTOR;
    const grain = inflateGrain(e.data, gBytes, e.lba);
    yield* zeroRun(lbaBytes - emitted);
    const len = Math.min(grain.length, cap - lbaBytes);
    yield len === grain.length ? grain : grain.subarray(0, len);
    emitted = lbaBytes + len;
  }
  yield* zeroRun(cap - emitted);
  await r.drain(); // qemu-img pads the file after the end-of-stream marker
}

export interface PassThroughOptions {
  /** Inflate every grain to check it (costs about what a conversion to flat does); default false: the markers, LBAs and sizes are checked, the compressed data is left to the host. */
  verifyGrains?: boolean;
  /** Called once the header is parsed, before any output. */
  onHeader?: (h: SparseHeader) => void;
  /** The input's length (Glance's size): more or fewer bytes fail (the output's length was announced). */
  expectedBytes?: number;
}

/**
 * A streamOptimized VMDK, read from its first byte, passed on byte for byte while its structure is checked as
 * streamOptimizedToFlat would (markers, grain order and bounds, the end of the stream); what follows the
 * end-of-stream marker (qemu-img's padding) passes too. The output is the input exactly, so its length is known in
 * advance (the image's size).
 */
export async function* streamOptimizedPassThrough(source: ByteSource | ByteReader, opts: PassThroughOptions = {}): AsyncGenerator<Buffer> {
  const r = ByteReader.of(source);
  const { raw, h } = await readHeader(r);
  opts.onHeader?.(h);
  yield raw;
  const gBytes = grainBytes(h);
  const limit = opts.expectedBytes;
  const tooLong = () => new ImageFormatError(`image is longer than its declared size of ${limit} bytes`);
  for await (const e of walkMarkers(r, h, { echo: true, grainData: opts.verifyGrains === true })) {
    if (e.kind === "grain") inflateGrain(e.data, gBytes, e.lba);
    else if (limit !== undefined && r.position > limit) throw tooLong();
    else yield e.bytes;
  }
  for await (const b of r.rest()) {
    if (limit !== undefined && r.position > limit) throw tooLong();
    yield b;
  }
  if (limit !== undefined && r.position < limit) throw new TruncatedImageError(`truncated image: input ended after ${r.position} of ${limit} bytes`);
}
