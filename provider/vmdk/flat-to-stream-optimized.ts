/**
 * Flat extent bytes -> streamOptimized VMDK, streaming (for capturing a VM's disk back to Glance).
 *
 * Layout, as VMware writes it: header (gdOffset = "at end") + embedded descriptor, padded to `overHead`; one
 * grain marker + deflated grain per grain that is not all zeros; then a GT marker + grain table for every table
 * that has a grain, a GD marker + grain directory, a footer marker + header copy with the real gdOffset, and the
 * end-of-stream marker. Memory: `concurrency` grains being compressed, and the grain table entries
 * (4 bytes per grain: 64 KiB per GiB of capacity).
 */
import { promisify } from "node:util";
import * as zlib from "node:zlib";
import { ByteReader, type ByteSource } from "./byte-reader";
import { descriptorAdapterType, diskGeometry, randomCid } from "./descriptor";
import { ImageFormatError } from "./errors";
import { COMPRESSION_DEFLATE, FLAG_COMPRESSED, FLAG_MARKERS, FLAG_NEWLINE_TEST, SECTOR, encodeSparseHeader, type SparseHeader } from "./sparse-header";
import { MARKER_FOOTER, MARKER_GD, MARKER_GT } from "./stream-optimized-to-flat";
import { ZERO_CHUNK_BYTES, zeroRun } from "./zeros";

export interface StreamOptimizedOptions {
  /** Size of the flat input in bytes: a positive multiple of 512. The input must be exactly this long. */
  capacityBytes: number;
  /** Glance/vSphere or descriptor adapter type for ddb.adapterType; default lsiLogic. */
  adapterType?: string;
  /** File name in the embedded descriptor's extent line; default "disk.vmdk". */
  fileName?: string;
  /** zlib level 0..9; default 1 (fastest: capture speed matters more than a few percent of size). */
  level?: number;
  /** Grains being compressed at once on libuv's thread pool (4 threads by default); default 8. Memory: ~2 grains each. */
  concurrency?: number;
}

const GRAIN_SECTORS = 128; // 64 KiB, what VMware and qemu-img use
const GTES_PER_GT = 512;
const OVERHEAD_SECTORS = 128;
const ZEROS = Buffer.alloc(ZERO_CHUNK_BYTES);
const deflate = promisify(zlib.deflate);

function metadataMarker(numSectors: number, type: number): Buffer {
  const m = Buffer.alloc(SECTOR);
  m.writeBigUInt64LE(BigInt(numSectors), 0);
  m.writeUInt32LE(type, 12);
  return m;
}

function padToSector(b: Buffer): Buffer {
  const pad = (SECTOR - (b.length % SECTOR)) % SECTOR;
  return pad === 0 ? b : Buffer.concat([b, ZEROS.subarray(0, pad)]);
}

function streamDescriptor(o: Required<Pick<StreamOptimizedOptions, "capacityBytes" | "adapterType" | "fileName">>): string {
  const sectors = o.capacityBytes / SECTOR;
  const adapter = descriptorAdapterType(o.adapterType);
  const geo = diskGeometry(sectors, adapter);
  return [
    "# Disk DescriptorFile",
    "version=1",
    `CID=${randomCid()}`,
    "parentCID=ffffffff",
    'createType="streamOptimized"',
    "",
    "# Extent description",
    `RW ${sectors} SPARSE "${o.fileName.replace(/["\n\r]/g, "_")}"`,
    "",
    "# The Disk Data Base",
    "#DDB",
    "",
    `ddb.adapterType = "${adapter}"`,
    `ddb.geometry.cylinders = "${geo.cylinders}"`,
    `ddb.geometry.heads = "${geo.heads}"`,
    `ddb.geometry.sectors = "${geo.sectors}"`,
    `ddb.virtualHWVersion = "4"`,
    "",
  ].join("\n");
}

export async function* flatToStreamOptimized(source: ByteSource | ByteReader, opts: StreamOptimizedOptions): AsyncGenerator<Buffer> {
  const cap = opts.capacityBytes;
  if (!Number.isSafeInteger(cap) || cap <= 0 || cap % SECTOR !== 0) throw new Error(`capacity ${cap} is not a positive whole number of sectors`);
  const level = opts.level ?? 1;
  const r = ByteReader.of(source);
  const gBytes = GRAIN_SECTORS * SECTOR;
  const numGrains = Math.ceil(cap / gBytes);
  const numGTs = Math.ceil(numGrains / GTES_PER_GT);

  const descriptor = Buffer.from(streamDescriptor({ capacityBytes: cap, adapterType: opts.adapterType ?? "lsiLogic", fileName: opts.fileName ?? "disk.vmdk" }));
  const descSectors = Math.ceil(descriptor.length / SECTOR);
  if (1 + descSectors > OVERHEAD_SECTORS) throw new Error("descriptor too large");
  const header: SparseHeader = {
    version: 3,
    flags: FLAG_NEWLINE_TEST | FLAG_COMPRESSED | FLAG_MARKERS,
    capacitySectors: cap / SECTOR,
    grainSectors: GRAIN_SECTORS,
    descriptorOffset: 1,
    descriptorSize: descSectors,
    numGTEsPerGT: GTES_PER_GT,
    rgdOffset: 0,
    gdOffset: undefined,
    overHead: OVERHEAD_SECTORS,
    compressAlgorithm: COMPRESSION_DEFLATE,
  };
  yield encodeSparseHeader(header);
  yield padToSector(descriptor);
  yield* zeroRun((OVERHEAD_SECTORS - 1 - descSectors) * SECTOR);
  let sector = OVERHEAD_SECTORS; // output position in sectors

  const gte = new Uint32Array(numGTs * GTES_PER_GT);
  // Grains are deflated on the thread pool, `window` at a time, and written in order as they complete.
  const window = Math.max(1, opts.concurrency ?? 8); // > pool size keeps the pool busy while we write
  const inFlight: { grain: number; data: Promise<Buffer> }[] = [];
  const writeOldest = async function* (): AsyncGenerator<Buffer> {
    const { grain, data: pending } = inFlight.shift()!;
    const data = await pending;
    if (sector > 0xffffffff) throw new Error("image too large for 32-bit grain table entries");
    gte[grain] = sector;
    const marker = Buffer.alloc(12);
    marker.writeBigUInt64LE(BigInt(grain * GRAIN_SECTORS), 0);
    marker.writeUInt32LE(data.length, 8);
    const pad = (SECTOR - ((12 + data.length) % SECTOR)) % SECTOR;
    yield marker;
    yield data;
    yield* zeroRun(pad);
    sector += (12 + data.length + pad) / SECTOR;
  };
  try {
    for (let i = 0; i < numGrains; i++) {
      const len = Math.min(gBytes, cap - i * gBytes);
      let grain = await r.read(len, `flat disk data at offset ${i * gBytes} (expected ${cap} bytes)`);
      if (grain.equals(ZEROS.subarray(0, len))) continue;
      if (len < gBytes) grain = Buffer.concat([grain, ZEROS.subarray(0, gBytes - len)]);
      const data = deflate(grain, { level });
      data.catch(() => undefined); // awaited in order later; don't report it as unhandled meanwhile
      inFlight.push({ grain: i, data });
      if (inFlight.length >= window) yield* writeOldest();
    }
    while (inFlight.length > 0) yield* writeOldest();
  } finally {
    inFlight.length = 0;
  }
  if (!(await r.atEnd())) throw new ImageFormatError(`flat disk is longer than its declared capacity of ${cap} bytes`);

  const gd = Buffer.alloc(padToSector(Buffer.alloc(numGTs * 4)).length);
  const gtSectors = (GTES_PER_GT * 4) / SECTOR;
  for (let t = 0; t < numGTs; t++) {
    const entries = gte.subarray(t * GTES_PER_GT, (t + 1) * GTES_PER_GT);
    if (entries.every((e) => e === 0)) continue;
    yield metadataMarker(gtSectors, MARKER_GT);
    gd.writeUInt32LE(sector + 1, t * 4);
    const gt = Buffer.alloc(GTES_PER_GT * 4);
    for (let j = 0; j < GTES_PER_GT; j++) gt.writeUInt32LE(entries[j], j * 4);
    yield gt;
    sector += 1 + gtSectors;
  }
  yield metadataMarker(gd.length / SECTOR, MARKER_GD);
  const gdOffset = sector + 1;
  yield gd;
  sector += 1 + gd.length / SECTOR;
  yield metadataMarker(1, MARKER_FOOTER);
  yield encodeSparseHeader({ ...header, gdOffset });
  yield Buffer.alloc(SECTOR); // end-of-stream marker
}
