/**
 * Reads through the property collector: `RetrievePropertiesEx` with continuation tokens, for one object or for
 * all objects of some types reachable from a container by a traversal. Never a scan of every object's name.
 * Results are typed by the declared properties of each managed object type (managed-objects.ts).
 */
import { ManagedObjectType, PathOf, PropertiesOf } from "./managed-objects";
import { VimSession } from "./session";
import type { ObjectContent, PropertyFilterSpec, TraversalSpec } from "./types.generated";
import { MoRef } from "./xml";

export interface ObjectProps<T extends ManagedObjectType = ManagedObjectType, K extends PathOf<T> = PathOf<T>> {
  /** The object's type as requested (the host may answer a subtype, e.g. ClusterComputeResource: see ref.type). */
  type: T;
  ref: MoRef<T>;
  props: PropertiesOf<T, K>;
  /** Property paths the host could not return, with the fault name. */
  missing: Record<string, string>;
}

/** Runs one property filter spec to the end (continuation tokens) and returns every object's raw content. */
export async function retrieveContents(session: VimSession, spec: PropertyFilterSpec): Promise<ObjectContent[]> {
  const content = await session.serviceContent();
  const pc = content.propertyCollector;
  const out: ObjectContent[] = [];
  let res = await session.call("RetrievePropertiesEx", pc, { specSet: [spec], options: {} });
  for (;;) {
    out.push(...(res?.objects ?? []));
    if (!res?.token) break;
    res = await session.call("ContinueRetrievePropertiesEx", pc, { token: res.token });
  }
  return out;
}

function toProps<T extends ManagedObjectType, K extends PathOf<T>>(type: T, o: ObjectContent): ObjectProps<T, K> {
  const props: Record<string, unknown> = {};
  for (const p of o.propSet ?? []) if (p.name) props[p.name] = p.val;
  const missing: Record<string, string> = {};
  for (const m of o.missingSet ?? []) if (m.path) missing[m.path] = m.fault?.fault?._type ?? "unknown";
  // The host answers each declared path with the vim25 type managed-objects.ts declares for it.
  return { type, ref: o.obj as MoRef<T>, props: props as PropertiesOf<T, K>, missing };
}

/** Properties of one object; undefined when the object no longer exists (ManagedObjectNotFound). */
export async function retrieveOne<T extends ManagedObjectType, K extends PathOf<T>>(
  session: VimSession,
  ref: MoRef<T>,
  paths: readonly K[],
): Promise<PropertiesOf<T, K> | undefined> {
  try {
    const [o] = await retrieveContents(session, { propSet: [{ type: ref.type, pathSet: [...paths] }], objectSet: [{ obj: ref }] });
    return o ? toProps<T, K>(ref.type, o).props : undefined;
  } catch (e) {
    if ((e as { faultName?: string })?.faultName === "ManagedObjectNotFound") return undefined;
    throw e;
  }
}

/** A traversal spec (vim25 TraversalSpec) for a retrieve's selectSet. */
export function traverse(name: string, type: string, path: string, selectSet: string[] = []): TraversalSpec {
  return { _type: "TraversalSpec", name, type, path, skip: false, selectSet: selectSet.map((n) => ({ name: n })) };
}

/**
 * Traversal from a folder to everything below it: datacenters, their host/vm/datastore/network folders, compute
 * resources, hosts, resource pools and VMs.
 */
export function inventoryTraversal(): TraversalSpec[] {
  return [
    traverse("folder", "Folder", "childEntity", ["folder", "dcHost", "dcVm", "dcDs", "dcNet", "crHost", "crRp", "rpVm"]),
    traverse("dcHost", "Datacenter", "hostFolder", ["folder"]),
    traverse("dcVm", "Datacenter", "vmFolder", ["folder"]),
    traverse("dcDs", "Datacenter", "datastoreFolder", ["folder"]),
    traverse("dcNet", "Datacenter", "networkFolder", ["folder"]),
    traverse("crHost", "ComputeResource", "host"),
    traverse("crRp", "ComputeResource", "resourcePool", ["rpRp"]),
    traverse("rpRp", "ResourcePool", "resourcePool", ["rpRp"]),
    traverse("rpVm", "ResourcePool", "vm"),
  ];
}

/** The types and property paths of an inventory read. */
export type InventoryRequest = { [T in ManagedObjectType]?: readonly PathOf<T>[] };

/** One object of an inventory read: its `type` tells which of the requested types it is. */
export type InventoryObject<W extends InventoryRequest> = {
  [T in keyof W & ManagedObjectType]: ObjectProps<T, W[T] extends readonly (infer K)[] ? K & PathOf<T> : never>;
}[keyof W & ManagedObjectType];

/**
 * All objects of the requested types below `root` (default: the root folder) with the requested properties, in
 * one call. An object of a subtype (ClusterComputeResource for ComputeResource) is reported under the requested type.
 */
export async function retrieveInventory<W extends InventoryRequest>(session: VimSession, want: W, root?: MoRef): Promise<InventoryObject<W>[]> {
  const content = await session.serviceContent();
  const requested = Object.entries(want) as [ManagedObjectType, readonly string[]][];
  const contents = await retrieveContents(session, {
    propSet: requested.map(([type, pathSet]) => ({ type, pathSet: [...pathSet] })),
    objectSet: [{ obj: root ?? content.rootFolder, skip: false, selectSet: inventoryTraversal() }],
  });
  const typeOf = (actual: string): ManagedObjectType | undefined =>
    requested.find(([t]) => t === actual)?.[0] ?? (actual === "ClusterComputeResource" && want.ComputeResource ? "ComputeResource" : undefined);
  const out: InventoryObject<W>[] = [];
  for (const o of contents) {
    const type = o.obj ? typeOf(o.obj.type) : undefined;
    if (type) out.push(toProps(type, o) as InventoryObject<W>);
  }
  return out;
}
