/**
 * Client for the OpenStack Glance Images API v2 as the provider uses it: read, create, upload, download (as a
 * stream, never buffered) and delete images. HTTP through got (ESM-only, loaded with loadGot()). Idempotent
 * calls (GET, DELETE) are retried on transport errors and 503 with bounded backoff; nothing else is retried.
 * Auth: a static token, or a TokenSource (Keystone, keystone.ts). When Glance answers 401 to a Keystone token the
 * request is sent once more with a fresh token; an upload whose body is a stream is not (it cannot be replayed):
 * it takes a token with plenty of validity left before it starts instead.
 */
import type { Readable } from "node:stream";
import type { Got, Headers, Response } from "got" with { "resolution-mode": "import" };
import { loadGot } from "../http/got";
import { StaticToken, TokenSource } from "./auth";
import { GlanceError, parseGlanceMessage } from "./errors";
import { GlanceImage, NOT_PROPERTIES, parseImage } from "./image";
import { RetryPolicy, withRetry } from "./retry";

export interface GlanceClientOptions {
  /**
   * Glance endpoint, e.g. http://127.0.0.1:9292 (a trailing /v2 or / is accepted), or a function that finds it
   * (Keystone's catalog), called once on first use.
   */
  url: string | (() => Promise<string>);
  /** A static Keystone token, sent as X-Auth-Token. */
  token?: string;
  /** Where tokens come from (overrides `token`), e.g. a KeystoneAuth. */
  auth?: TokenSource;
  /** Per-request timeout for metadata calls; connect/idle timeout for data transfers. Default 30 s. */
  timeoutMs?: number;
  /** Extra attempts for GET and DELETE on transport errors and 503. Default 3. */
  retries?: number;
  /** First retry delay (doubles, capped at 5 s). Default 500 ms. */
  retryDelayMs?: number;
}

export interface NewImage {
  name: string;
  disk_format: string;
  container_format: string;
  visibility?: "public" | "private" | "shared" | "community";
  /** Free-form string properties (vmware_adaptertype, vmware_disktype, hw_vif_model, ...). */
  properties?: Record<string, string>;
}

export interface ImageData {
  /** The image bytes as they arrive; the consumer must read or destroy it. */
  stream: Readable;
  /** Content-Length Glance announced, else the image's recorded size, else null. */
  size: number | null;
  /** The image record read just before opening the data (status active). */
  image: GlanceImage;
}

const MAX_ERROR_BODY = 64 * 1024;
/** Validity a token must have left before a data transfer starts (capped at 90% of the token's lifetime). */
const TRANSFER_TOKEN_VALIDITY_MS = 30 * 60_000;

export class GlanceClient {
  private readonly endpoint: string | (() => Promise<string>);
  private basePromise: Promise<string> | undefined;
  private readonly auth: TokenSource;
  private readonly timeoutMs: number;
  private readonly policy: RetryPolicy;

  constructor(opts: GlanceClientOptions) {
    this.endpoint = opts.url;
    this.auth = opts.auth ?? new StaticToken(opts.token);
    this.timeoutMs = opts.timeoutMs ?? 30000;
    this.policy = { retries: opts.retries ?? 3, baseDelayMs: opts.retryDelayMs ?? 500, maxDelayMs: 5000 };
  }

  async getImage(id: string): Promise<GlanceImage> {
    return withRetry(this.policy, async () => {
      const res = await this.request("GET image", id, "GET", await this.imageUrl(id));
      if (res.statusCode !== 200) throw this.httpError("GET image", id, res);
      return parseImage(JSON.parse(res.body));
    });
  }

  async createImage(meta: NewImage): Promise<GlanceImage> {
    const body: Record<string, string> = {};
    for (const [k, v] of Object.entries(meta.properties ?? {})) {
      if (NOT_PROPERTIES.has(k)) throw new Error(`image property "${k}" is a reserved Glance attribute`);
      body[k] = v;
    }
    Object.assign(body, { name: meta.name, disk_format: meta.disk_format, container_format: meta.container_format });
    if (meta.visibility) body.visibility = meta.visibility;
    const res = await this.request("create image", undefined, "POST", `${await this.base()}/v2/images`, { json: body });
    if (res.statusCode !== 201) throw this.httpError("create image", undefined, res);
    return parseImage(JSON.parse(res.body));
  }

  /**
   * Uploads the image data (PUT /file). Not retried on transport errors; a stream body is not retried on 401 either
   * (it cannot be replayed), so the token is refreshed first when it is close to expiry.
   */
  async uploadData(id: string, body: Readable | Buffer, size?: number): Promise<void> {
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    if (size !== undefined) headers["content-length"] = String(size);
    const res = await this.request("upload image data", id, "PUT", `${await this.imageUrl(id)}/file`, {
      body,
      headers,
      timeout: this.transferTimeouts(),
      minValidityMs: TRANSFER_TOKEN_VALIDITY_MS,
    });
    if (res.statusCode !== 204 && res.statusCode !== 200) throw this.httpError("upload image data", id, res);
  }

  /**
   * Opens the image data for streaming. Fails unless the image is active and Glance answers 200. `known` is the
   * image record the caller has just read (getImage): it saves a metadata round trip (the data of an active image
   * never changes, nor its checksums); without it the record is read first.
   */
  async openData(id: string, known?: GlanceImage): Promise<ImageData> {
    const image = known?.id === id && known.status === "active" ? known : await this.getImage(id);
    if (image.status !== "active") {
      throw new GlanceError({
        operation: "download image data",
        imageId: id,
        code: "image_not_active",
        glanceMessage: `image status is "${image.status}", not "active"`,
      });
    }
    return withRetry(this.policy, async () => {
      const { stream, response } = await this.openStream(id);
      const announced = Number(response.headers["content-length"]);
      const size = Number.isFinite(announced) && response.headers["content-length"] !== undefined ? announced : image.size;
      return { stream, size, image };
    });
  }

  /**
   * Bytes [offset, offset + length) of an image's data, by an HTTP Range request (for sampling an image, e.g. to
   * choose how to transfer it; these bytes are not checksum-verified). Fewer bytes only at the end of the data.
   * Fails if Glance does not answer 206 Partial Content (it never sends the whole image instead).
   */
  async readRange(id: string, offset: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length <= 0) throw new RangeError(`bad range ${offset}+${length}`);
    const op = "read image data range";
    const url = `${await this.imageUrl(id)}/file`;
    return withRetry(this.policy, async () => {
      const got: Got = await loadGot();
      const { stream, response } = await this.withToken(
        true,
        undefined,
        async (token) => {
          const stream = got.stream(url, {
            headers: this.headers(token, { accept: "application/octet-stream", range: `bytes=${offset}-${offset + length - 1}` }),
            throwHttpErrors: false,
            retry: { limit: 0 },
            decompress: false,
            timeout: this.transferTimeouts(),
          });
          const response = await responseOf(stream, op, id);
          return { statusCode: response.statusCode, stream, response };
        },
        (r) => r.stream.destroy(),
      );
      if (response.statusCode !== 206) {
        const body = response.statusCode === 200 ? "" : await readSome(stream, MAX_ERROR_BODY);
        stream.destroy();
        if (response.statusCode === 401) throw this.unauthorized(op, id, body, true);
        const message = response.statusCode === 200 ? "Glance ignored the Range header (answered the whole image)" : parseGlanceMessage(body);
        throw new GlanceError({ operation: op, imageId: id, status: response.statusCode, glanceMessage: message });
      }
      const parts: Buffer[] = [];
      let n = 0;
      try {
        for await (const c of stream) {
          parts.push(c as Buffer);
          n += (c as Buffer).length;
          if (n >= length) break;
        }
      } catch (e) {
        throw transportError(op, id, e);
      } finally {
        stream.destroy();
      }
      return Buffer.concat(parts, Math.min(n, length));
    });
  }

  /**
   * The images matching `filters` (Glance filters on name, status and any image property, e.g.
   * { pulumi_esx_capture: tag }), every page. Retried like GET.
   */
  async listImages(filters: Record<string, string>): Promise<GlanceImage[]> {
    const base = await this.base();
    const out: GlanceImage[] = [];
    let url: string | undefined = `${base}/v2/images?${new URLSearchParams({ ...filters, limit: "100" })}`;
    for (let page = 0; url && page < 1000; page++) {
      const u: string = url;
      const body = await withRetry(this.policy, async () => {
        const res = await this.request("list images", undefined, "GET", u);
        if (res.statusCode !== 200) throw this.httpError("list images", undefined, res);
        return JSON.parse(res.body) as { images?: unknown[]; next?: unknown };
      });
      for (const i of body.images ?? []) out.push(parseImage(i));
      url = typeof body.next === "string" && body.images?.length ? `${base}${body.next}` : undefined;
    }
    return out;
  }

  /** Deletes the image; an image that is already gone (404) counts as deleted. */
  async deleteImage(id: string): Promise<void> {
    await withRetry(this.policy, async () => {
      const res = await this.request("delete image", id, "DELETE", await this.imageUrl(id));
      if (res.statusCode !== 204 && res.statusCode !== 200 && res.statusCode !== 404) {
        throw this.httpError("delete image", id, res);
      }
    });
  }

  /** Glance's base URL without /v2; resolved once (a failed lookup is tried again on the next call). */
  private base(): Promise<string> {
    const e = this.endpoint;
    this.basePromise ??= (typeof e === "string" ? Promise.resolve(e) : e()).then(
      (u) => u.replace(/\/+$/, "").replace(/\/v2$/, ""),
      (err) => {
        this.basePromise = undefined;
        throw err;
      },
    );
    return this.basePromise;
  }

  private async imageUrl(id: string): Promise<string> {
    return `${await this.base()}/v2/images/${encodeURIComponent(id)}`;
  }

  private headers(token: string | undefined, extra?: Record<string, string>): Headers {
    const h: Headers = { accept: "application/json", "user-agent": "pulumi-esx", ...extra };
    if (token) h["x-auth-token"] = token;
    return h;
  }

  /**
   * Sends with a token; on 401 asks the token source for a fresh one and sends exactly once more, if the request
   * can be replayed. `send` returns the response status and a way to discard the response.
   */
  private async withToken<T extends { statusCode: number }>(
    replayable: boolean,
    minValidityMs: number | undefined,
    send: (token: string | undefined) => Promise<T>,
    discard: (r: T) => void = () => undefined,
  ): Promise<T> {
    const first = await this.auth.token(minValidityMs);
    const res = await send(first);
    if (res.statusCode !== 401) return res;
    if (!this.auth.refused(first) || !replayable) return res;
    discard(res);
    return send(await this.auth.token(minValidityMs));
  }

  private transferTimeouts(): { connect: number; socket: number; response: number } {
    return { connect: this.timeoutMs, socket: this.timeoutMs, response: this.timeoutMs };
  }

  private async request(
    operation: string,
    imageId: string | undefined,
    method: "GET" | "POST" | "PUT" | "DELETE",
    url: string,
    extra: {
      json?: unknown;
      body?: Readable | Buffer;
      headers?: Record<string, string>;
      timeout?: object;
      minValidityMs?: number;
    } = {},
  ): Promise<Response<string>> {
    const got: Got = await loadGot();
    const replayable = !(extra.body !== undefined && !Buffer.isBuffer(extra.body));
    const res = await this.withToken(replayable, extra.minValidityMs, async (token) => {
      try {
        return await got(url, {
          method,
          headers: this.headers(token, extra.headers),
          json: extra.json,
          body: extra.body,
          throwHttpErrors: false,
          retry: { limit: 0 },
          timeout: extra.timeout ?? { request: this.timeoutMs },
          responseType: "text",
        });
      } catch (e) {
        throw transportError(operation, imageId, e);
      }
    });
    if (res.statusCode === 401) throw this.unauthorized(operation, imageId, res.body, replayable);
    return res;
  }

  private unauthorized(operation: string, imageId: string | undefined, body: string, replayable: boolean): GlanceError {
    const why = replayable
      ? `Glance refused the token from ${this.auth.describe}`
      : `Glance refused the token from ${this.auth.describe}; the upload was not retried (its data stream cannot be replayed)`;
    return new GlanceError({ operation, imageId, status: 401, glanceMessage: `${parseGlanceMessage(body)} (${why})` });
  }

  private async openStream(id: string): Promise<{ stream: Readable; response: Response }> {
    const got: Got = await loadGot();
    const op = "download image data";
    const url = `${await this.imageUrl(id)}/file`;
    const opened = await this.withToken(
      true,
      TRANSFER_TOKEN_VALIDITY_MS,
      async (token) => {
        const stream = got.stream(url, {
          headers: this.headers(token, { accept: "application/octet-stream" }),
          throwHttpErrors: false,
          retry: { limit: 0 },
          decompress: false,
          timeout: this.transferTimeouts(),
        });
        const response = await responseOf(stream, op, id);
        return { statusCode: response.statusCode, stream, response };
      },
      (r) => r.stream.destroy(),
    );
    const { stream, response } = opened;
    if (response.statusCode !== 200) {
      const body = await readSome(stream, MAX_ERROR_BODY);
      stream.destroy();
      if (response.statusCode === 401) throw this.unauthorized(op, id, body, true);
      const message = response.statusCode === 204 ? "Glance has no data for this image (204 No Content)" : parseGlanceMessage(body);
      throw new GlanceError({ operation: op, imageId: id, status: response.statusCode, glanceMessage: message });
    }
    return { stream, response };
  }

  private httpError(operation: string, imageId: string | undefined, res: Response<string>): GlanceError {
    return new GlanceError({ operation, imageId, status: res.statusCode, glanceMessage: parseGlanceMessage(res.body) });
  }
}

/** Waits for a got stream's response (or its transport error). */
function responseOf(stream: Readable, op: string, id: string): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const onError = (e: unknown): void => {
      stream.off("response", onResponse);
      reject(transportError(op, id, e));
    };
    const onResponse = (r: Response): void => {
      stream.off("error", onError);
      resolve(r);
    };
    stream.once("error", onError);
    stream.once("response", onResponse);
  });
}

/** Wraps a got transport error without keeping it: got errors hold the request options, token included. */
function transportError(operation: string, imageId: string | undefined, e: unknown): GlanceError {
  if (e instanceof GlanceError) return e;
  const err = e as { code?: unknown; message?: unknown };
  return new GlanceError({
    operation,
    imageId,
    code: typeof err.code === "string" ? err.code : undefined,
    glanceMessage: typeof err.message === "string" ? err.message : String(e),
  });
}

async function readSome(stream: Readable, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of stream) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
      chunks.push(b);
      n += b.length;
      if (n >= max) break;
    }
  } catch {
    /* the body is only for the message */
  }
  return Buffer.concat(chunks).subarray(0, max).toString("utf8");
}
