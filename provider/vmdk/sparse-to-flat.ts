/**
 * monolithicSparse (hosted sparse, uncompressed) VMDK -> flat extent bytes, streaming.
 *
 * qemu-img (and VMware hosted products) lay the file out as: header, embedded descriptor, redundant grain
 * directory + grain tables, grain directory + grain tables, then the grains. We keep the GD and GTs in memory (4 bytes
 * per grain: 64 KiB per GiB of capacity with 64 KiB grains), then walk the grains in LBA
 * order; this only works when the file stores grains in LBA order (qemu-img convert does). A grain stored behind
 * the current read position fails with an error rather than buffering.
 */
import { ByteReader, type ByteSource } from "./byte-reader";
import { ImageFormatError } from "./errors";
import { FLAG_COMPRESSED, FLAG_MARKERS, SECTOR, capacityBytes, grainBytes, parseSparseHeader, type SparseHeader } from "./sparse-header";
import { zeroRun } from "./zeros";

export interface FlatConversion {
  /** Called with the disk size in bytes once the header is parsed, before any output. */
  onCapacity?: (capacityBytes: number) => void;
}

const GTE_BYTES = 4;

/** Reads the GD and all GTs into one array: entry i is the sector of grain i (0 = unallocated, 1 = zero grain). */
async function readGrainTables(r: ByteReader, h: SparseHeader, numGrains: number): Promise<Uint32Array> {
  if (h.gdOffset === undefined || h.gdOffset === 0) throw new ImageFormatError("monolithicSparse VMDK: header has no grain directory offset");
  const numGTs = Math.ceil(numGrains / h.numGTEsPerGT);
  const gdAt = h.gdOffset * SECTOR;
  if (gdAt < r.position) throw new ImageFormatError(`monolithicSparse VMDK: grain directory offset ${gdAt} overlaps the header`);
  await r.skipTo(gdAt, "grain directory");
  const gd = await r.read(numGTs * GTE_BYTES, "grain directory");
  const gts: { index: number; at: number }[] = [];
  for (let i = 0; i < numGTs; i++) {
    const s = gd.readUInt32LE(i * GTE_BYTES);
    if (s !== 0) gts.push({ index: i, at: s * SECTOR });
  }
  gts.sort((a, b) => a.at - b.at);
  const gtBytes = h.numGTEsPerGT * GTE_BYTES;
  const table = new Uint32Array(numGTs * h.numGTEsPerGT);
  for (const gt of gts) {
    if (gt.at < r.position) {
      throw new ImageFormatError(`monolithicSparse VMDK: grain table ${gt.index} at offset ${gt.at} overlaps other metadata (read position ${r.position})`);
    }
    await r.skipTo(gt.at, `grain table ${gt.index}`);
    const b = await r.read(gtBytes, `grain table ${gt.index}`);
    for (let j = 0; j < h.numGTEsPerGT; j++) table[gt.index * h.numGTEsPerGT + j] = b.readUInt32LE(j * GTE_BYTES);
  }
  return table;
}

/**
 * Converts a monolithicSparse VMDK read from `source` (from its first byte) into exactly capacity bytes of
 * flat disk, in LBA order; unallocated grains come out as zeros (slices of one shared zero buffer).
 */
export async function* monolithicSparseToFlat(source: ByteSource | ByteReader, opts: FlatConversion = {}): AsyncGenerator<Buffer> {
  const r = ByteReader.of(source);
  const h = parseSparseHeader(await r.read(SECTOR, "sparse VMDK header"));
  if ((h.flags & (FLAG_COMPRESSED | FLAG_MARKERS)) !== 0) {
    throw new ImageFormatError("monolithicSparse VMDK: header has compressed-grain/marker flags (this is a streamOptimized image)");
  }
  const cap = capacityBytes(h);
  const gBytes = grainBytes(h);
  opts.onCapacity?.(cap);
  const numGrains = Math.ceil(cap / gBytes);
  const table = await readGrainTables(r, h, numGrains);
  const metadataEnd = r.position;

  let zeros = 0; // pending zero bytes, emitted lazily so adjacent empty grains coalesce
  for (let i = 0; i < numGrains; i++) {
    const len = Math.min(gBytes, cap - i * gBytes);
    const s = table[i];
    if (s <= 1) {
      zeros += len;
      continue;
    }
    const at = s * SECTOR;
    if (at < r.position) {
      const why = at < metadataEnd ? `inside the header/grain tables (which end at ${metadataEnd})` : `behind data already read (offset ${r.position})`;
      throw new ImageFormatError(
        `monolithicSparse VMDK: grain for LBA ${(i * gBytes) / SECTOR} is stored at offset ${at}, ${why}; grains must be stored in LBA order to stream (re-create the image with qemu-img convert)`,
      );
    }
    yield* zeroRun(zeros);
    zeros = 0;
    await r.skipTo(at, `grain at LBA ${(i * gBytes) / SECTOR}`);
    yield* r.pieces(len, `grain at LBA ${(i * gBytes) / SECTOR}`);
  }
  yield* zeroRun(zeros);
  await r.drain();
}
