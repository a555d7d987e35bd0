import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as util from "node:util";
import { GlanceClient } from "../provider/glance/client";
import { GlanceError, parseGlanceMessage } from "../provider/glance/errors";
import { createHashVerifier, expectedHash, HashMismatchError } from "../provider/glance/verify";
import { GlanceSim, startGlance } from "../scripts/lib/glance-sim";

const TOKEN = "s3cr3t-token-never-shown";
let glance: GlanceSim;
let client: GlanceClient;

beforeAll(async () => {
  glance = await startGlance();
  client = new GlanceClient({ url: glance.url, token: TOKEN, retries: 2, retryDelayMs: 50 });
});
afterAll(async () => {
  await glance?.stop();
});

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Random bytes delivered in 64 KiB chunks, so the upload really is a stream of unknown length. */
function randomStream(data: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += 65536) chunks.push(data.subarray(i, i + 65536));
  return Readable.from(chunks);
}

function sink(): { stream: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  return {
    stream: new Writable({
      write(c: Buffer, _e, cb) {
        parts.push(c);
        cb();
      },
    }),
    bytes: () => Buffer.concat(parts),
  };
}

function noToken(e: unknown): void {
  expect(util.inspect(e, { depth: 10, showHidden: true })).not.toContain(TOKEN);
  expect(String(e)).not.toContain(TOKEN);
}

describe("GlanceClient against a real Glance", () => {
  const data = crypto.randomBytes(4 * 1024 * 1024 + 123);
  let id = "";

  test("create, stream-upload, metadata with checksums node computes", async () => {
    const created = await client.createImage({ name: "random-raw", disk_format: "raw", container_format: "bare" });
    id = created.id;
    expect(created.status).toBe("queued");
    expect(created.size).toBeNull();
    expect(expectedHash(created)).toBeNull();

    await client.uploadData(id, randomStream(data));
    const img = await client.getImage(id);
    expect(img.status).toBe("active");
    expect(img.size).toBe(data.length);
    expect(img.checksum).toBe(crypto.createHash("md5").update(data).digest("hex"));
    expect(img.os_hash_algo).toBe("sha512");
    expect(img.os_hash_value).toBe(crypto.createHash("sha512").update(data).digest("hex"));
    expect(expectedHash(img)).toEqual({ algo: "sha512", value: img.os_hash_value });
    // The file store really holds the bytes.
    expect(fs.readFileSync(path.join(glance.storeDir, id)).equals(data)).toBe(true);
  });

  test("download streams the same bytes and the verifier passes", async () => {
    const { stream, size, image } = await client.openData(id);
    expect(size).toBe(data.length);
    expect(image.status).toBe("active");
    const want = expectedHash(image)!;
    const out = sink();
    await pipeline(stream, createHashVerifier(want.algo, want.value, `image ${id}`), out.stream);
    expect(out.bytes().equals(data)).toBe(true);
  });

  test("verifier fails on corrupted and on truncated data, naming expected and actual", async () => {
    const want = expectedHash(await client.getImage(id))!;
    const { stream } = await client.openData(id);
    let flipped = false;
    const corrupt = new Transform({
      transform(c: Buffer, _e, cb) {
        if (!flipped && c.length > 0) {
          const copy = Buffer.from(c);
          copy[0] ^= 0xff;
          flipped = true;
          return cb(null, copy);
        }
        cb(null, c);
      },
    });
    const err = await pipeline(stream, corrupt, createHashVerifier(want.algo, want.value, "corrupted"), sink().stream).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HashMismatchError);
    const m = err as HashMismatchError;
    expect(m.expected).toBe(want.value);
    expect(m.actual).not.toBe(want.value);
    expect(m.message).toContain(want.value);
    expect(m.message).toContain(m.actual);
    expect(m.bytes).toBe(data.length);

    const md5 = createHashVerifier("md5", crypto.createHash("md5").update(data).digest("hex"), "truncated");
    await expect(pipeline(Readable.from([data.subarray(0, data.length - 1)]), md5, sink().stream)).rejects.toThrow(/truncated: md5 mismatch/);
  });

  test("vmdk image with properties round-trips; Buffer upload with size", async () => {
    const properties = {
      vmware_adaptertype: "lsiLogic",
      vmware_ostype: "otherLinux64Guest",
      vmware_disktype: "streamOptimized",
      hw_vif_model: "VirtualVmxnet3",
    };
    const img = await client.createImage({
      name: "appliance.vmdk",
      disk_format: "vmdk",
      container_format: "bare",
      visibility: "private",
      properties,
    });
    try {
      expect(img.properties).toEqual(properties);
      const bytes = crypto.randomBytes(300000);
      await client.uploadData(img.id, bytes, bytes.length);
      const back = await client.getImage(img.id);
      expect(back).toMatchObject({ name: "appliance.vmdk", disk_format: "vmdk", container_format: "bare" });
      expect(back.visibility).toBe("private");
      expect(back.properties).toEqual(properties);
      expect(back.size).toBe(bytes.length);
      const out = sink();
      await pipeline((await client.openData(img.id)).stream, out.stream);
      expect(out.bytes().equals(bytes)).toBe(true);
    } finally {
      await client.deleteImage(img.id);
    }
  });

  test("reserved property names are refused before calling Glance", async () => {
    await expect(client.createImage({ name: "x", disk_format: "raw", container_format: "bare", properties: { status: "active" } })).rejects.toThrow(/reserved/);
  });

  test("Glance errors carry status, image id and Glance's message, never the token", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    const e1 = await client.getImage(missing).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(GlanceError);
    expect(e1).toMatchObject({ status: 404, imageId: missing });
    expect((e1 as GlanceError).glanceMessage).toBe(`No image found with ID ${missing}`);
    noToken(e1);

    const e2 = await client.createImage({ name: "bad", disk_format: "bogus", container_format: "bare" }).catch((e: unknown) => e);
    expect(e2).toMatchObject({ status: 400 });
    expect((e2 as GlanceError).glanceMessage).toContain("'bogus' is not one of");
    noToken(e2);

    const e4 = await client.uploadData(id, randomStream(data)).catch((e: unknown) => e);
    expect(e4).toMatchObject({ status: 409, imageId: id });
    noToken(e4);

    const queued = await client.createImage({ name: "empty", disk_format: "raw", container_format: "bare" });
    const e3 = await client.openData(queued.id).catch((e: unknown) => e);
    expect(e3).toMatchObject({ code: "image_not_active", imageId: queued.id });
    await client.deleteImage(queued.id);
  });

  test("Glance's HTML and plain-text error bodies parse to the same message", async () => {
    const missing = "00000000-0000-4000-8000-000000000001";
    const body = (accept?: string): Promise<string> =>
      new Promise<string>((resolve, reject) => {
        const headers = accept ? { accept } : undefined;
        http
          .get(`${glance.url}/v2/images/${missing}`, { headers }, (res) => {
            let b = "";
            res.setEncoding("utf8");
            res.on("data", (d) => (b += d));
            res.on("end", () => resolve(b));
          })
          .on("error", reject);
      });
    const html = await body("text/html");
    expect(html).toContain("<h1>404 Not Found</h1>");
    expect(parseGlanceMessage(html)).toBe(`No image found with ID ${missing}`);
    const plain = await body();
    expect(plain).toMatch(/^404 Not Found\n\n/);
    expect(parseGlanceMessage(plain)).toBe(`No image found with ID ${missing}`);
    expect(parseGlanceMessage("<p>it&#x27;s &lt;5&gt; &amp; more</p>")).toBe("it's <5> & more");
  });

  test("delete, then 404 handling: deleting again is fine, reading is a 404", async () => {
    await client.deleteImage(id);
    expect(fs.existsSync(path.join(glance.storeDir, id))).toBe(false);
    await expect(client.deleteImage(id)).resolves.toBeUndefined();
    await expect(client.getImage(id)).rejects.toMatchObject({ status: 404, imageId: id });
    await expect(client.openData(id)).rejects.toMatchObject({ status: 404 });
  });
});

describe("transport errors and retries", () => {
  /** A real TCP peer that accepts and immediately resets every connection, counting them. */
  async function resettingServer(): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
    let n = 0;
    const srv = net.createServer((s) => {
      n++;
      s.resetAndDestroy();
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as net.AddressInfo).port;
    return { url: `http://127.0.0.1:${port}`, count: () => n, close: () => new Promise((r) => srv.close(() => r())) };
  }

  test("GET and DELETE are retried (bounded), POST and PUT are not", async () => {
    const s = await resettingServer();
    try {
      const c = new GlanceClient({ url: s.url, token: TOKEN, retries: 2, retryDelayMs: 10 });
      const e = await c.getImage("abc").catch((x: unknown) => x);
      expect(e).toBeInstanceOf(GlanceError);
      expect(e).toMatchObject({ code: "ECONNRESET", imageId: "abc", status: undefined });
      noToken(e);
      expect(s.count()).toBe(3);
      await expect(c.deleteImage("abc")).rejects.toMatchObject({ code: "ECONNRESET" });
      expect(s.count()).toBe(6);
      await expect(c.createImage({ name: "x", disk_format: "raw", container_format: "bare" })).rejects.toMatchObject({
        code: "ECONNRESET",
      });
      expect(s.count()).toBe(7);
      await expect(c.uploadData("abc", Buffer.from("data"))).rejects.toBeInstanceOf(GlanceError);
      expect(s.count()).toBe(8);
    } finally {
      await s.close();
    }
  });

  test("after stop: no Glance process left; the client reports connection refused", async () => {
    const { pid, url, dataDir } = glance;
    await glance.stop();
    expect(groupAlive(pid)).toBe(false);
    expect(fs.existsSync(dataDir)).toBe(false);
    const c = new GlanceClient({ url, token: TOKEN, retries: 1, retryDelayMs: 10 });
    const e = await c.getImage("abc").catch((x: unknown) => x);
    expect(e).toMatchObject({ code: "ECONNREFUSED" });
    noToken(e);
  });
});
