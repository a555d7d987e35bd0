/**
 * Datastore files and directories as the use cases need them: which datastore to use, directories made and
 * removed with a lost answer tolerated, disks deleted when present.
 */
import { DatastoreInfo, HostContext } from "../esx/host";
import { EsxHost } from "./host";
import { isFault, retryOnceOnTransportError } from "./host-calls";

/** The named datastore, or the accessible one with the most free space; errors name the host's datastores. */
export function pickDatastore(ctx: HostContext, name?: string | null): DatastoreInfo {
  const all = ctx.datastores;
  if (name) {
    const ds = all.find((d) => d.name === name);
    if (!ds) throw new Error(`datastore ${name} does not exist on the host; it has: ${all.map((d) => d.name).join(", ") || "none"}`);
    if (!ds.accessible) throw new Error(`datastore ${name} is not accessible`);
    return ds;
  }
  const usable = all.filter((d) => d.accessible).sort((a, b) => b.freeSpace - a.freeSpace);
  if (!usable.length) throw new Error("the host has no accessible datastore");
  return usable[0];
}

/**
 * MakeDirectory; true when created, false when it already existed. When the answer is lost it is sent once more:
 * a directory found then counts as already existing (so a lock whose answer was lost is not taken, only waited
 * out as stale).
 */
export async function makeDirectory(host: EsxHost, path: string, parents = false): Promise<boolean> {
  try {
    await retryOnceOnTransportError(() => host.fileManager.makeDirectory(path, host.placement.datacenter, parents));
    return true;
  } catch (e) {
    if (isFault(e, "FileAlreadyExists")) return false;
    throw e;
  }
}

/** DeleteDatastoreFile_Task of a file or directory (recursively); a missing one is fine, a lost answer is sent again. */
export async function deleteDatastorePath(host: EsxHost, path: string): Promise<void> {
  try {
    await retryOnceOnTransportError(async () => (await host.fileManager.deleteDatastoreFile(path, host.placement.datacenter)).wait());
  } catch (e) {
    if (isFault(e, "FileNotFound", "NotFound")) return;
    throw e;
  }
}

/** DeleteVirtualDisk_Task (descriptor and extents); a missing disk is fine. */
export async function deleteVirtualDisk(host: EsxHost, path: string): Promise<void> {
  try {
    await (await host.virtualDiskManager.deleteVirtualDisk(path, host.placement.datacenter)).wait();
  } catch (e) {
    if (isFault(e, "FileNotFound", "NotFound")) return;
    throw e;
  }
}
