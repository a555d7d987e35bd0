/** Checks image data against the hash Glance recorded, while it streams through (hashed on a worker thread). */
import * as crypto from "node:crypto";
import { Readable, Transform, TransformCallback } from "node:stream";
import { WorkerHash } from "./hash-worker";
import type { GlanceImage } from "./image";

export type HashAlgo = "sha512" | "sha384" | "sha256" | "sha1" | "md5";

export class HashMismatchError extends Error {
  override name = "HashMismatchError";
  constructor(
    readonly label: string,
    readonly algo: string,
    readonly expected: string,
    readonly actual: string,
    readonly bytes: number,
  ) {
    super(`${label}: ${algo} mismatch after ${bytes} bytes: expected ${expected}, got ${actual}`);
  }
}

/**
 * A pass-through Transform that hashes every byte and, at the end of the stream, fails with a HashMismatchError
 * (naming expected and actual) if the digest differs from `expected` (hex, case-insensitive).
 */
export function createHashVerifier(algo: HashAlgo | string, expected: string, label: string): Transform {
  crypto.createHash(algo); // throws at once for an algorithm node does not know
  const hash = new WorkerHash(algo); // hashed on another core while the bytes move on
  const want = expected.trim().toLowerCase();
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      bytes += chunk.length;
      let wait: Promise<void> | undefined;
      try {
        wait = hash.update(chunk);
      } catch (e) {
        return cb(e as Error);
      }
      if (wait) wait.then(() => cb(null, chunk), cb);
      else cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      hash.digest().then((actual) => cb(actual === want ? null : new HashMismatchError(label, algo, want, actual, bytes)), cb);
    },
    destroy(err, cb) {
      hash.destroy();
      cb(err);
    },
  });
}

export interface ExpectedHash {
  algo: string;
  value: string;
}

/**
 * The hash to verify an image's data against: Glance's multihash (os_hash_algo, os_hash_value) when both are
 * set, else the legacy md5 `checksum`, else null (no data uploaded yet).
 */
export function expectedHash(image: Pick<GlanceImage, "os_hash_algo" | "os_hash_value" | "checksum">): ExpectedHash | null {
  if (image.os_hash_algo && image.os_hash_value) return { algo: image.os_hash_algo, value: image.os_hash_value };
  if (image.checksum) return { algo: "md5", value: image.checksum };
  return null;
}

/** Reading the image data from Glance failed (transport error, idle timeout, connection cut short). */
export class GlanceReadError extends Error {
  override name = "GlanceReadError";
}

/**
 * The bytes of a Glance download as an async iterable that hashes every byte it hands out (on a worker thread:
 * the consumer's loop only pays a memcpy per chunk). Its iterator ignores `return()` (a converter closing its
 * reader early) so that `finish()` can hash whatever is left: the check always covers all of Glance's bytes.
 */
export class HashingSource implements AsyncIterable<Buffer> {
  private readonly hash: WorkerHash;
  private readonly it: AsyncIterator<Buffer>;
  private done = false;
  /** Bytes read from Glance so far. */
  bytes = 0;

  constructor(
    private readonly stream: Readable,
    readonly algo: string,
    readonly expected: string,
    readonly label: string,
  ) {
    crypto.createHash(algo); // throws at once for an algorithm node does not know
    this.hash = new WorkerHash(algo);
    this.it = stream[Symbol.asyncIterator]();
  }

  private async next(): Promise<IteratorResult<Buffer>> {
    if (this.done) return { done: true, value: undefined };
    let r: IteratorResult<Buffer>;
    try {
      r = await this.it.next();
    } catch (e) {
      this.done = true;
      throw new GlanceReadError(`reading ${this.label} from Glance failed after ${this.bytes} bytes: ${(e as Error).message}`);
    }
    if (r.done) this.done = true;
    else {
      this.bytes += r.value.length;
      const wait = this.hash.update(r.value);
      if (wait) await wait;
    }
    return r;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return { next: () => this.next(), return: async () => ({ done: true, value: undefined }) };
  }

  /** Reads what is left, then compares: throws HashMismatchError naming expected and actual. Returns "<algo>:<hex>". */
  async finish(): Promise<string> {
    while (!(await this.next()).done);
    const actual = await this.hash.digest();
    const want = this.expected.trim().toLowerCase();
    if (actual !== want) throw new HashMismatchError(this.label, this.algo, want, actual, this.bytes);
    return `${this.algo}:${actual}`;
  }

  /** Stops reading: destroys the download and ends the hash. */
  abort(): void {
    this.stream.destroy();
    this.hash.destroy();
  }
}
