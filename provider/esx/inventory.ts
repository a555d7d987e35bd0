/**
 * Reads across many objects of the host's inventory in one property-collector call each (never a scan of every
 * object's name): the VMs with some of their properties, the networks (port groups VMs attach to) with theirs.
 */
import { PathOf } from "../vim/managed-objects";
import { ObjectProps, retrieveInventory } from "../vim/property-collector";
import { HostContext } from "./host";
import { VirtualMachine } from "./virtual-machine";

/** Every VM on the host with the requested properties. */
export async function virtualMachines<K extends PathOf<"VirtualMachine">>(
  ctx: HostContext,
  paths: readonly K[],
): Promise<{ vm: VirtualMachine; props: ObjectProps<"VirtualMachine", K>["props"] }[]> {
  const objs = await retrieveInventory(ctx.session, { VirtualMachine: paths });
  return objs.filter((o) => o.ref.type === "VirtualMachine").map((o) => ({ vm: new VirtualMachine(ctx.session, o.ref), props: o.props }));
}

/** Every Network object (a port group VMs attach to) with the requested properties. */
export async function networks<K extends PathOf<"Network">>(ctx: HostContext, paths: readonly K[]): Promise<ObjectProps<"Network", K>[]> {
  const objs = await retrieveInventory(ctx.session, { Network: paths });
  return objs.filter((o) => o.ref.type === "Network");
}
