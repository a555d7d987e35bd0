/**
 * VM snapshots: take one (CreateSnapshot_Task, no memory, no quiescing: the disk state at that moment, crash
 * consistent, while the VM keeps running on a new delta), the disks as they were when it was taken (the
 * snapshot's config.hardware.device), the snapshots a VM has, and removing one (RemoveSnapshot_Task, consolidating).
 */
import { retrieveOne } from "../vim/property-collector";
import { runTask } from "../vim/tasks";
import { VimFault } from "../vim/faults";
import { list, MoRef } from "../vim/xml";
import { HostContext } from "./host";
import { HostDevices, parseDevices } from "./devices";

export function createSnapshot(ctx: HostContext, vm: MoRef, name: string, description: string): Promise<MoRef> {
  return runTask<MoRef>(ctx.session, "CreateSnapshot_Task", vm, { name, description, memory: false, quiesce: false });
}

/** RemoveSnapshot_Task (children kept, consolidate); a snapshot that is already gone is fine. */
export async function removeSnapshot(ctx: HostContext, snapshot: MoRef): Promise<void> {
  try {
    await runTask(ctx.session, "RemoveSnapshot_Task", snapshot, { removeChildren: false, consolidate: true });
  } catch (e) {
    if (e instanceof VimFault && e.is("ManagedObjectNotFound")) return;
    throw e;
  }
}

/** The VM's devices as they were when the snapshot was taken; undefined if the snapshot does not exist. */
export async function snapshotDevices(ctx: HostContext, snapshot: MoRef): Promise<HostDevices | undefined> {
  const p = await retrieveOne(ctx.session, snapshot, ["config.hardware.device"]);
  return p ? parseDevices(p["config.hardware.device"]) : undefined;
}

export interface SnapshotInfo {
  ref: MoRef;
  name: string;
}

/** Every snapshot of the VM (the whole tree, depth first); [] when it has none or the VM is gone. */
export async function vmSnapshots(ctx: HostContext, vm: MoRef): Promise<SnapshotInfo[]> {
  const p = await retrieveOne(ctx.session, vm, ["snapshot"]);
  const out: SnapshotInfo[] = [];
  const walk = (nodes: unknown, depth: number): void => {
    if (depth > 64) return;
    for (const n of list<any>((nodes as any)?.VirtualMachineSnapshotTree ?? nodes)) {
      if (n?.snapshot)
        out.push({ ref: { type: "VirtualMachineSnapshot", value: String(n.snapshot.value ?? n.snapshot._ ?? n.snapshot) }, name: String(n.name ?? "") });
      walk(n?.childSnapshotList, depth + 1);
    }
  };
  walk(p?.snapshot?.rootSnapshotList, 0);
  return out;
}
