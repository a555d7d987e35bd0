/**
 * Sequential reader over an async iterable of byte chunks (a Node Readable, an HTTP response): exact-length
 * reads, skips and zero-copy pass-through, tracking the absolute offset. It holds at most one source chunk plus
 * whatever a single `read`/`peek` asked for, so memory stays bounded by the largest request.
 */
import { TruncatedImageError } from "./errors";

const EMPTY = Buffer.alloc(0);

export type ByteSource = AsyncIterable<Buffer | Uint8Array | string>;

export class ByteReader {
  private readonly it: AsyncIterator<Buffer | Uint8Array | string>;
  private buf: Buffer = EMPTY;
  private eof = false;
  /** Absolute offset of the next unread byte. */
  position = 0;

  constructor(source: ByteSource) {
    this.it = source[Symbol.asyncIterator]();
  }

  static of(source: ByteSource | ByteReader): ByteReader {
    return source instanceof ByteReader ? source : new ByteReader(source);
  }

  /** Appends the next non-empty source chunk to `buf`; false at end of input. */
  private async more(): Promise<boolean> {
    while (!this.eof) {
      const r = await this.it.next();
      if (r.done) {
        this.eof = true;
        break;
      }
      const c =
        typeof r.value === "string"
          ? Buffer.from(r.value)
          : Buffer.isBuffer(r.value)
            ? r.value
            : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      if (c.length === 0) continue;
      this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
      return true;
    }
    return false;
  }

  private truncated(start: number, n: number, what: string): TruncatedImageError {
    return new TruncatedImageError(
      `truncated image: input ended at offset ${this.position + this.buf.length} while reading ${what} (${n} bytes at offset ${start})`,
    );
  }

  /** Returns up to `n` bytes without consuming them (fewer only at end of input). */
  async peek(n: number): Promise<Buffer> {
    while (this.buf.length < n && (await this.more()));
    return this.buf.subarray(0, Math.min(n, this.buf.length));
  }

  /** Reads exactly `n` bytes; throws TruncatedImageError naming `what` if the input ends first. */
  async read(n: number, what: string): Promise<Buffer> {
    if (this.buf.length >= n) return this.take(n);
    const start = this.position;
    const out = Buffer.allocUnsafe(n);
    for (let filled = 0; filled < n;) {
      if (this.buf.length === 0 && !(await this.more())) throw this.truncated(start, n, what);
      const k = Math.min(n - filled, this.buf.length);
      this.take(k).copy(out, filled);
      filled += k;
    }
    return out;
  }

  /** Yields exactly `n` bytes as slices of the source chunks (no copy). */
  async *pieces(n: number, what: string): AsyncGenerator<Buffer> {
    const start = this.position;
    const total = n;
    while (n > 0) {
      if (this.buf.length === 0 && !(await this.more())) throw this.truncated(start, total, what);
      const k = Math.min(n, this.buf.length);
      n -= k;
      yield this.take(k);
    }
  }

  async skip(n: number, what: string): Promise<void> {
    const start = this.position;
    const total = n;
    while (n > 0) {
      if (this.buf.length === 0 && !(await this.more())) throw this.truncated(start, total, what);
      const k = Math.min(n, this.buf.length);
      this.take(k);
      n -= k;
    }
  }

  /** Skips forward to absolute `offset` (which must not be behind the current position). */
  async skipTo(offset: number, what: string): Promise<void> {
    if (offset < this.position) throw new RangeError(`skipTo(${offset}) is behind position ${this.position} (${what})`);
    await this.skip(offset - this.position, what);
  }

  /** True when no input is left. */
  async atEnd(): Promise<boolean> {
    return this.buf.length === 0 && !(await this.more());
  }

  /** Consumes and discards the rest of the input; returns how many bytes that was. */
  async drain(): Promise<number> {
    let n = 0;
    while (this.buf.length > 0 || (await this.more())) {
      n += this.buf.length;
      this.take(this.buf.length);
    }
    return n;
  }

  /** Yields everything left, as the source chunks. */
  async *rest(): AsyncGenerator<Buffer> {
    while (this.buf.length > 0 || (await this.more())) yield this.take(this.buf.length);
  }

  /** Stops reading: ends the source iterator (which destroys a Readable source). */
  async close(): Promise<void> {
    this.buf = EMPTY;
    this.eof = true;
    await this.it.return?.();
  }

  private take(k: number): Buffer {
    const out = this.buf.subarray(0, k);
    this.buf = k === this.buf.length ? EMPTY : this.buf.subarray(k);
    this.position += k;
    return out;
  }
}
