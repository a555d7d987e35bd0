/**
 * The worker-thread hash behind Glance checksum verification: the digest equals node's own for every way of
 * cutting the bytes, including more bytes than the ring holds (the backpressure path), several hashes at once, a
 * worker reused after a digest, and a hash abandoned half-way. HashingSource: the bytes it hands on are the
 * source's, the check covers bytes a consumer never pulled, and a mismatch names both digests.
 */
import * as crypto from "node:crypto";
import { Readable } from "node:stream";
import { WorkerHash } from "../provider/glance/hash-worker";
import { HashingSource, HashMismatchError } from "../provider/glance/verify";

const MiB = 1024 * 1024;

async function hashInPieces(algo: string, data: Buffer, pieces: number[]): Promise<string> {
  const h = new WorkerHash(algo);
  let i = 0;
  for (let off = 0; off < data.length; i++) {
    const n = Math.min(pieces[i % pieces.length], data.length - off);
    const wait = h.update(data.subarray(off, off + n));
    if (wait) await wait;
    off += n;
  }
  return h.digest();
}

const node = (algo: string, data: Buffer) => crypto.createHash(algo).update(data).digest("hex");

test("digest equals node's for tiny, odd, slot-sized and huge pieces, beyond the ring's capacity", async () => {
  const data = crypto.randomBytes(20 * MiB + 12345); // the ring holds 8 MiB
  for (const pieces of [[20 * MiB + 12345], [1, 7, 65536, 3, 524288, 1000003], [512 * 1024], [64 * 1024 - 1]]) {
    expect(await hashInPieces("sha512", data, pieces)).toBe(node("sha512", data));
  }
  expect(await hashInPieces("md5", Buffer.alloc(0), [1])).toBe(node("md5", Buffer.alloc(0)));
});

test("several hashes at once, and a worker reused after digest or after an abandoned hash", async () => {
  const a = crypto.randomBytes(9 * MiB);
  const b = crypto.randomBytes(3 * MiB + 1);
  const [da, db] = await Promise.all([hashInPieces("sha256", a, [65536]), hashInPieces("sha1", b, [100000])]);
  expect(da).toBe(node("sha256", a));
  expect(db).toBe(node("sha1", b));

  const abandoned = new WorkerHash("sha512");
  abandoned.update(a.subarray(0, 5 * MiB));
  abandoned.destroy();
  expect(() => abandoned.update(a)).toThrow(/abandoned/);
  expect(await hashInPieces("sha512", b, [777777])).toBe(node("sha512", b));
});

test("HashingSource passes the bytes on, finish() hashes what the consumer left, a mismatch names both digests", async () => {
  const data = crypto.randomBytes(3 * MiB + 5);
  const chunks = () =>
    Readable.from(
      (function* () {
        for (let o = 0; o < data.length; o += 70000) yield data.subarray(o, o + 70000);
      })(),
    );
  const good = new HashingSource(chunks(), "sha512", node("sha512", data).toUpperCase(), "image x");
  const seen: Buffer[] = [];
  for await (const c of good) {
    seen.push(c);
    if (seen.length === 10) break; // a converter that stops early: return() must not end the source
  }
  expect(Buffer.concat(seen).equals(data.subarray(0, 700000))).toBe(true);
  expect(await good.finish()).toBe(`sha512:${node("sha512", data)}`);
  expect(good.bytes).toBe(data.length);

  const bad = new HashingSource(chunks(), "sha512", "ab".repeat(64), "image y");
  const err = await bad.finish().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(HashMismatchError);
  expect(err).toMatchObject({ expected: "ab".repeat(64), actual: node("sha512", data), bytes: data.length });
  expect(() => new HashingSource(chunks(), "nosuchhash", "00", "z")).toThrow();
});
