/**
 * The 512-byte header of a hosted sparse VMDK extent ("KDMV"), shared by monolithicSparse and
 * streamOptimized images. Layout per VMware's "Virtual Disk Format 5.0" specification, little endian:
 *   0 magic u32 | 4 version u32 | 8 flags u32 | 12 capacity u64 | 20 grainSize u64
 *   28 descriptorOffset u64 | 36 descriptorSize u64 | 44 numGTEsPerGT u32 | 48 rgdOffset u64
 *   56 gdOffset u64 | 64 overHead u64 | 72 uncleanShutdown u8 | 73..76 "\n \r\n" | 77 compressAlgorithm u16
 * All offsets and sizes are in 512-byte sectors.
 */
import { ImageFormatError } from "./errors";

export const SECTOR = 512;
export const SPARSE_MAGIC = 0x564d444b; // "KDMV" read as little-endian u32
export const GD_AT_END = 0xffffffffffffffffn;

export const FLAG_NEWLINE_TEST = 1 << 0;
export const FLAG_REDUNDANT_GT = 1 << 1;
export const FLAG_ZEROED_GTE = 1 << 2;
export const FLAG_COMPRESSED = 1 << 16;
export const FLAG_MARKERS = 1 << 17;

export const COMPRESSION_NONE = 0;
export const COMPRESSION_DEFLATE = 1;

export interface SparseHeader {
  version: number;
  flags: number;
  /** Virtual disk size in sectors. */
  capacitySectors: number;
  /** Grain (cluster) size in sectors. */
  grainSectors: number;
  descriptorOffset: number;
  descriptorSize: number;
  numGTEsPerGT: number;
  rgdOffset: number;
  /** Sector of the grain directory; `undefined` when the header says "GD at end" (streamOptimized footer). */
  gdOffset: number | undefined;
  overHead: number;
  compressAlgorithm: number;
}

function u64(buf: Buffer, at: number, field: string): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ImageFormatError(`sparse VMDK header: ${field} ${v} is out of range`);
  return Number(v);
}

export function hasSparseMagic(buf: Buffer): boolean {
  return buf.length >= 4 && buf.readUInt32LE(0) === SPARSE_MAGIC;
}

/** Parses and validates a sparse extent header (the first 512 bytes of the file, or a footer copy). */
export function parseSparseHeader(buf: Buffer): SparseHeader {
  if (buf.length < SECTOR) throw new ImageFormatError(`sparse VMDK header: need ${SECTOR} bytes, got ${buf.length}`);
  if (!hasSparseMagic(buf)) {
    throw new ImageFormatError(`sparse VMDK header: bad magic 0x${buf.readUInt32LE(0).toString(16)} (expected "KDMV")`);
  }
  const gdRaw = buf.readBigUInt64LE(56);
  const h: SparseHeader = {
    version: buf.readUInt32LE(4),
    flags: buf.readUInt32LE(8),
    capacitySectors: u64(buf, 12, "capacity"),
    grainSectors: u64(buf, 20, "grainSize"),
    descriptorOffset: u64(buf, 28, "descriptorOffset"),
    descriptorSize: u64(buf, 36, "descriptorSize"),
    numGTEsPerGT: buf.readUInt32LE(44),
    rgdOffset: u64(buf, 48, "rgdOffset"),
    gdOffset: gdRaw === GD_AT_END ? undefined : u64(buf, 56, "gdOffset"),
    overHead: u64(buf, 64, "overHead"),
    compressAlgorithm: buf.readUInt16LE(77),
  };
  const bad = (what: string) => new ImageFormatError(`sparse VMDK header: ${what}`);
  if (h.version < 1 || h.version > 3) throw bad(`unsupported version ${h.version}`);
  if (h.capacitySectors === 0) throw bad("capacity is 0");
  // A byte count must stay a safe integer: 2^53 bytes is 8 PiB, far beyond any real disk.
  if (h.capacitySectors > Number.MAX_SAFE_INTEGER / SECTOR) throw bad(`capacity ${h.capacitySectors} sectors is too large`);
  const g = h.grainSectors;
  if (g < 8 || g > 2048 || (g & (g - 1)) !== 0) throw bad(`grain size ${g} sectors is not a power of two in 8..2048`);
  if (h.numGTEsPerGT !== 512) throw bad(`numGTEsPerGT is ${h.numGTEsPerGT} (expected 512)`);
  if (h.descriptorSize > 2048) throw bad(`embedded descriptor of ${h.descriptorSize} sectors is too large`);
  if (h.compressAlgorithm !== COMPRESSION_NONE && h.compressAlgorithm !== COMPRESSION_DEFLATE) {
    throw bad(`unknown compression algorithm ${h.compressAlgorithm}`);
  }
  if ((h.flags & FLAG_COMPRESSED) !== 0 && h.compressAlgorithm !== COMPRESSION_DEFLATE) {
    throw bad("compressed-grains flag set without deflate compression");
  }
  return h;
}

export function capacityBytes(h: SparseHeader): number {
  return h.capacitySectors * SECTOR;
}

export function grainBytes(h: SparseHeader): number {
  return h.grainSectors * SECTOR;
}

/** Encodes a header (used by the streamOptimized writer and by tests). */
export function encodeSparseHeader(h: SparseHeader): Buffer {
  const b = Buffer.alloc(SECTOR);
  b.writeUInt32LE(SPARSE_MAGIC, 0);
  b.writeUInt32LE(h.version, 4);
  b.writeUInt32LE(h.flags >>> 0, 8);
  b.writeBigUInt64LE(BigInt(h.capacitySectors), 12);
  b.writeBigUInt64LE(BigInt(h.grainSectors), 20);
  b.writeBigUInt64LE(BigInt(h.descriptorOffset), 28);
  b.writeBigUInt64LE(BigInt(h.descriptorSize), 36);
  b.writeUInt32LE(h.numGTEsPerGT, 44);
  b.writeBigUInt64LE(BigInt(h.rgdOffset), 48);
  b.writeBigUInt64LE(h.gdOffset === undefined ? GD_AT_END : BigInt(h.gdOffset), 56);
  b.writeBigUInt64LE(BigInt(h.overHead), 64);
  b.write("\n \r\n", 73, "latin1");
  b.writeUInt16LE(h.compressAlgorithm, 77);
  return b;
}
