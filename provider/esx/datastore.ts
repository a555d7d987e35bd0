/**
 * Datastores of the host and their files through the FileManager: datastore paths ("[ds] dir/file"), the
 * default datastore, directories and deletes. File contents go over HTTP (see transfer.ts).
 */
import { VimFault, VimTransportError } from "../vim/faults";
import { runTask } from "../vim/tasks";
import { DatastoreInfo, HostContext } from "./host";

/** "[ds] rel/path" */
export function dsPath(datastore: string, rel: string): string {
  return `[${datastore}] ${rel}`;
}

/** Splits "[ds] rel/path" into its parts; undefined if it is not a datastore path. */
export function parseDsPath(p: string): { datastore: string; path: string } | undefined {
  const m = /^\s*\[([^\]]+)\]\s*(.*)$/.exec(p);
  return m ? { datastore: m[1], path: m[2].trim() } : undefined;
}

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

/** MakeDirectory; true when created, false when it already existed. */
/**
 * MakeDirectory; true when created, false when it already existed. When the answer is lost (transport error) it
 * is sent once more: a directory found then counts as already existing (so a lock whose answer was lost is
 * not taken, only waited out as stale).
 */
export async function makeDirectory(ctx: HostContext, path: string, parents = false): Promise<boolean> {
  const mk = () => ctx.session.call("MakeDirectory", ctx.fileManager, { name: path, datacenter: ctx.datacenter, createParentDirectories: parents });
  try {
    await mk().catch((e) => {
      if (e instanceof VimTransportError) return mk();
      throw e;
    });
    return true;
  } catch (e) {
    if (e instanceof VimFault && e.is("FileAlreadyExists")) return false;
    throw e;
  }
}

/** DeleteDatastoreFile_Task of a file or directory (recursively); a missing one is fine. */
export async function deleteDatastoreFile(ctx: HostContext, path: string): Promise<void> {
  const del = () => runTask(ctx.session, "DeleteDatastoreFile_Task", ctx.fileManager, { name: path, datacenter: ctx.datacenter });
  try {
    // A delete whose answer was lost is sent once more (a file already gone is fine).
    await del().catch((e) => {
      if (e instanceof VimTransportError) return del();
      throw e;
    });
  } catch (e) {
    if (e instanceof VimFault && e.is("FileNotFound")) return;
    throw e;
  }
}
