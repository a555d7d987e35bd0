/**
 * VM snapshots as the capture uses them: the snapshots a VM has (the whole tree), the VM's devices as a
 * snapshot has them, and removing one (consolidating; a snapshot already gone is fine).
 */
import { HostContext } from "../esx/host";
import { VirtualMachine } from "../esx/virtual-machine";
import { VirtualMachineSnapshot } from "../esx/virtual-machine-snapshot";
import type { VirtualMachineSnapshotTree } from "../vim/types.generated";
import type { MoRef } from "../vim/xml";
import { HostDevices, parseDevices } from "./devices";
import { EsxHost } from "./host";
import { isFault } from "./host-calls";

export interface SnapshotInfo {
  ref: MoRef<"VirtualMachineSnapshot">;
  name: string;
}

/** Every snapshot of the VM (the whole tree, depth first); [] when it has none or the VM is gone. */
export async function vmSnapshots(ctx: HostContext, vm: MoRef<"VirtualMachine">): Promise<SnapshotInfo[]> {
  const p = await new VirtualMachine(ctx.session, vm).properties(["snapshot"]);
  const out: SnapshotInfo[] = [];
  const walk = (nodes: VirtualMachineSnapshotTree[] | undefined, depth: number): void => {
    if (depth > 64) return;
    for (const n of nodes ?? []) {
      if (n.snapshot) out.push({ ref: { type: "VirtualMachineSnapshot", value: n.snapshot.value }, name: String(n.name ?? "") });
      walk(n.childSnapshotList, depth + 1);
    }
  };
  walk(p?.snapshot?.rootSnapshotList, 0);
  return out;
}

/** The VM's devices as they were when the snapshot was taken; undefined if the snapshot does not exist. */
export async function snapshotDevices(host: EsxHost, snapshot: MoRef<"VirtualMachineSnapshot">): Promise<HostDevices | undefined> {
  const p = await new VirtualMachineSnapshot(host.session, snapshot).properties(["config.hardware.device"]);
  return p ? parseDevices(p["config.hardware.device"]) : undefined;
}

/** RemoveSnapshot_Task (children kept, consolidate); a snapshot that is already gone is fine. */
export async function removeSnapshot(host: EsxHost, snapshot: MoRef<"VirtualMachineSnapshot">): Promise<void> {
  try {
    await (await new VirtualMachineSnapshot(host.session, snapshot).remove(false, true)).wait();
  } catch (e) {
    if (isFault(e, "ManagedObjectNotFound")) return;
    throw e;
  }
}
