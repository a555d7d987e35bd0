/**
 * Port groups on the host's standard vSwitches (HostNetworkSystem) and the Network objects VMs attach to:
 * ensure (create, or adopt an existing one), update the VLAN, remove (refused while VMs use it), read.
 * Port groups are read from the network system's `networkInfo`, which is what AddPortGroup changes.
 */
import { HostContext } from "../../esx/host";
import { networks } from "../../esx/inventory";
import { HostNetworkSystem } from "../../esx/host-network-system";
import { VirtualMachine } from "../../esx/virtual-machine";
import { VimFault } from "../../vim/faults";
import type { HostPortGroupSpec } from "../../vim/types.generated";
import type { MoRef } from "../../vim/xml";
import { EsxHost } from "../host";
import { isFault, sendOnce } from "../host-calls";

export interface PortGroupInfo {
  name: string;
  vlanId: number;
  vswitch: string;
}

export interface NetworkInfo {
  portGroups: PortGroupInfo[];
  vswitches: string[];
}

export interface PortGroupSpec {
  name: string;
  vswitch: string;
  vlanId: number;
  /** Take over an existing port group of that name instead of failing. */
  adopt: boolean;
}

export interface PortGroupState {
  /** The host's Network object id for the port group. */
  networkId: string | null;
  vlanId: number;
  vswitch: string;
  /** False when an existing port group was adopted (it is then left in place on delete). */
  created: boolean;
}

export async function readNetworkInfo(ctx: HostContext): Promise<NetworkInfo> {
  const p = await new HostNetworkSystem(ctx.session, ctx.networkSystem).properties(["networkInfo.portgroup", "networkInfo.vswitch"]);
  return {
    portGroups: (p?.["networkInfo.portgroup"] ?? []).map((pg) => ({
      name: pg.spec.name ?? "",
      vlanId: Number(pg.spec.vlanId ?? 0),
      vswitch: pg.spec.vswitchName ?? "",
    })),
    vswitches: (p?.["networkInfo.vswitch"] ?? []).map((v) => v.name),
  };
}

/** The 2011 driver's spec: name, vSwitch, VLAN, and notify switches on failover. */
export function portGroupSpec(name: string, vswitch: string, vlanId: number): HostPortGroupSpec {
  return { name, vlanId, vswitchName: vswitch, policy: { nicTeaming: { notifySwitches: true } } };
}

export interface NetworkObject {
  ref: MoRef<"Network">;
  name: string;
  vms: MoRef<"VirtualMachine">[];
}

/** The Network object of a port group (with the VMs attached to it), or undefined. */
export async function findNetwork(ctx: HostContext, name: string): Promise<NetworkObject | undefined> {
  const n = (await networks(ctx, ["name", "vm"])).find((o) => o.props.name === name);
  return n ? { ref: n.ref, name, vms: n.props.vm ?? [] } : undefined;
}

/** Names of VMs, for messages. */
async function vmNames(ctx: HostContext, vms: MoRef<"VirtualMachine">[]): Promise<string[]> {
  const out: string[] = [];
  for (const ref of vms) {
    const p = await new VirtualMachine(ctx.session, ref).properties(["name"]);
    if (p?.name) out.push(p.name);
  }
  return out;
}

async function adoptExisting(host: EsxHost, spec: PortGroupSpec): Promise<PortGroupState> {
  const pg = (await readNetworkInfo(host.ctx)).portGroups.find((p) => p.name === spec.name);
  if (!pg) throw new Error(`port group ${spec.name} disappeared while being adopted`);
  if (pg.vswitch !== spec.vswitch) {
    throw new Error(`port group ${spec.name} exists on ${pg.vswitch}, not on ${spec.vswitch}: set vswitch: "${pg.vswitch}" to adopt it`);
  }
  if (pg.vlanId !== spec.vlanId) await host.networkSystem.updatePortGroup(spec.name, portGroupSpec(spec.name, spec.vswitch, spec.vlanId));
  const net = await findNetwork(host.ctx, spec.name);
  return { networkId: net?.ref.value ?? null, vlanId: spec.vlanId, vswitch: spec.vswitch, created: false };
}

/** AddPortGroup (an existing port group of that name only with adopt); a missing vSwitch names the host's. */
export async function ensurePortGroup(host: EsxHost, spec: PortGroupSpec): Promise<PortGroupState> {
  const portGroup = async () => (await readNetworkInfo(host.ctx)).portGroups.find((p) => p.name === spec.name && p.vswitch === spec.vswitch);
  try {
    // Known absent first: if AddPortGroup's answer is lost, a port group found afterwards is the one it made.
    if (await portGroup()) throw new VimFault("AlreadyExists", host.display, `port group ${spec.name} exists`, "AddPortGroup");
    await sendOnce(
      () => host.networkSystem.addPortGroup(portGroupSpec(spec.name, spec.vswitch, spec.vlanId)).then(() => true),
      async () => ((await portGroup()) ? true : undefined),
    );
  } catch (e) {
    if (isFault(e, "AlreadyExists", "DuplicateName")) {
      if (spec.adopt) return adoptExisting(host, spec);
      throw new Error(`port group ${spec.name} already exists on the host: set adopt: true to take it over (it is then left in place on delete)`, { cause: e });
    }
    if (isFault(e, "NotFound")) {
      const info = await readNetworkInfo(host.ctx);
      if (!info.vswitches.includes(spec.vswitch)) {
        throw new Error(`vSwitch ${spec.vswitch} does not exist on the host; it has: ${info.vswitches.join(", ") || "none"}`, { cause: e });
      }
    }
    throw e;
  }
  const net = await findNetwork(host.ctx, spec.name);
  return { networkId: net?.ref.value ?? null, vlanId: spec.vlanId, vswitch: spec.vswitch, created: true };
}

/** UpdatePortGroup to this vSwitch and VLAN (a lost answer resolved by reading the port group back). */
export async function updatePortGroup(host: EsxHost, name: string, vswitch: string, vlanId: number): Promise<void> {
  await sendOnce(
    () => host.networkSystem.updatePortGroup(name, portGroupSpec(name, vswitch, vlanId)).then(() => true),
    async () => ((await readNetworkInfo(host.ctx)).portGroups.some((p) => p.name === name && p.vswitch === vswitch && p.vlanId === vlanId) ? true : undefined),
  );
}

/** The port group as the host has it (with its Network object's id); undefined when it is gone. */
export async function readPortGroup(host: EsxHost, name: string): Promise<(PortGroupInfo & { networkId: string | null }) | undefined> {
  const pg = (await readNetworkInfo(host.ctx)).portGroups.find((p) => p.name === name);
  if (!pg) return undefined;
  const net = await findNetwork(host.ctx, name);
  return { ...pg, networkId: net?.ref.value ?? null };
}

/** RemovePortGroup; refused (naming them) while VMs use it; a port group already gone is fine. */
export async function removePortGroup(host: EsxHost, name: string): Promise<void> {
  const net = await findNetwork(host.ctx, name);
  if (net && net.vms.length) {
    const names = await vmNames(host.ctx, net.vms);
    throw new Error(`port group ${name} is still used by VM(s) ${names.join(", ")}: nothing was removed; delete or move those VMs first`);
  }
  try {
    await sendOnce(
      () => host.networkSystem.removePortGroup(name).then(() => true),
      async () => ((await readNetworkInfo(host.ctx)).portGroups.some((p) => p.name === name) ? undefined : true),
    );
  } catch (e) {
    if (isFault(e, "NotFound")) return;
    if (isFault(e, "ResourceInUse")) {
      const again = await findNetwork(host.ctx, name);
      const names = again ? await vmNames(host.ctx, again.vms) : [];
      throw new Error(`port group ${name} is still used by VM(s) ${names.join(", ") || "(unknown)"}: nothing was removed`, { cause: e });
    }
    throw e;
  }
}
