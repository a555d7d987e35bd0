/**
 * For the benchmark only: grains deflated by worker threads (pigz-style: independent blocks compressed in
 * parallel), to compare with what the encoder does (zlib on libuv's thread pool). Each worker runs zlib's
 * deflateSync on the grains it is sent; grains travel as structured-clone copies, results likewise.
 */
import { Worker } from "node:worker_threads";

const SOURCE = `
const { parentPort } = require("node:worker_threads");
const zlib = require("node:zlib");
parentPort.on("message", ({ id, data, level }) => {
  const out = zlib.deflateSync(data, { level, chunkSize: data.length + 1024 });
  const copy = new Uint8Array(out);
  parentPort.postMessage({ id, out: copy }, [copy.buffer]);
});
`;

export class WorkerDeflatePool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, (b: Buffer) => void>();
  private next = 0;
  private rr = 0;

  constructor(n: number) {
    this.workers = Array.from({ length: n }, () => {
      const w = new Worker(SOURCE, { eval: true });
      w.on("message", (m: { id: number; out: Uint8Array }) => {
        const f = this.pending.get(m.id)!;
        this.pending.delete(m.id);
        f(Buffer.from(m.out.buffer, m.out.byteOffset, m.out.byteLength));
      });
      return w;
    });
  }

  deflate(data: Buffer, level: number): Promise<Buffer> {
    const id = this.next++;
    const w = this.workers[this.rr++ % this.workers.length];
    // A copy of the grain alone, transferred: cloning a Buffer view would clone the whole ArrayBuffer under it.
    const copy = new Uint8Array(data);
    return new Promise<Buffer>((resolve) => {
      this.pending.set(id, resolve);
      w.postMessage({ id, data: copy, level }, [copy.buffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
