/**
 * Virtual disks through the VirtualDiskManager (delete, consolidating copy), the VMs that use a disk as a
 * linked-clone parent, and streaming a disk's extent off the datastore.
 */
import type { Readable } from "node:stream";
import type { Got, Response } from "got" with { "resolution-mode": "import" };
import { loadGot } from "../http/got";
import { VimFault } from "../vim/faults";
import { retrieveInventory } from "../vim/property-collector";
import { runTask } from "../vim/tasks";
import { list } from "../vim/xml";
import { HostContext } from "./host";
import { DatastoreHttpError, DsFile, folderUrl } from "./transfer";

/** DeleteVirtualDisk_Task (descriptor and extents); a missing disk is fine. */
export async function deleteVirtualDisk(ctx: HostContext, datastorePath: string): Promise<void> {
  try {
    await runTask(ctx.session, "DeleteVirtualDisk_Task", ctx.virtualDiskManager, { name: datastorePath, datacenter: ctx.datacenter });
  } catch (e) {
    if (e instanceof VimFault && e.is("FileNotFound", "NotFound")) return;
    throw e;
  }
}

function norm(p: string): string {
  return p.replace(/^\s*\[([^\]]+)\]\s*/, "[$1] ").trim();
}

/** The parent file names of a disk backing's chain (parent, grandparent, ...). */
function parentChain(backing: any): string[] {
  const out: string[] = [];
  for (let b = backing?.parent, depth = 0; b && depth < 64; b = b.parent, depth++) {
    if (typeof b.fileName === "string") out.push(b.fileName);
  }
  return out;
}

/** Names of the VMs with a disk whose backing chain has `datastorePath` as a parent (linked clones of it). */
export async function vmsUsingParentDisk(ctx: HostContext, datastorePath: string): Promise<string[]> {
  const want = norm(datastorePath);
  const vms = await retrieveInventory(ctx.session, { VirtualMachine: ["name", "config.hardware.device"] });
  const names: string[] = [];
  for (const vm of vms) {
    if (vm.ref.type !== "VirtualMachine") continue;
    const raw = vm.props["config.hardware.device"];
    const devices = list<any>(raw?.VirtualDevice ?? raw);
    const uses = devices.some((d) => parentChain(d?.backing).some((f) => norm(f) === want));
    if (uses) names.push(String(vm.props.name ?? vm.ref.value));
  }
  return names.sort();
}

/**
 * CopyVirtualDisk_Task into a new thin disk. Copying a child disk (a snapshot or linked-clone delta) consolidates
 * its whole chain into the copy: the result has no parent. A host (no vCenter) needs destSpec.
 */
export function copyVirtualDisk(ctx: HostContext, source: string, dest: string, adapterType: "lsiLogic" | "busLogic" | "ide"): Promise<void> {
  return runTask(ctx.session, "CopyVirtualDisk_Task", ctx.virtualDiskManager, {
    sourceName: source,
    sourceDatacenter: ctx.datacenter,
    destName: dest,
    destDatacenter: ctx.datacenter,
    destSpec: { _type: "VirtualDiskSpec", diskType: "thin", adapterType },
    force: false,
  });
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
  const agent = ctx.session.agent as any;
  const stream = got.stream(folderUrl(ctx, f), {
    headers: { cookie: await ctx.session.cookieHeader(), "user-agent": "pulumi-esx" },
    agent: { https: agent, http: agent },
    throwHttpErrors: false,
    retry: { limit: 0 },
    followRedirect: false,
    decompress: false,
    timeout: { connect: 60_000, socket: idleTimeoutMs },
  });
  const res = await new Promise<Response>((resolve, reject) => {
    stream.once("error", (e) => reject(new Error(`GET [${f.datastore}] ${f.path} failed: ${e.message}`)));
    stream.once("response", resolve);
  });
  if (res.statusCode !== 200) {
    stream.destroy();
    throw new DatastoreHttpError("GET", `[${f.datastore}] ${f.path}`, res.statusCode, "");
  }
  return { stream, size: Number(res.headers["content-length"] ?? NaN) };
}
