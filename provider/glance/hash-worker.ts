/**
 * Hashing off the event loop: a worker thread digests copies of the bytes while the main thread keeps moving them.
 * On a busy transfer the main thread's work (reading one socket, encrypting the other) and the hash then run on two
 * cores instead of one after the other.
 *
 * The copies go through a ring of SLOTS slots in one SharedArrayBuffer: the main thread copies chunks into the
 * current slot and publishes a full slot by bumping a counter (Atomics.store + notify); the worker hashes published
 * slots and bumps its own counter. No message per chunk and no ArrayBuffer per batch: transferring ArrayBuffers
 * back and forth made V8 count every transfer as new external memory, and that alone triggered a major GC every
 * ~45 MiB in the plugin process (measured: 17 major + 86 minor GCs for 768 MiB imported, against 1 minor GC without
 * the hash). Neither side blocks its event loop: both wait with Atomics.waitAsync. At most SLOTS x SLOT_BYTES are in
 * flight: `update` returns a promise to wait on when the worker is that far behind (backpressure). A worker and its
 * ring outlive one hash: an idle one is kept (unref'd) for the next, so a process starts the thread once.
 */
import { Worker } from "node:worker_threads";

const SLOTS = 16;
const SLOT_BYTES = 512 * 1024;
/** ctrl[PUBLISHED]: slots the main thread has filled; ctrl[CONSUMED]: slots the worker has hashed. */
const PUBLISHED = 0;
const CONSUMED = 1;
/** A slot length that marks the end of the data: the worker posts the digest. */
const END = -1;

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const crypto = require("node:crypto");
parentPort.on("message", (m) => {
  run(m).catch((e) => setImmediate(() => { throw e; }));
});
async function run({ algo, data, ctrl, lens, slots, slotBytes }) {
  const hash = crypto.createHash(algo);
  const bytes = new Uint8Array(data);
  const c = new Int32Array(ctrl);
  const l = new Int32Array(lens);
  let read = 0;
  for (;;) {
    const published = Atomics.load(c, ${PUBLISHED});
    while (read !== published) {
      const s = read % slots;
      const n = l[s];
      if (n === ${END}) {
        parentPort.postMessage({ digest: hash.digest("hex") });
        return;
      }
      hash.update(bytes.subarray(s * slotBytes, s * slotBytes + n));
      read++;
      Atomics.store(c, ${CONSUMED}, read);
      Atomics.notify(c, ${CONSUMED});
    }
    const w = Atomics.waitAsync(c, ${PUBLISHED}, published);
    if (w.async) await w.value;
  }
}
`;

interface HashThread {
  worker: Worker;
  data: SharedArrayBuffer;
  /** A Buffer over the ring: copies into it use Buffer#fill, a plain memcpy (TypedArray#set on shared memory
   * copies word by word with relaxed atomics, which measured about twice as slow). */
  bytes: Buffer;
  ctrl: Int32Array;
  lens: Int32Array;
}

let idle: HashThread | undefined;

function acquire(): HashThread {
  const t = idle;
  idle = undefined;
  if (t) return t;
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  worker.unref();
  const data = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  return { worker, data, bytes: Buffer.from(data), ctrl: new Int32Array(new SharedArrayBuffer(8)), lens: new Int32Array(new SharedArrayBuffer(4 * SLOTS)) };
}

function release(t: HashThread): void {
  t.worker.removeAllListeners("message");
  t.worker.removeAllListeners("error");
  if (idle) void t.worker.terminate();
  else idle = t;
}

/** Atomics.waitAsync (V8 has it since Node 16; TypeScript declares it from lib es2024 on, this package targets es2022). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, index: number, value: number, timeoutMs?: number): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

/** How long a wait for the worker may take before the worker's health is checked again. */
const WAIT_SLICE_MS = 1000;

export class WorkerHash {
  private readonly t: HashThread;
  private published = 0;
  private fill = 0;
  private digestWaiter?: { resolve: (d: string) => void; reject: (e: Error) => void };
  private failure?: Error;
  private done = false;

  constructor(algo: string) {
    this.t = acquire();
    Atomics.store(this.t.ctrl, PUBLISHED, 0);
    Atomics.store(this.t.ctrl, CONSUMED, 0);
    this.t.worker.on("message", (m: { digest?: string }) => {
      if (m.digest !== undefined) this.digestWaiter?.resolve(m.digest);
    });
    this.t.worker.on("error", (e) => {
      this.failure = e;
      this.digestWaiter?.reject(e);
    });
    this.t.worker.postMessage({ algo, data: this.t.data, ctrl: this.t.ctrl.buffer, lens: this.t.lens.buffer, slots: SLOTS, slotBytes: SLOT_BYTES });
  }

  /**
   * Hashes (a copy of) `chunk`. Returns undefined when the bytes are copied; a promise to await when the worker is
   * SLOTS slots behind (the caller must not pass more bytes until it settles). The caller's buffer is not kept.
   */
  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    let off = 0;
    while (off < chunk.length) {
      if (this.published - Atomics.load(this.t.ctrl, CONSUMED) >= SLOTS) return this.updateLater(chunk.subarray(off));
      const base = (this.published % SLOTS) * SLOT_BYTES;
      const n = Math.min(chunk.length - off, SLOT_BYTES - this.fill);
      this.t.bytes.fill(chunk.subarray(off, off + n), base + this.fill, base + this.fill + n);
      this.fill += n;
      off += n;
      if (this.fill === SLOT_BYTES) this.publish(SLOT_BYTES);
    }
    return undefined;
  }

  private async updateLater(rest: Uint8Array): Promise<void> {
    await this.slotFree();
    const again = this.update(rest);
    if (again) await again;
  }

  /** Waits until the worker has freed a slot (or failed). */
  private async slotFree(): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      const consumed = Atomics.load(this.t.ctrl, CONSUMED);
      if (this.published - consumed < SLOTS) return;
      const w = waitAsync(this.t.ctrl, CONSUMED, consumed, WAIT_SLICE_MS);
      if (w.async) await w.value;
    }
  }

  private publish(len: number): void {
    this.t.lens[this.published % SLOTS] = len;
    this.published++;
    this.fill = 0;
    Atomics.store(this.t.ctrl, PUBLISHED, this.published);
    Atomics.notify(this.t.ctrl, PUBLISHED);
  }

  /** The hex digest of everything updated. The worker is kept for the next hash. */
  async digest(): Promise<string> {
    if (this.failure) throw this.failure;
    if (this.done) throw new Error("digest() already called");
    this.done = true;
    if (this.fill > 0) {
      await this.slotFree();
      this.publish(this.fill);
    }
    const d = new Promise<string>((resolve, reject) => (this.digestWaiter = { resolve, reject }));
    await this.slotFree();
    this.publish(END);
    const digest = await d;
    release(this.t);
    return digest;
  }

  /** Abandons the hash (the worker is ended, not reused: it may be mid-slot). */
  destroy(): void {
    if (this.done) return;
    this.done = true;
    this.failure ??= new Error("hash abandoned");
    this.t.worker.removeAllListeners("message");
    void this.t.worker.terminate();
  }
}
