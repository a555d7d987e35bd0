/**
 * Hashing off the event loop: a worker thread digests copies of the chunks while the main thread keeps moving
 * the bytes. On a busy transfer the main thread's work (reading one socket, encrypting the other) and the hash
 * then run on two cores instead of one after the other. Bytes in flight to the worker are bounded.
 */
import { Worker } from "node:worker_threads";

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const crypto = require("node:crypto");
const hash = crypto.createHash(workerData.algo);
let pending = 0;
parentPort.on("message", (m) => {
  if (m === "digest") return parentPort.postMessage({ digest: hash.digest("hex") });
  hash.update(m);
  pending += m.byteLength;
  if (pending >= ${1 << 20}) { parentPort.postMessage({ acked: pending }); pending = 0; }
});
`;

/** In-flight bound: the main thread waits when the worker is this far behind. */
const MAX_IN_FLIGHT = 16 << 20;

export class WorkerHash {
  private readonly worker: Worker;
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private digestWaiter?: (d: string) => void;
  private failure?: Error;

  constructor(algo: string) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { algo } });
    this.worker.unref();
    this.worker.on("message", (m: { acked?: number; digest?: string }) => {
      if (m.acked) {
        this.inFlight -= m.acked;
        if (this.inFlight < MAX_IN_FLIGHT) this.wake();
      }
      if (m.digest !== undefined) this.digestWaiter?.(m.digest);
    });
    this.worker.on("error", (e) => {
      this.failure = e;
      this.wake();
    });
  }

  /** Queues a copy of `chunk`; resolves at once unless the worker is MAX_IN_FLIGHT behind. */
  async update(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    const copy = new Uint8Array(chunk); // the caller's buffer travels on; the worker gets its own
    this.inFlight += copy.byteLength;
    this.worker.postMessage(copy, [copy.buffer]);
    while (this.inFlight >= MAX_IN_FLIGHT && !this.failure) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure) throw this.failure;
  }

  /** The hex digest of everything updated; ends the worker. */
  async digest(): Promise<string> {
    if (this.failure) throw this.failure;
    try {
      return await new Promise<string>((resolve, reject) => {
        this.digestWaiter = resolve;
        this.worker.once("error", reject);
        this.worker.postMessage("digest");
      });
    } finally {
      void this.worker.terminate();
    }
  }

  destroy(): void {
    void this.worker.terminate();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
