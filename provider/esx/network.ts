/**
 * Port groups on the host's standard vSwitches (HostNetworkSystem) and the Network objects VMs attach to.
 * Port groups are read from the network system's `networkInfo`, which is what AddPortGroup changes.
 */
import { retrieveInventory, retrieveOne } from "../vim/property-collector";
import { HostContext } from "./host";
import { list } from "../vim/xml";
import { MoRef } from "../vim/xml";

export interface PortGroupInfo {
  name: string;
  vlanId: number;
  vswitch: string;
}

export interface NetworkInfo {
  portGroups: PortGroupInfo[];
  vswitches: string[];
}

export async function readNetworkInfo(ctx: HostContext): Promise<NetworkInfo> {
  const p = await retrieveOne(ctx.session, ctx.networkSystem, ["networkInfo.portgroup", "networkInfo.vswitch"]);
  const pgs = list<any>(p?.["networkInfo.portgroup"]?.HostPortGroup ?? p?.["networkInfo.portgroup"]);
  const vss = list<any>(p?.["networkInfo.vswitch"]?.HostVirtualSwitch ?? p?.["networkInfo.vswitch"]);
  return {
    portGroups: pgs.map((pg) => ({ name: pg.spec?.name, vlanId: Number(pg.spec?.vlanId ?? 0), vswitch: pg.spec?.vswitchName })),
    vswitches: vss.map((v) => v.name),
  };
}

export function portGroupSpec(name: string, vswitch: string, vlanId: number): Record<string, unknown> {
  // The 2011 driver's spec: name, vSwitch, VLAN, and notify switches on failover.
  return { name, vlanId, vswitchName: vswitch, policy: { nicTeaming: { notifySwitches: true } } };
}

export function addPortGroup(ctx: HostContext, name: string, vswitch: string, vlanId: number): Promise<void> {
  return ctx.session.call("AddPortGroup", ctx.networkSystem, { portgrp: portGroupSpec(name, vswitch, vlanId) });
}

export function updatePortGroup(ctx: HostContext, name: string, vswitch: string, vlanId: number): Promise<void> {
  return ctx.session.call("UpdatePortGroup", ctx.networkSystem, { pgName: name, portgrp: portGroupSpec(name, vswitch, vlanId) });
}

export function removePortGroup(ctx: HostContext, name: string): Promise<void> {
  return ctx.session.call("RemovePortGroup", ctx.networkSystem, { pgName: name });
}

export interface NetworkObject {
  ref: MoRef;
  name: string;
  vms: MoRef[];
}

/** The Network object of a port group (with the VMs attached to it), or undefined. */
export async function findNetwork(ctx: HostContext, name: string): Promise<NetworkObject | undefined> {
  const nets = await retrieveInventory(ctx.session, { Network: ["name", "vm"] });
  const n = nets.find((o) => o.ref.type === "Network" && o.props.name === name);
  if (!n) return undefined;
  const vms = n.props.vm;
  return { ref: n.ref, name, vms: Array.isArray(vms) ? vms : list<any>(vms?.ManagedObjectReference ?? vms) };
}

/** Names of VMs, for messages. */
export async function vmNames(ctx: HostContext, vms: MoRef[]): Promise<string[]> {
  const out: string[] = [];
  for (const vm of vms) {
    const p = await retrieveOne(ctx.session, vm, ["name"]);
    if (p?.name) out.push(p.name);
  }
  return out;
}
