/**
 * The image cache on a datastore: one copy of an image per datastore and folder, at
 * `[ds] <folder>/<id>/<id>.vmdk` (+ `-flat.vmdk`, `image.json`), shared by every resource that names it. Placing a
 * copy runs under the datastore lock (cache-lock.ts): a finished copy is adopted, else the byte source fills the
 * directory; each user is recorded in `refs.json`, and the last one to leave removes the copy (never while VMs
 * use it as a linked-clone parent). The cache does not know where bytes come from: the caller passes the fill
 * (glance-import.ts today).
 */
import { dsPath, normalDsPath } from "../../esx/datastore";
import { virtualMachines } from "../../esx/inventory";
import { readSmallFile, statFile } from "../../esx/transfer";
import { parseDescriptor } from "../../vmdk";
import type { VirtualDiskFlatVer2BackingInfo } from "../../vim/types.generated";
import { DiskType, parseDiskType } from "../../hardware";
import { deleteDatastorePath, deleteVirtualDisk, makeDirectory } from "../files";
import { EsxHost, Logger } from "../host";
import { addRef, refIds, removeRef, withDatastoreLock } from "./cache-lock";
import { ImportedImage, ImportTarget } from "./glance-import";
import { imageAdapterType } from "./properties";
import { ADAPTERS } from "../../hardware";

/** Which copy: the image's id (names its directory and files) in a folder of a datastore. */
export interface CacheKey {
  datastore: string;
  folder: string;
  id: string;
}

/** Where a copy lives in its datastore. */
export function imageLocation(folder: string, id: string) {
  const dir = `${folder}/${id}`;
  return { dir, lock: `${dir}.lock`, descriptor: `${dir}/${id}.vmdk`, flat: `${dir}/${id}-flat.vmdk` };
}

interface ImageMetadata {
  sourceFormat?: unknown;
  adapterType?: unknown;
  diskType?: unknown;
  checksum?: unknown;
  sizeBytes?: unknown;
}

/** The finished copy (descriptor present, -flat as large as the descriptor says), or undefined if there is none. */
export async function readFinished(host: EsxHost, key: CacheKey): Promise<ImportedImage | undefined> {
  const { datastore: ds } = key;
  const loc = imageLocation(key.folder, key.id);
  const text = await readSmallFile(host.ctx, { datastore: ds, path: loc.descriptor });
  if (text === undefined) return undefined;
  const d = parseDescriptor(text);
  const st = await statFile(host.ctx, { datastore: ds, path: loc.flat });
  if (!st || st.size !== d.capacityBytes) {
    throw new Error(
      `${dsPath(ds, loc.descriptor)} exists but its extent is ${st ? `${st.size} bytes, not ${d.capacityBytes}` : "missing"}: ` +
        `the copy is damaged; remove [${ds}] ${loc.dir} (after the VMs using it) and run again`,
    );
  }
  let meta: ImageMetadata = {};
  try {
    meta = JSON.parse((await readSmallFile(host.ctx, { datastore: ds, path: `${loc.dir}/image.json` })) ?? "{}") as ImageMetadata;
  } catch {
    /* a copy without metadata: descriptor values only */
  }
  return {
    capacityBytes: d.capacityBytes,
    sourceFormat: typeof meta.sourceFormat === "string" ? meta.sourceFormat : "unknown",
    adapterType: ADAPTERS[imageAdapterType(typeof meta.adapterType === "string" ? meta.adapterType : undefined, d.adapterType)].glance,
    diskType: (typeof meta.diskType === "string" ? parseDiskType(meta.diskType) : undefined) ?? (d.thinProvisioned ? "thin" : "thick"),
    checksum: typeof meta.checksum === "string" ? meta.checksum : "",
    sizeBytes: typeof meta.sizeBytes === "number" ? meta.sizeBytes : null,
  };
}

/** The descriptor and an extent of the recorded size are on the datastore. */
export async function copyIsPresent(host: EsxHost, key: CacheKey, capacityBytes: number): Promise<boolean> {
  const loc = imageLocation(key.folder, key.id);
  const desc = await statFile(host.ctx, { datastore: key.datastore, path: loc.descriptor });
  const flat = await statFile(host.ctx, { datastore: key.datastore, path: loc.flat });
  return !!desc && !!flat && flat.size === capacityBytes;
}

export interface PlacedImage {
  info: ImportedImage;
  /** True when this call filled the copy; false when it adopted a finished one. */
  imported: boolean;
}

/**
 * Places the copy for the user `ref`: under the lock, adopts a finished copy (its disk type must match
 * `diskType` when one is asked for), or removes an unfinished one and calls `fill` to write it; records `ref`.
 * On a failed fill the directory is removed.
 */
export async function placeImage(
  host: EsxHost,
  key: CacheKey,
  ref: string,
  diskType: DiskType | undefined,
  fill: (target: ImportTarget) => Promise<ImportedImage>,
  log: Logger,
): Promise<PlacedImage> {
  const { datastore: ds } = key;
  return underCopyLock(host, key, log, async (loc) => {
    const existing = await readFinished(host, key);
    if (existing) {
      if (diskType && existing.diskType !== diskType) {
        throw new Error(
          `the copy at ${dsPath(ds, loc.descriptor)} is ${existing.diskType}, not ${diskType}: use diskType ${existing.diskType} or another folder`,
        );
      }
      if (await addRef(host.ctx, ds, loc.dir, ref)) log(`adopting the finished copy at ${dsPath(ds, loc.descriptor)}`);
      else log(`the finished copy at ${dsPath(ds, loc.descriptor)} already lists this resource (an interrupted create): using it`);
      return { info: existing, imported: false };
    }
    await deleteDatastorePath(host, dsPath(ds, loc.dir)); // leftovers of an interrupted import
    await makeDirectory(host, dsPath(ds, loc.dir));
    try {
      const done = await fill({ datastore: ds, dir: loc.dir, base: key.id });
      await addRef(host.ctx, ds, loc.dir, ref);
      return { info: done, imported: true };
    } catch (e) {
      await deleteDatastorePath(host, dsPath(ds, loc.dir)).catch((d) => log(`could not remove [${ds}] ${loc.dir} after the failure: ${(d as Error).message}`));
      throw e;
    }
  });
}

/** Runs `fn` holding the copy's datastore lock (the folder is made first: the lock directory lives in it). */
async function underCopyLock<T>(host: EsxHost, key: CacheKey, log: Logger, fn: (loc: ReturnType<typeof imageLocation>) => Promise<T>): Promise<T> {
  const loc = imageLocation(key.folder, key.id);
  await makeDirectory(host, dsPath(key.datastore, key.folder), true);
  return withDatastoreLock(host, key.datastore, loc.lock, () => fn(loc), { log });
}

/** The parent file names of a disk backing's chain (parent, grandparent, ...). */
function parentChain(backing: VirtualDiskFlatVer2BackingInfo | undefined): string[] {
  const out: string[] = [];
  for (let b = backing?.parent, depth = 0; b && depth < 64; b = b.parent, depth++) {
    if (typeof b.fileName === "string") out.push(b.fileName);
  }
  return out;
}

/** Names of the VMs with a disk whose backing chain has `datastorePath` as a parent (linked clones of it). */
export async function vmsUsingParentDisk(host: EsxHost, datastorePath: string): Promise<string[]> {
  const want = normalDsPath(datastorePath);
  const names: string[] = [];
  for (const { vm, props } of await virtualMachines(host.ctx, ["name", "config.hardware.device"])) {
    const uses = (props["config.hardware.device"] ?? []).some((d) =>
      parentChain(d.backing as VirtualDiskFlatVer2BackingInfo | undefined).some((f) => normalDsPath(f) === want),
    );
    if (uses) names.push(String(props.name ?? vm.id));
  }
  return names.sort();
}

/**
 * Drops the user `ref` of the copy; the last one removes the disk and its directory, unless VMs still use the
 * disk as a linked-clone parent (then it refuses, naming them, and removes nothing).
 */
export async function releaseImage(host: EsxHost, key: CacheKey, ref: string, log: Logger): Promise<void> {
  const { datastore: ds } = key;
  await underCopyLock(host, key, log, async (loc) => {
    const path = dsPath(ds, loc.descriptor);
    const others = (await refIds(host.ctx, ds, loc.dir)).filter((r) => r !== ref);
    if (others.length) {
      await removeRef(host.ctx, ds, loc.dir, ref);
      log(`${others.length} other EsxImage resource(s) still use ${path}: the disk stays`);
      return;
    }
    const vms = await vmsUsingParentDisk(host, path);
    if (vms.length) throw new Error(`${path} is the linked-clone parent of VM(s) ${vms.join(", ")}: nothing was removed; delete those VMs first`);
    await deleteVirtualDisk(host, path);
    await deleteDatastorePath(host, dsPath(ds, loc.dir));
  });
}
