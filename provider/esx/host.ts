/**
 * The standalone host's fixed objects, discovered once per session with one property-collector read:
 * datacenter (ha-datacenter), its VM folder, the host, its resource pool, network system, datastores, and the
 * service managers. Ids differ between real hosts and the simulator: always discovered, never assumed.
 */
import { retrieveInventory } from "../vim/property-collector";
import { VimSession } from "../vim/session";
import { list, MoRef } from "../vim/xml";

export interface DatastoreInfo {
  name: string;
  ref: MoRef;
  freeSpace: number;
  capacity: number;
  type: string;
  accessible: boolean;
}

export interface HostContext {
  session: VimSession;
  datacenter: MoRef;
  datacenterName: string;
  vmFolder: MoRef;
  host: MoRef;
  hostName: string;
  resourcePool: MoRef;
  networkSystem: MoRef;
  fileManager: MoRef;
  virtualDiskManager: MoRef;
  cpuCores: number;
  memoryBytes: number;
  datastores: DatastoreInfo[];
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

async function discover(session: VimSession): Promise<HostContext> {
  const content = await session.serviceContent();
  const inv = await retrieveInventory(session, {
    Datacenter: ["name", "vmFolder"],
    ComputeResource: ["resourcePool"],
    HostSystem: ["name", "configManager.networkSystem", "summary.hardware.numCpuCores", "summary.hardware.memorySize"],
    Datastore: ["summary.name", "summary.freeSpace", "summary.capacity", "summary.type", "summary.accessible"],
  });
  const one = (t: string) => {
    const o = inv.find((x) => x.ref.type === t || (t === "ComputeResource" && x.ref.type === "ClusterComputeResource"));
    if (!o) throw new Error(`ESX host ${session.host} has no ${t} in its inventory`);
    return o;
  };
  const dc = one("Datacenter");
  const host = one("HostSystem");
  const cr = one("ComputeResource");
  return {
    session,
    datacenter: dc.ref,
    datacenterName: dc.props.name,
    vmFolder: dc.props.vmFolder,
    host: host.ref,
    hostName: host.props.name,
    resourcePool: cr.props.resourcePool,
    networkSystem: host.props["configManager.networkSystem"],
    fileManager: content.fileManager,
    virtualDiskManager: content.virtualDiskManager,
    cpuCores: Number(host.props["summary.hardware.numCpuCores"]),
    memoryBytes: Number(host.props["summary.hardware.memorySize"]),
    datastores: inv
      .filter((o) => o.ref.type === "Datastore")
      .map((o) => ({
        name: o.props["summary.name"],
        ref: o.ref,
        freeSpace: Number(o.props["summary.freeSpace"]),
        capacity: Number(o.props["summary.capacity"]),
        type: o.props["summary.type"],
        accessible: o.props["summary.accessible"] !== false && o.props["summary.accessible"] !== "false",
      })),
  };
}

export { list };
