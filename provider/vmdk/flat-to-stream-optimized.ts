/**
 * Flat extent bytes -> streamOptimized VMDK, streaming (capture to Glance; import through an NFC lease).
 *
 * Layout, as VMware writes it: header (gdOffset = "at end") + embedded descriptor, padded to `overHead`; one
 * grain marker + deflated grain per grain that is not all zeros; then a GT marker + grain table for every table
 * that has a grain, a GD marker + grain directory, a footer marker + header copy with the real gdOffset, and the
 * end-of-stream marker. The output's size is not known before the end (it depends on the data).
 *
 * Zero grains cost nothing: runs of the shared zero buffer (what the sparse converters emit for unallocated
 * grains) are skipped without looking at them, other grains with one memcmp.
 *
 * Compression keeps up with the consumer instead of holding it back (policy "adaptive", the default): grains are
 * deflated at `level` on libuv's thread pool, `concurrency` at a time, working `lead` grains ahead of the output,
 * and only while the output spends a share of its time waiting for the consumer (the wire is slower than the
 * encoder: CPU spent on deflate is then free). A grain the output reaches before a compressor did is stored
 * (zlib stored blocks: a copy and a checksum) rather than waited for. When the output has to wait for a grain
 * being compressed, the compressors move further ahead (more grains get stored); when it finds grains already
 * compressed, they come back. On a slow network every grain is compressed; on a fast one the stream moves at the
 * speed of the wire. A run of grains that do not compress (random or already compressed data) is stored without
 * trying, with a probe every PROBE_EVERY grains.
 *
 * Memory: `window` grains read ahead (64 KiB each) with their compressed forms, and the grain table entries
 * (4 bytes per grain: 64 KiB per GiB of capacity).
 */
import { promisify } from "node:util";
import * as zlib from "node:zlib";
import { ByteReader, type ByteSource } from "./byte-reader";
import { descriptorAdapterType, diskGeometry, randomCid } from "./descriptor";
import { ImageFormatError, TruncatedImageError } from "./errors";
import { COMPRESSION_DEFLATE, FLAG_COMPRESSED, FLAG_MARKERS, FLAG_NEWLINE_TEST, SECTOR, encodeSparseHeader, type SparseHeader } from "./sparse-header";
import { MARKER_FOOTER, MARKER_GD, MARKER_GT } from "./stream-optimized-to-flat";
import { ZERO_CHUNK_BYTES, isAllZero, isZeroRun, zeroRun } from "./zeros";

/** What an encoding did, filled in while the stream is produced. */
export interface EncodeStats {
  /** Flat bytes consumed (the capacity, once done). */
  flatBytes: number;
  /** streamOptimized bytes produced. */
  outBytes: number;
  /** Grains skipped because they were all zeros. */
  zeroGrains: number;
  /** Grains deflated at the configured level. */
  deflatedGrains: number;
  /** Grains stored (deflate level 0): reached by the output before a compressor, or part of a run that does not compress. */
  storedGrains: number;
  /** Flat bytes of the deflated grains, and their deflated size (the compression ratio of what was compressed). */
  deflatedIn: number;
  deflatedOut: number;
}

export function newEncodeStats(): EncodeStats {
  return { flatBytes: 0, outBytes: 0, zeroGrains: 0, deflatedGrains: 0, storedGrains: 0, deflatedIn: 0, deflatedOut: 0 };
}

export interface StreamOptimizedOptions {
  /** Size of the flat input in bytes: a positive multiple of 512. The input must be exactly this long. */
  capacityBytes: number;
  /** Glance/vSphere or descriptor adapter type for ddb.adapterType; default lsiLogic. */
  adapterType?: string;
  /** File name in the embedded descriptor's extent line; default "disk.vmdk". */
  fileName?: string;
  /** zlib level 0..9 of the grains that are compressed; default 1 (level 2 and 6 measured 1.5% and 6% smaller, at 0.7 and 0.5 times the speed). 0 stores every grain. */
  level?: number;
  /** Grains deflated at once on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise); default 2. */
  concurrency?: number;
  /** "adaptive" (default): store what the compressors cannot keep up with (see above); "always": every grain is deflated at `level`, the output waits. */
  policy?: "adaptive" | "always";
  /** Grains read ahead of the output, at most; default 64 (4 MiB). */
  window?: number;
  /** Filled in as the stream is produced (see newEncodeStats). */
  stats?: EncodeStats;
}

const GRAIN_SECTORS = 128; // 64 KiB, what VMware and qemu-img use
const GRAIN_BYTES = GRAIN_SECTORS * SECTOR;
const GTES_PER_GT = 512;
const OVERHEAD_SECTORS = 128;
const ZEROS = Buffer.alloc(ZERO_CHUNK_BYTES);
/** The wire gauge's memory. */
const WINDOW_MS = 250;
/** Grains are deflated only while the output waits for the consumer at least this share of the time. */
const MIN_WAITING = 0.1;
/** A compressed grain at least this fraction of its input counts as "does not compress". */
const INCOMPRESSIBLE = 0.97;
/** After this many grains in a row that did not compress, grains are stored without trying ... */
const INCOMPRESSIBLE_RUN = 8;
/** ... except every PROBE_EVERY-th, which is tried again. */
const PROBE_EVERY = 16;
const deflateAsync = promisify(zlib.deflate) as (b: Buffer, o: zlib.ZlibOptions) => Promise<Buffer>;
/** One output buffer holds a whole deflated grain (zlib's worst case is a few bytes over the input). */
const ZLIB_CHUNK = GRAIN_BYTES + 1024;

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

interface Grain {
  index: number;
  /** GRAIN_BYTES of data (a short last grain is padded with zeros), in a buffer of the pool. */
  data: Buffer;
}

function asBuffer(c: Buffer | Uint8Array | string): Buffer {
  return typeof c === "string" ? Buffer.from(c) : Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

/**
 * Grain buffers, reused: a grain is copied out of the source's chunks into one of these (so the chunks, fresh
 * from the socket, die young) and the buffer comes back once the grain is written. Fresh 64 KiB buffers held for
 * the read-ahead window survive V8's young-generation collections and their external memory then drives major
 * GCs; reused ones do not (measured: the GC time of an encoded upload dropped from about as much as the rest of its
 * main-thread work to a few percent).
 */
class GrainPool {
  private readonly free: Buffer[] = [];
  constructor(private readonly max: number) {}
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(GRAIN_BYTES);
  }
  give(b: Buffer): void {
    if (this.free.length < this.max) this.free.push(b);
  }
}

/**
 * The grains of a flat disk that are not all zeros, in order, from chunks of any size, each copied into a pool
 * buffer. Zero pieces are recognized before any copy (slices of the shared zero buffer without looking, others
 * with a memcmp), so zero grains cost no copy and no buffer.
 */
async function* nonZeroGrains(source: ByteSource | ByteReader, cap: number, pool: GrainPool, stats: EncodeStats): AsyncGenerator<Grain> {
  let pos = 0;
  let acc: Buffer | undefined; // the current grain, once it has received bytes that are not zeros
  const chunks: AsyncIterable<Buffer | Uint8Array | string> = source instanceof ByteReader ? source.rest() : source;
  for await (const raw of chunks) {
    const chunk = asBuffer(raw);
    if (pos + chunk.length > cap) throw new ImageFormatError(`flat disk is longer than its declared capacity of ${cap} bytes`);
    const knownZero = isZeroRun(chunk);
    for (let off = 0; off < chunk.length;) {
      const index = Math.floor(pos / GRAIN_BYTES);
      const inGrain = pos - index * GRAIN_BYTES;
      const grainLen = Math.min(GRAIN_BYTES, cap - index * GRAIN_BYTES);
      const n = Math.min(chunk.length - off, grainLen - inGrain);
      const zero = knownZero || isAllZero(chunk.subarray(off, off + n));
      if (!zero) {
        if (acc === undefined) {
          acc = pool.take();
          acc.fill(0, 0, inGrain);
        }
        chunk.copy(acc, inGrain, off, off + n);
      } else if (acc !== undefined) {
        acc.fill(0, inGrain, inGrain + n);
      }
      pos += n;
      off += n;
      stats.flatBytes = pos;
      if (inGrain + n === grainLen) {
        if (acc === undefined) stats.zeroGrains++;
        else {
          if (grainLen < GRAIN_BYTES) acc.fill(0, grainLen);
          yield { index, data: acc };
          acc = undefined;
        }
      }
    }
  }
  if (pos < cap) {
    const at = Math.floor(pos / GRAIN_BYTES) * GRAIN_BYTES;
    throw new TruncatedImageError(`truncated image: input ended at offset ${pos} while reading flat disk data at offset ${at} (expected ${cap} bytes)`);
  }
}

/** Adler-32 (the zlib stream's checksum) of `b`. */
function adler32(b: Buffer): number {
  let a = 1;
  let s = 0;
  for (let i = 0; i < b.length;) {
    const end = Math.min(i + 5552, b.length); // zlib's NMAX: the longest run before the sums must be reduced (s < 2^32)
    for (; i < end; i++) {
      a += b[i];
      s += a;
    }
    a %= 65521;
    s %= 65521;
  }
  return ((s << 16) | a) >>> 0;
}

/** Bytes of a grain's zlib stream in stored blocks (deflate level 0): header, blocks of at most 65535, Adler-32. */
const STORED_BYTES = 2 + Math.ceil(GRAIN_BYTES / 65535) * 5 + GRAIN_BYTES + 4;

/**
 * Writes `data` as a zlib stream of stored blocks (what deflate level 0 produces) into `out` at `at`: no zlib
 * call, no buffer of its own, one copy and a checksum.
 */
function writeStored(data: Buffer, out: Buffer, at: number): void {
  out[at] = 0x78; // CMF: deflate, 32 KiB window
  out[at + 1] = 0x01; // FLG: fastest, no dictionary; (0x78 << 8 | 0x01) % 31 === 0
  let o = at + 2;
  for (let off = 0; off < data.length;) {
    const n = Math.min(65535, data.length - off);
    out[o] = off + n === data.length ? 1 : 0; // BFINAL, BTYPE 00 (stored)
    out.writeUInt16LE(n, o + 1);
    out.writeUInt16LE(~n & 0xffff, o + 3);
    data.copy(out, o + 5, off, off + n);
    o += 5 + n;
    off += n;
  }
  out.writeUInt32BE(adler32(data), o);
}

/**
 * How much of the time the output spends waiting for its consumer to take more (the wire's backpressure), as a
 * share of the recent past (halved every WINDOW_MS). Compressing pays only while the output would otherwise wait:
 * when the consumer takes every grain at once the wire is faster than the encoder, and CPU spent on deflate (on a
 * machine whose cores are busy anyway) only slows the stream down.
 */
class WireGauge {
  private waitMs = 0;
  private busyMs = 0;
  private last = performance.now();
  /** Before handing a chunk to the consumer. */
  handing(): void {
    const now = performance.now();
    this.busyMs += now - this.last;
    this.last = now;
  }
  /** When the consumer asks for more. */
  taken(): void {
    const now = performance.now();
    this.waitMs += now - this.last;
    this.last = now;
    if (this.waitMs + this.busyMs > WINDOW_MS) {
      this.waitMs /= 2;
      this.busyMs /= 2;
    }
  }
  /** Share of the recent time spent waiting for the consumer (1 before anything was measured). */
  get waiting(): number {
    const t = this.waitMs + this.busyMs;
    return t === 0 ? 1 : this.waitMs / t;
  }
}

interface Slot {
  grain: Grain;
  state: "waiting" | "deflating" | "done";
  /** The deflated grain; undefined for a grain to be stored. */
  out?: Buffer;
  pending?: Promise<void>;
}

/**
 * Deflates grains in order with the adaptive policy (module comment). `next()` gives the oldest grain with its
 * deflated form, or without one when it is to be stored; the caller feeds grains with `push` while `wantsMore`.
 */
class Compressor {
  private readonly q: Slot[] = [];
  private busy = 0;
  /** Compressors start at this distance from the output. */
  private lead = 0;
  private failure: unknown;
  private incompressibleRun = 0;

  constructor(
    private readonly level: number,
    private readonly concurrency: number,
    private readonly adaptive: boolean,
    private readonly window: number,
    private readonly stats: EncodeStats,
    private readonly wire: WireGauge,
  ) {}

  get wantsMore(): boolean {
    return this.q.length < this.window;
  }

  get size(): number {
    return this.q.length;
  }

  push(grain: Grain): void {
    this.q.push({ grain, state: "waiting" });
    this.startSome();
  }

  /** The oldest grain (removed from the queue) and its deflated form, or undefined: store it. */
  async next(): Promise<{ grain: Grain; deflated: Buffer | undefined }> {
    const s = this.q[0];
    if (s.state === "waiting") {
      this.stats.storedGrains++; // the output got here first
    } else if (s.state === "deflating") {
      // The output caught up with the compressors: let them work further ahead, store what is in between.
      if (this.adaptive) this.lead = Math.min(this.lead + this.concurrency, this.window - 1);
      await s.pending;
    } else if (this.adaptive && this.lead > 0) {
      this.lead--; // compressed before it was needed: the compressors have time to spare
    }
    if (this.failure) throw this.failure;
    this.q.shift();
    this.startSome();
    return { grain: s.grain, deflated: s.out };
  }

  private startSome(): void {
    if (this.level === 0) return; // the output stores every grain as it comes
    if (this.adaptive && this.wire.waiting < MIN_WAITING) return; // the wire takes all it gets: storing is faster
    for (let i = this.adaptive ? this.lead : 0; i < this.q.length && this.busy < this.concurrency; i++) {
      const s = this.q[i];
      if (s.state !== "waiting") continue;
      if (this.adaptive && this.incompressibleRun >= INCOMPRESSIBLE_RUN && s.grain.index % PROBE_EVERY !== 0) continue; // left to be stored
      this.deflate(s);
    }
  }

  private deflate(s: Slot): void {
    s.state = "deflating";
    this.busy++;
    s.pending = deflateAsync(s.grain.data, { level: this.level, chunkSize: ZLIB_CHUNK }).then(
      (out) => {
        this.busy--;
        s.out = out;
        s.state = "done";
        this.stats.deflatedGrains++;
        this.stats.deflatedIn += GRAIN_BYTES;
        this.stats.deflatedOut += out.length;
        if (out.length >= INCOMPRESSIBLE * GRAIN_BYTES) this.incompressibleRun++;
        else this.incompressibleRun = 0;
        this.startSome();
      },
      (e: unknown) => {
        this.busy--;
        this.failure ??= e;
        s.state = "done";
      },
    );
  }

  /** Abandons what is queued (compressions in flight finish on their own). */
  clear(): void {
    this.q.length = 0;
  }
}

export async function* flatToStreamOptimized(source: ByteSource | ByteReader, opts: StreamOptimizedOptions): AsyncGenerator<Buffer> {
  const cap = opts.capacityBytes;
  if (!Number.isSafeInteger(cap) || cap <= 0 || cap % SECTOR !== 0) throw new Error(`capacity ${cap} is not a positive whole number of sectors`);
  const level = opts.level ?? 1;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new Error(`deflate level ${level} is not 0..9`);
  const stats = opts.stats ?? newEncodeStats();
  const numGrains = Math.ceil(cap / GRAIN_BYTES);
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
  let sector = 0; // output position in sectors
  function* out(...bufs: Buffer[]): Generator<Buffer> {
    for (const b of bufs) {
      stats.outBytes += b.length;
      yield b;
    }
  }
  yield* out(encodeSparseHeader(header), padToSector(descriptor), ...zeroRun((OVERHEAD_SECTORS - 1 - descSectors) * SECTOR));
  sector = OVERHEAD_SECTORS;

  const gte = new Uint32Array(numGTs * GTES_PER_GT);
  const window = Math.max(2, opts.window ?? 64);
  const wire = new WireGauge();
  const compressor = new Compressor(level, Math.max(1, opts.concurrency ?? 2), (opts.policy ?? "adaptive") === "adaptive", window, stats, wire);
  const pool = new GrainPool(window + Math.max(1, opts.concurrency ?? 2) + 2);
  /** One buffer per grain: marker, deflated (or stored) data, padding to a sector; the grain's buffer goes back to the pool. */
  const emit = (grain: Grain, deflated: Buffer | undefined): Buffer => {
    if (sector > 0xffffffff) throw new Error("image too large for 32-bit grain table entries");
    gte[grain.index] = sector;
    const dataLen = deflated ? deflated.length : STORED_BYTES;
    const size = 12 + dataLen;
    const padded = Math.ceil(size / SECTOR) * SECTOR;
    const b = Buffer.allocUnsafe(padded);
    b.writeBigUInt64LE(BigInt(grain.index * GRAIN_SECTORS), 0);
    b.writeUInt32LE(dataLen, 8);
    if (deflated) deflated.copy(b, 12);
    else writeStored(grain.data, b, 12);
    b.fill(0, size);
    pool.give(grain.data);
    sector += padded / SECTOR;
    return b;
  };
  const grains = nonZeroGrains(source, cap, pool, stats);
  try {
    let inputDone = false;
    for (;;) {
      while (!inputDone && compressor.wantsMore) {
        const r = await grains.next();
        if (r.done) inputDone = true;
        else compressor.push(r.value);
      }
      if (compressor.size === 0) break;
      const { grain, deflated } = await compressor.next();
      const b = emit(grain, deflated);
      stats.outBytes += b.length;
      wire.handing();
      yield b;
      wire.taken();
    }
  } finally {
    compressor.clear();
    await grains.return(undefined);
  }

  const gd = Buffer.alloc(padToSector(Buffer.alloc(numGTs * 4)).length);
  const gtSectors = (GTES_PER_GT * 4) / SECTOR;
  for (let t = 0; t < numGTs; t++) {
    const entries = gte.subarray(t * GTES_PER_GT, (t + 1) * GTES_PER_GT);
    if (entries.every((e) => e === 0)) continue;
    gd.writeUInt32LE(sector + 1, t * 4);
    const gt = Buffer.alloc(GTES_PER_GT * 4);
    for (let j = 0; j < GTES_PER_GT; j++) gt.writeUInt32LE(entries[j], j * 4);
    yield* out(metadataMarker(gtSectors, MARKER_GT), gt);
    sector += 1 + gtSectors;
  }
  const gdOffset = sector + 1;
  yield* out(metadataMarker(gd.length / SECTOR, MARKER_GD), gd);
  sector += 1 + gd.length / SECTOR;
  yield* out(metadataMarker(1, MARKER_FOOTER), encodeSparseHeader({ ...header, gdOffset }), Buffer.alloc(SECTOR)); // footer, end-of-stream marker
}
