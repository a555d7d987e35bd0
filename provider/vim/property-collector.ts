/**
 * Reads through the property collector: `RetrievePropertiesEx` with continuation tokens, for one object or for
 * all objects of a type reachable from a container by a traversal. Never a scan of every object's name.
 */
import { VimSession } from "./session";
import { MoRef } from "./xml";

export interface ObjectProps {
  ref: MoRef;
  props: Record<string, any>;
  /** Property paths the host could not return, with the fault name. */
  missing: Record<string, string>;
}

export interface PropertyFilterSpec {
  propSet: { type: string; all?: boolean; pathSet?: string[] }[];
  objectSet: { obj: MoRef; skip?: boolean; selectSet?: any[] }[];
}

export async function retrieve(session: VimSession, spec: PropertyFilterSpec): Promise<ObjectProps[]> {
  const content = await session.serviceContent();
  const pc: MoRef = content.propertyCollector;
  const out: ObjectProps[] = [];
  let res: any = await session.call("RetrievePropertiesEx", pc, { specSet: [spec], options: {} });
  for (;;) {
    for (const o of res?.objects ?? []) out.push(toProps(o));
    if (!res?.token) break;
    res = await session.call("ContinueRetrievePropertiesEx", pc, { token: res.token });
  }
  return out;
}

function toProps(o: any): ObjectProps {
  const props: Record<string, any> = {};
  for (const p of o.propSet ?? []) props[p.name] = p.val;
  const missing: Record<string, string> = {};
  for (const m of o.missingSet ?? []) missing[m.path] = m.fault?.fault?._type ?? "unknown";
  return { ref: o.obj, props, missing };
}

/** Properties of one object; undefined when the object no longer exists (ManagedObjectNotFound). */
export async function retrieveOne(session: VimSession, ref: MoRef, paths: string[]): Promise<Record<string, any> | undefined> {
  try {
    const [o] = await retrieve(session, { propSet: [{ type: ref.type, pathSet: paths }], objectSet: [{ obj: ref }] });
    return o?.props;
  } catch (e: any) {
    if (e?.faultName === "ManagedObjectNotFound") return undefined;
    throw e;
  }
}

/** A traversal spec (vim25 TraversalSpec) for `retrieve`'s selectSet. */
export function traverse(name: string, type: string, path: string, selectSet: string[] = []): any {
  return { _type: "TraversalSpec", name, type, path, skip: false, selectSet: selectSet.map((n) => ({ name: n })) };
}

/**
 * Traversal from the root folder to everything a standalone host has: datacenters, their host/vm/datastore/network
 * folders, compute resources, hosts, resource pools and VMs.
 */
export function inventoryTraversal(): any[] {
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

/** All objects of the given types in the host's inventory, with the requested properties, in one call. */
export async function retrieveInventory(session: VimSession, want: Record<string, string[]>): Promise<ObjectProps[]> {
  const content = await session.serviceContent();
  return retrieve(session, {
    propSet: Object.entries(want).map(([type, pathSet]) => ({ type, pathSet })),
    objectSet: [{ obj: content.rootFolder, skip: false, selectSet: inventoryTraversal() }],
  });
}
