/** Checks image data against the hash Glance recorded, while it streams through. */
import * as crypto from "node:crypto";
import { Transform, TransformCallback } from "node:stream";
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
      hash.update(chunk).then(() => cb(null, chunk), cb);
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
