/**
 * The standalone host's fixed objects, discovered once per session with one property-collector read:
 * datacenter (ha-datacenter), its VM folder, the host, its resource pool, network system, datastores, and the
 * service managers. Ids differ between real hosts and the simulator: always discovered, never assumed.
 *
 * `placement` is where new VMs go. On a standalone host there is one choice; a vCenter (datacenters, clusters,
 * resource pools, folders) will choose it per resource, so the use cases take it from here, not from constants.
 */
import { HostConnection } from "../vim/config";
import { retrieveInventory } from "../vim/property-collector";
import { VimSession } from "../vim/session";
import { MoRef } from "../vim/xml";

export interface DatastoreInfo {
  name: string;
  ref: MoRef<"Datastore">;
  freeSpace: number;
  capacity: number;
  type: string;
  accessible: boolean;
}

/** Where a VM is created: datacenter (for datastore paths), VM folder, resource pool and host. */
export interface Placement {
  datacenter: MoRef<"Datacenter">;
  datacenterName: string;
  vmFolder: MoRef<"Folder">;
  resourcePool: MoRef<"ResourcePool">;
  host: MoRef<"HostSystem">;
}

export interface HostContext extends Placement {
  session: VimSession;
  hostName: string;
  networkSystem: MoRef<"HostNetworkSystem">;
  fileManager: MoRef<"FileManager">;
  virtualDiskManager: MoRef<"VirtualDiskManager">;
  cpuCores: number;
  memoryBytes: number;
  datastores: DatastoreInfo[];
  /** The default placement of new VMs (the standalone host's datacenter, root resource pool and host). */
  placement: Placement;
}

/** The API session to a host: one per host and user per process, logged in on first use (vim/session.ts). */
export function connect(conn: HostConnection): VimSession {
  return VimSession.for(conn);
}

const cache = new WeakMap<VimSession, Promise<HostContext>>();

export function hostContext(session: VimSession, refresh = false): Promise<HostContext> {
  let p = cache.get(session);
  if (!p || refresh) {
    p = discover(session).catch((e) => {
      cache.delete(session);
      throw e;
    });
    cache.set(session, p);
  }
  return p;
}

function need<T>(v: T | undefined, what: string, host: string): T {
  if (v === undefined || v === null) throw new Error(`ESX host ${host} has no ${what} in its inventory`);
  return v;
}

async function discover(session: VimSession): Promise<HostContext> {
  const content = await session.serviceContent();
  const inv = await retrieveInventory(session, {
    Datacenter: ["name", "vmFolder"],
    ComputeResource: ["resourcePool"],
    HostSystem: ["name", "configManager.networkSystem", "summary.hardware.numCpuCores", "summary.hardware.memorySize"],
    Datastore: ["summary.name", "summary.freeSpace", "summary.capacity", "summary.type", "summary.accessible"],
  } as const);
  const host = session.host;
  let dc, hs, cr;
  const datastores: DatastoreInfo[] = [];
  for (const o of inv) {
    if (o.type === "Datacenter") dc ??= o;
    else if (o.type === "HostSystem") hs ??= o;
    else if (o.type === "ComputeResource") cr ??= o;
    else if (o.type === "Datastore")
      datastores.push({
        name: o.props["summary.name"] ?? "",
        ref: o.ref,
        freeSpace: Number(o.props["summary.freeSpace"] ?? 0),
        capacity: Number(o.props["summary.capacity"] ?? 0),
        type: o.props["summary.type"] ?? "",
        accessible: o.props["summary.accessible"] !== false,
      });
  }
  dc = need(dc, "Datacenter", host);
  hs = need(hs, "HostSystem", host);
  cr = need(cr, "ComputeResource", host);
  const placement: Placement = {
    datacenter: dc.ref,
    datacenterName: need(dc.props.name, "datacenter name", host),
    vmFolder: need(dc.props.vmFolder, "VM folder", host),
    resourcePool: need(cr.props.resourcePool, "resource pool", host),
    host: hs.ref,
  };
  return {
    session,
    ...placement,
    placement,
    hostName: hs.props.name ?? host,
    networkSystem: need(hs.props["configManager.networkSystem"], "network system", host),
    fileManager: content.fileManager,
    virtualDiskManager: content.virtualDiskManager,
    cpuCores: Number(hs.props["summary.hardware.numCpuCores"] ?? 0),
    memoryBytes: Number(hs.props["summary.hardware.memorySize"] ?? 0),
    datastores,
  };
}
