/** Virtual disks through the VirtualDiskManager, and the VMs that use a disk as a linked-clone parent. */
import { VimFault } from "../vim/faults";
import { retrieveInventory } from "../vim/property-collector";
import { runTask } from "../vim/tasks";
import { list } from "../vim/xml";
import { HostContext } from "./host";

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
