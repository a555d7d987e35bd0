/** A VM as the host has it (one property-collector read), and the host's VMs with their extraConfig. */
import { HostContext } from "../esx/host";
import { virtualMachines } from "../esx/inventory";
import { VirtualMachine } from "../esx/virtual-machine";
import type { GuestNicInfo, OptionValue } from "../vim/types.generated";
import type { MoRef } from "../vim/xml";
import { HostDevices, parseDevices } from "./devices";
import { PowerState } from "./instance/spec";

export interface VmSummary {
  ref: MoRef<"VirtualMachine">;
  name: string;
  extraConfig: Record<string, string>;
}

export interface VmState {
  ref: MoRef<"VirtualMachine">;
  name: string;
  uuid: string | null;
  vmxPath: string | null;
  guestId: string | null;
  powerState: PowerState;
  cpus: number;
  memoryMb: number;
  devices: HostDevices;
  extraConfig: Record<string, string>;
  toolsRunning: boolean;
  guestIps: string[];
}

export function vmRef(id: string): MoRef<"VirtualMachine"> {
  return { type: "VirtualMachine", value: id };
}

/** extraConfig as key -> text ("" for a key without value). */
export function optionMap(options: OptionValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of options ?? []) {
    if (typeof o.key === "string") out[o.key] = o.value === undefined || o.value === null ? "" : String(o.value);
  }
  return out;
}

/** Every VM on the host with its name and extraConfig, in one property-collector call. */
export async function listVms(ctx: HostContext): Promise<VmSummary[]> {
  const vms = await virtualMachines(ctx, ["name", "config.extraConfig"]);
  return vms.map(({ vm, props }) => ({ ref: vm.ref, name: String(props.name ?? ""), extraConfig: optionMap(props["config.extraConfig"]) }));
}

const VM_PATHS = [
  "name",
  "config.uuid",
  "config.files.vmPathName",
  "config.guestId",
  "config.hardware.numCPU",
  "config.hardware.memoryMB",
  "config.hardware.device",
  "config.extraConfig",
  "runtime.powerState",
  "guest.toolsRunningStatus",
  "guest.net",
] as const;

export function powerStateOf(s: string | undefined): PowerState {
  return s === "poweredOn" ? "on" : s === "suspended" ? "suspended" : "off";
}

const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

function guestIps(net: GuestNicInfo[] | undefined): string[] {
  return (net ?? []).flatMap((n) => (n.ipAddress ?? []).filter((ip) => IPV4.test(ip)));
}

/** An IPv4 address as VMware Tools report it in guest.ipAddress, or undefined. */
export function ipv4OrUndefined(ip: string | undefined): string | undefined {
  return ip && IPV4.test(ip) ? ip : undefined;
}

/** One VM as the host has it; undefined when it no longer exists. */
export async function readVm(ctx: HostContext, ref: MoRef<"VirtualMachine">): Promise<VmState | undefined> {
  const p = await new VirtualMachine(ctx.session, ref).properties(VM_PATHS);
  if (!p || p.name === undefined) return undefined;
  return {
    ref,
    name: String(p.name),
    uuid: p["config.uuid"] ?? null,
    vmxPath: p["config.files.vmPathName"] ?? null,
    guestId: p["config.guestId"] ?? null,
    powerState: powerStateOf(p["runtime.powerState"]),
    cpus: Number(p["config.hardware.numCPU"] ?? 0),
    memoryMb: Number(p["config.hardware.memoryMB"] ?? 0),
    devices: parseDevices(p["config.hardware.device"]),
    extraConfig: optionMap(p["config.extraConfig"]),
    toolsRunning: p["guest.toolsRunningStatus"] === "guestToolsRunning",
    guestIps: guestIps(p["guest.net"]),
  };
}
