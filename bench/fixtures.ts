/**
 * What the instance benchmarks share: a base disk standing in for an EsxImage (made with CreateVirtualDisk_Task,
 * as test/esx-instance.test.ts does), a GuestNetwork made through the plugin, EsxInstance inputs, and the
 * engine's check+create / delete sequence through the plugin.
 */
import { hostContext } from "../provider/esx/host";
import { runTask } from "../test/support/vim-untyped";
import { VimSession } from "../provider/vim/session";
import { EsxSim } from "../scripts/lib/esx-sim";
import { EsxPlugin } from "../test/support/esx-plugin";

export const DS = "LocalDS_0";

/** Per-method delays (ms) that emulate a real host: slow tasks, fast reads. */
export function hostDelays(scale = 1): Record<string, number> {
  const d: Record<string, number> = {
    Login: 150,
    RetrievePropertiesEx: 15,
    CreateVM_Task: 800,
    ReconfigVM_Task: 400,
    PowerOnVM_Task: 600,
    PowerOffVM_Task: 400,
    Destroy_Task: 500,
    CopyVirtualDisk_Task: 3000,
    CreateVirtualDisk_Task: 1000,
    DeleteDatastoreFile_Task: 200,
    AddPortGroup: 100,
  };
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Math.round(v * scale)]));
}

export function benchSession(sim: EsxSim): VimSession {
  return VimSession.for({ host: sim.host, username: sim.username, password: sim.password, thumbprint: sim.thumbprintSha256 });
}

/** A thin base disk of `capacityBytes` at [DS] images/<name>/<name>.vmdk; returns EsxImage-like outputs. */
export async function baseDisk(session: VimSession, name: string, capacityBytes: number): Promise<Record<string, any>> {
  const ctx = await hostContext(session);
  const datastorePath = `[${DS}] images/${name}/${name}.vmdk`;
  await runTask(session, "CreateVirtualDisk_Task", ctx.virtualDiskManager, {
    name: datastorePath,
    datacenter: ctx.datacenter,
    spec: { _type: "FileBackedVirtualDiskSpec", diskType: "thin", adapterType: "lsiLogic", capacityKb: Math.ceil(capacityBytes / 1024) },
  });
  return {
    datastorePath,
    datastore: DS,
    capacityBytes: Math.ceil(capacityBytes / 1024) * 1024,
    adapterType: "lsiLogic",
    guestId: "ubuntu64Guest",
    nicType: "vmxnet3",
    glanceImageId: name,
  };
}

export async function guestNetwork(p: EsxPlugin, name: string, portGroup: string): Promise<Record<string, any>> {
  const { outs } = await p.up("GuestNetwork", name, { portGroup, cidr: "10.30.0.0/16", gateway: "10.30.0.1", dnsServers: ["10.30.0.2"] });
  return { portGroup: outs.portGroup, cidr: outs.cidr, gateway: outs.gateway, dnsServers: outs.dnsServers };
}

export function instanceInputs(p: EsxPlugin, name: string, image: Record<string, any>, lan: Record<string, any>, index: number): Record<string, any> {
  return {
    name,
    resourceName: name,
    resourceUrn: p.urn("EsxInstance", name),
    image,
    cpus: 1,
    memoryMb: 512,
    networks: [{ network: lan, ip: `10.30.${10 + Math.floor(index / 250)}.${1 + (index % 250)}` }],
  };
}

export interface Made {
  name: string;
  id: string;
  outs: Record<string, any>;
}

/** check + create, as the engine does for a new resource. */
export async function createInstance(p: EsxPlugin, inputs: Record<string, any>): Promise<Made> {
  const { id, outs } = await p.up("EsxInstance", inputs.name, inputs);
  return { name: inputs.name, id, outs };
}

export async function deleteInstance(p: EsxPlugin, m: Made): Promise<void> {
  await p.plugin.delete(m.id, p.urn("EsxInstance", m.name), { ...m.outs, __provider: p.provider.EsxInstance });
}
