/**
 * Datastore file transfers over the host's `/folder` HTTP endpoint
 * (`<base>/folder/<path>?dcPath=<datacenter>&dsName=<ds>`), with the API session's cookie and TLS agent (the
 * pinned certificate). Every answer's status is checked; bodies stream, nothing is buffered beyond small files.
 * This is the only module that moves file contents between the provider and a datastore.
 */
import type * as https from "node:https";
import type { Readable } from "node:stream";
import type { Got, Response } from "got" with { "resolution-mode": "import" };
import { loadGot } from "../http/got";
import { HostContext } from "./host";

export class DatastoreHttpError extends Error {
  override name = "DatastoreHttpError";
  constructor(
    readonly method: string,
    readonly file: string,
    readonly status: number,
    body: string,
  ) {
    super(`${method} [datastore] ${file} answered HTTP ${status}${body ? `: ${body.replace(/\s+/g, " ").trim().slice(0, 300)}` : ""}`);
  }
}

export interface DsFile {
  datastore: string;
  /** Path inside the datastore, "dir/file". */
  path: string;
}

export function folderUrl(ctx: HostContext, f: DsFile): string {
  const rel = f.path.split("/").filter(Boolean).map(encodeURIComponent).join("/");
  return `${ctx.session.endpoint.baseUrl}/folder/${rel}?dcPath=${encodeURIComponent(ctx.datacenterName)}&dsName=${encodeURIComponent(f.datastore)}`;
}

function options(ctx: HostContext, cookie: string, extra: Record<string, string> = {}) {
  // One agent serves both schemes: an https.Agent with the TLS pin for a real host, a plain one for http:// hosts.
  const agent = ctx.session.agent;
  return {
    headers: { cookie, "user-agent": "pulumi-esx", ...extra },
    agent: { https: agent as https.Agent, http: agent },
    throwHttpErrors: false,
    retry: { limit: 0 },
    followRedirect: false,
    decompress: false,
  };
}

/**
 * Sends a request with the session's cookie; an HTTP 401 (the session expired on the host) logs in again and
 * sends it once more (only for requests that can be repeated: no streamed body).
 */
async function authed<R extends { statusCode: number }>(ctx: HostContext, send: (cookie: string) => Promise<R>): Promise<R> {
  const cookie = await ctx.session.cookieHeader();
  const res = await send(cookie);
  if (res.statusCode !== 401) return res;
  return send(await ctx.session.renewCookie(cookie));
}

function label(f: DsFile): string {
  return `[${f.datastore}] ${f.path}`;
}

export interface FileStat {
  size: number;
  /** Age of the file by the host's own clock (Date - Last-Modified), ms; undefined without those headers. */
  ageMs?: number;
}

/** HEAD: size and age of a file, or undefined when it does not exist (404). */
export async function statFile(ctx: HostContext, f: DsFile): Promise<FileStat | undefined> {
  const got: Got = await loadGot();
  const res = await authed(ctx, (cookie) => got.head(folderUrl(ctx, f), { ...options(ctx, cookie), timeout: { request: 60_000 } }));
  if (res.statusCode === 404) return undefined;
  if (res.statusCode !== 200) throw new DatastoreHttpError("HEAD", label(f), res.statusCode, "");
  const out: FileStat = { size: Number(res.headers["content-length"] ?? NaN) };
  const date = Date.parse(String(res.headers.date ?? ""));
  const mod = Date.parse(String(res.headers["last-modified"] ?? ""));
  if (Number.isFinite(date) && Number.isFinite(mod)) out.ageMs = date - mod;
  return out;
}

/** GET of a small file as text, or undefined when it does not exist. */
export async function readSmallFile(ctx: HostContext, f: DsFile, max = 1024 * 1024): Promise<string | undefined> {
  const got: Got = await loadGot();
  const res: Response<string> = await authed(ctx, (cookie) =>
    got.get(folderUrl(ctx, f), { ...options(ctx, cookie), responseType: "text", timeout: { request: 60_000 } }),
  );
  if (res.statusCode === 404) return undefined;
  if (res.statusCode !== 200) throw new DatastoreHttpError("GET", label(f), res.statusCode, res.body);
  if (res.body.length > max) throw new Error(`${label(f)} is larger than ${max} bytes`);
  return res.body;
}

/** PUT of a small file. */
export async function writeSmallFile(ctx: HostContext, f: DsFile, body: string | Buffer): Promise<void> {
  const got: Got = await loadGot();
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8");
  const res = await authed(ctx, (cookie) =>
    got.put(folderUrl(ctx, f), {
      ...options(ctx, cookie, { "content-type": "application/octet-stream", "content-length": String(buf.length) }),
      body: buf,
      responseType: "text",
      timeout: { request: 60_000 },
    }),
  );
  if (res.statusCode !== 200 && res.statusCode !== 201) throw new DatastoreHttpError("PUT", label(f), res.statusCode, res.body);
}

/**
 * Streams `body` (exactly `length` bytes) into a file. If the body stream fails, that error is thrown (not the
 * transport error it causes); otherwise a non-2xx answer is a DatastoreHttpError. `idleTimeoutMs` bounds stalls.
 */
export async function uploadStream(ctx: HostContext, f: DsFile, body: Readable, length: number, idleTimeoutMs = 120_000): Promise<void> {
  const got: Got = await loadGot();
  let bodyError: unknown;
  body.once("error", (e) => (bodyError ??= e));
  // A streamed body cannot be sent twice: make sure the session's cookie is accepted first (a HEAD, renewing
  // an expired session), so that the upload is not refused after it has consumed the stream.
  await statFile(ctx, f);
  const cookie = await ctx.session.cookieHeader();
  let res: Response<string>;
  try {
    res = await got.put(folderUrl(ctx, f), {
      ...options(ctx, cookie, { "content-type": "application/octet-stream", "content-length": String(length) }),
      body,
      responseType: "text",
      timeout: { connect: 60_000, socket: idleTimeoutMs, response: idleTimeoutMs * 10 },
    });
  } catch (e) {
    throw bodyError ?? new Error(`PUT ${label(f)} failed: ${(e as Error).message}`);
  }
  if (bodyError) throw bodyError;
  if (res.statusCode !== 200 && res.statusCode !== 201) throw new DatastoreHttpError("PUT", label(f), res.statusCode, res.body);
}

/** A datastore file opened for streaming over /folder (GET, session cookie, the host's TLS agent). */
export interface OpenedFile {
  stream: Readable;
  /** Content-Length the host announced. */
  size: number;
}

/** GET of a datastore file as a stream; the status is checked before the body is handed out. */
export async function openDatastoreFile(ctx: HostContext, f: DsFile, idleTimeoutMs = 120_000): Promise<OpenedFile> {
  const got: Got = await loadGot();
  const stream = got.stream(folderUrl(ctx, f), {
    ...options(ctx, await ctx.session.cookieHeader()),
    timeout: { connect: 60_000, socket: idleTimeoutMs },
  });
  const res = await new Promise<Response>((resolve, reject) => {
    stream.once("error", (e) => reject(new Error(`GET ${label(f)} failed: ${e.message}`)));
    stream.once("response", resolve);
  });
  if (res.statusCode !== 200) {
    stream.destroy();
    throw new DatastoreHttpError("GET", label(f), res.statusCode, "");
  }
  return { stream, size: Number(res.headers["content-length"] ?? NaN) };
}
