/**
 * Coordination of EsxImage resources that share one image copy ([ds] <folder>/<glance id>/), across plugin
 * processes and stacks, using only the datastore:
 *
 * - Lock: the directory `<folder>/<glance id>.lock`, created with MakeDirectory (atomic: a second creator gets
 *   FileAlreadyExists). The holder writes `owner` inside it and rewrites it every `heartbeatMs`; a lock whose
 *   `owner` is older than `staleMs` by the host's own clock (HTTP Date - Last-Modified), or that has no `owner`
 *   for `staleMs` of waiting, is stale: it is deleted and taken. Import, adopt and delete each run under the lock.
 * - References: `<dir>/refs.json` lists the ids of the resources using the copy (read-modify-write under the
 *   lock). Delete removes its id and removes the disk only when no id is left. A resource's id is derived from
 *   its URN (referenceId), so adding it again (the rerun of a create killed after refs.json was written) is a
 *   no-op, not a second, orphaned entry. Resources made before that (or without a URN) have random ids.
 */
import * as crypto from "node:crypto";
import * as os from "node:os";
import { HostContext } from "../../esx/host";
import { dsPath } from "../../esx/datastore";
import { readSmallFile, statFile, writeSmallFile } from "../../esx/transfer";
import { deleteDatastorePath, makeDirectory } from "../files";
import { EsxHost, Logger } from "../host";

export interface LockOptions {
  /** Default: the driver's lockStaleMs (PULUMI_ESX_LOCK_STALE_MS). */
  staleMs?: number;
  heartbeatMs?: number;
  pollMs?: number;
  timeoutMs?: number;
  log?: Logger;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function withDatastoreLock<T>(host: EsxHost, datastore: string, lockDir: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const ctx = host.ctx;
  const staleMs = options.staleMs ?? host.driver.options.lockStaleMs;
  const heartbeatMs = options.heartbeatMs ?? Math.min(20_000, staleMs / 4);
  const pollMs = options.pollMs ?? 1000;
  const deadline = Date.now() + (options.timeoutMs ?? 6 * 3600_000);
  const owner = { datastore, path: `${lockDir}/owner` };
  const me = JSON.stringify({ host: os.hostname(), pid: process.pid, since: new Date().toISOString() });
  let missingSince: number | undefined;
  let lastLog = 0;
  for (;;) {
    if (await makeDirectory(host, dsPath(datastore, lockDir))) break;
    const st = await statFile(ctx, owner);
    const now = Date.now();
    let stale: boolean;
    if (!st) {
      missingSince ??= now;
      stale = now - missingSince > staleMs;
    } else {
      missingSince = undefined;
      stale = st.ageMs !== undefined && st.ageMs > staleMs;
    }
    if (stale) {
      options.log?.(`lock ${dsPath(datastore, lockDir)} is stale (holder stopped updating it): taking it over`);
      await deleteDatastorePath(host, dsPath(datastore, lockDir));
      missingSince = undefined;
      continue;
    }
    if (now > deadline) throw new Error(`timed out waiting for the lock ${dsPath(datastore, lockDir)} (another import of this image is running)`);
    if (now - lastLog > 10_000) {
      options.log?.(`waiting for another import of this image to finish (lock ${dsPath(datastore, lockDir)})`);
      lastLog = now;
    }
    await sleep(pollMs);
  }
  try {
    await writeSmallFile(ctx, owner, me);
  } catch (e) {
    await deleteDatastorePath(host, dsPath(datastore, lockDir)).catch(() => undefined);
    throw e;
  }
  let beating = Promise.resolve();
  const timer = setInterval(() => {
    beating = beating.then(() => writeSmallFile(ctx, owner, me)).catch(() => undefined);
  }, heartbeatMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
    await beating;
    await deleteDatastorePath(host, dsPath(datastore, lockDir)).catch((e) => {
      options.log?.(`could not remove the lock ${dsPath(datastore, lockDir)}: ${(e as Error).message} (it expires after ${staleMs / 1000} s)`);
    });
  }
}

/**
 * The reference (and resource) id: a hash of the URN and the inputs that place the copy, so the rerun of an
 * interrupted create gets the same id while a replacement of the same URN with other inputs (say a host alias
 * naming the same host) gets another; random without a URN.
 */
export function referenceId(urn: string | undefined, placement: Record<string, unknown>): string {
  if (!urn) return crypto.randomUUID();
  const keys = Object.keys(placement).sort();
  const h = crypto
    .createHash("sha256")
    .update(JSON.stringify([urn, keys.map((k) => [k, placement[k] ?? null])]))
    .digest("hex");
  return `urn-${h.slice(0, 32)}`;
}

interface RefsFile {
  refs: Record<string, { since: string }>;
}

async function readRefs(ctx: HostContext, datastore: string, dir: string): Promise<RefsFile> {
  const text = await readSmallFile(ctx, { datastore, path: `${dir}/refs.json` });
  if (!text) return { refs: {} };
  try {
    const j = JSON.parse(text);
    return { refs: j && typeof j.refs === "object" && j.refs ? j.refs : {} };
  } catch {
    return { refs: {} };
  }
}

/** Ids of the resources recorded as users of the copy. */
export async function refIds(ctx: HostContext, datastore: string, dir: string): Promise<string[]> {
  return Object.keys((await readRefs(ctx, datastore, dir)).refs);
}

/** Records `id` as a user of the copy (call under the lock); false when it already was (nothing written). */
export async function addRef(ctx: HostContext, datastore: string, dir: string, id: string): Promise<boolean> {
  const r = await readRefs(ctx, datastore, dir);
  if (r.refs[id]) return false;
  r.refs[id] = { since: new Date().toISOString() };
  await writeSmallFile(ctx, { datastore, path: `${dir}/refs.json` }, JSON.stringify(r, null, 1));
  return true;
}

/** Removes `id`; returns the ids still using the copy (call under the lock). */
export async function removeRef(ctx: HostContext, datastore: string, dir: string, id: string): Promise<string[]> {
  const r = await readRefs(ctx, datastore, dir);
  delete r.refs[id];
  const left = Object.keys(r.refs);
  if (left.length) await writeSmallFile(ctx, { datastore, path: `${dir}/refs.json` }, JSON.stringify(r, null, 1));
  return left;
}
