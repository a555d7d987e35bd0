/**
 * Virtual machines on a standalone host: inventory reads (names, extraConfig), one VM's state, and the
 * calls that change a VM (create, reconfigure, power, destroy). Each function is one host operation; tasks are
 * waited for with WaitForUpdatesEx (vim/tasks.ts).
 */
import { retrieveInventory, retrieveOne } from "../vim/property-collector";
import { runTask } from "../vim/tasks";
import { VimFault, VimTransportError } from "../vim/faults";
import { confirmed } from "../vim/session";
import { list, MoRef } from "../vim/xml";
import { HostContext } from "./host";
import { HostDevices, parseDevices } from "./devices";

export type PowerState = "on" | "off" | "suspended";

export interface VmSummary {
  ref: MoRef;
  name: string;
  extraConfig: Record<string, string>;
}

export function optionMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of list<any>(Array.isArray(v) ? v : ((v as any)?.OptionValue ?? v))) {
    if (o && typeof o.key === "string") out[o.key] = o.value === undefined || o.value === null ? "" : String(o.value);
  }
  return out;
}

/** Every VM on the host with its name and extraConfig, in one property-collector call. */
export async function listVms(ctx: HostContext): Promise<VmSummary[]> {
  const objs = await retrieveInventory(ctx.session, { VirtualMachine: ["name", "config.extraConfig"] });
  return objs
    .filter((o) => o.ref.type === "VirtualMachine")
    .map((o) => ({ ref: o.ref, name: String(o.props.name ?? ""), extraConfig: optionMap(o.props["config.extraConfig"]) }));
}

export interface VmState {
  ref: MoRef;
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
];

function power(s: unknown): PowerState {
  return s === "poweredOn" ? "on" : s === "suspended" ? "suspended" : "off";
}

function guestIps(net: unknown): string[] {
  const ips: string[] = [];
  for (const n of list<any>(Array.isArray(net) ? net : ((net as any)?.GuestNicInfo ?? net))) {
    for (const ip of list<any>(n?.ipAddress?.string ?? n?.ipAddress)) if (typeof ip === "string" && /^\d+\.\d+\.\d+\.\d+$/.test(ip)) ips.push(ip);
  }
  return ips;
}

/** One VM as the host has it; undefined when it no longer exists. */
export async function readVm(ctx: HostContext, ref: MoRef): Promise<VmState | undefined> {
  const p = await retrieveOne(ctx.session, ref, VM_PATHS);
  if (!p || p.name === undefined) return undefined;
  return {
    ref,
    name: String(p.name),
    uuid: p["config.uuid"] ?? null,
    vmxPath: p["config.files.vmPathName"] ?? null,
    guestId: p["config.guestId"] ?? null,
    powerState: power(p["runtime.powerState"]),
    cpus: Number(p["config.hardware.numCPU"] ?? 0),
    memoryMb: Number(p["config.hardware.memoryMB"] ?? 0),
    devices: parseDevices(p["config.hardware.device"]),
    extraConfig: optionMap(p["config.extraConfig"]),
    toolsRunning: p["guest.toolsRunningStatus"] === "guestToolsRunning",
    guestIps: guestIps(p["guest.net"]),
  };
}

export function vmRef(id: string): MoRef {
  return { type: "VirtualMachine", value: id };
}

export function createVm(ctx: HostContext, config: Record<string, unknown>): Promise<MoRef> {
  return runTask<MoRef>(ctx.session, "CreateVM_Task", ctx.vmFolder, { config, pool: ctx.resourcePool });
}

export function reconfigVm(ctx: HostContext, ref: MoRef, spec: Record<string, unknown>): Promise<void> {
  return runTask(ctx.session, "ReconfigVM_Task", ref, { spec });
}

/**
 * A power task. When its answer is lost, the VM's power state tells whether it took effect; only when the host
 * shows the state not reached is the task sent once more.
 */
async function powerTask(ctx: HostContext, op: string, ref: MoRef, reached: string): Promise<void> {
  try {
    await runTask(ctx.session, op, ref);
  } catch (e) {
    if (!(e instanceof VimTransportError)) throw e;
    const now = await retrieveOne(ctx.session, ref, ["runtime.powerState"]).catch(() => undefined);
    if (now?.["runtime.powerState"] === reached) return;
    if (now?.["runtime.powerState"] === undefined) throw e;
    await runTask(ctx.session, op, ref);
  }
}

export function powerOn(ctx: HostContext, ref: MoRef): Promise<void> {
  return powerTask(ctx, "PowerOnVM_Task", ref, "poweredOn");
}

export function powerOff(ctx: HostContext, ref: MoRef): Promise<void> {
  return powerTask(ctx, "PowerOffVM_Task", ref, "poweredOff");
}

export function suspend(ctx: HostContext, ref: MoRef): Promise<void> {
  return powerTask(ctx, "SuspendVM_Task", ref, "suspended");
}

export function reset(ctx: HostContext, ref: MoRef): Promise<void> {
  return runTask(ctx.session, "ResetVM_Task", ref);
}

export function rebootGuest(ctx: HostContext, ref: MoRef): Promise<void> {
  return ctx.session.call("RebootGuest", ref);
}

/**
 * Brings a VM to "off": a graceful guest shutdown when VMware Tools run (waiting up to timeoutSeconds for the
 * power state to follow), then a hard power-off if it is still on. A suspended VM is powered off directly.
 */
export async function stopVm(ctx: HostContext, vm: { ref: MoRef; powerState: PowerState; toolsRunning: boolean }, timeoutSeconds: number): Promise<void> {
  if (vm.powerState === "off") return;
  if (vm.powerState === "on" && vm.toolsRunning && timeoutSeconds > 0) {
    try {
      await ctx.session.call("ShutdownGuest", vm.ref);
      const deadline = Date.now() + timeoutSeconds * 1000;
      for (let wait = 250; Date.now() < deadline; wait = Math.min(wait * 2, 5000)) {
        const p = await retrieveOne(ctx.session, vm.ref, ["runtime.powerState"]);
        if (!p || p["runtime.powerState"] === "poweredOff") return;
        await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(0, deadline - Date.now()))));
      }
    } catch (e) {
      if (!(e instanceof VimFault && e.is("ToolsUnavailable", "InvalidState", "InvalidPowerState"))) throw e;
    }
  }
  try {
    await powerOff(ctx, vm.ref);
  } catch (e) {
    if (e instanceof VimFault && e.is("InvalidPowerState")) return; // already off (the guest finished its shutdown)
    throw e;
  }
}

/** Destroy_Task; when its answer is lost, a VM that no longer exists counts as destroyed. */
export function destroyVm(ctx: HostContext, ref: MoRef): Promise<void> {
  return confirmed(
    () => runTask(ctx.session, "Destroy_Task", ref).then(() => true),
    async () => ((await retrieveOne(ctx.session, ref, ["name"]))?.name === undefined ? true : undefined),
  ).then(() => undefined);
}

/** Repeats `fn` once after a transport error: only for calls whose repetition cannot do harm (deletes, mkdir). */
async function onceMore<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof VimTransportError)) throw e;
    return fn();
  }
}

/** Deletes a datastore file or directory ("[ds] dir"); a missing one is fine. */
export async function deleteDatastorePath(ctx: HostContext, dsPath: string): Promise<void> {
  try {
    await onceMore(() => runTask(ctx.session, "DeleteDatastoreFile_Task", ctx.fileManager, { name: dsPath, datacenter: ctx.datacenter }));
  } catch (e) {
    if (e instanceof VimFault && e.is("FileNotFound", "NotFound")) return;
    throw e;
  }
}

export async function makeDirectory(ctx: HostContext, dsPath: string): Promise<void> {
  try {
    await onceMore(() => ctx.session.call("MakeDirectory", ctx.fileManager, { name: dsPath, datacenter: ctx.datacenter, createParentDirectories: true }));
  } catch (e) {
    if (e instanceof VimFault && e.is("FileAlreadyExists")) return;
    throw e;
  }
}

export function copyDisk(ctx: HostContext, source: string, dest: string, adapter: string): Promise<void> {
  return runTask(ctx.session, "CopyVirtualDisk_Task", ctx.virtualDiskManager, {
    sourceName: source,
    sourceDatacenter: ctx.datacenter,
    destName: dest,
    destDatacenter: ctx.datacenter,
    // A host (no vCenter) needs the destination spec.
    destSpec: { _type: "VirtualDiskSpec", diskType: "thin", adapterType: adapter },
    force: false,
  });
}

export function deleteDisk(ctx: HostContext, name: string): Promise<void> {
  return runTask(ctx.session, "DeleteVirtualDisk_Task", ctx.virtualDiskManager, { name, datacenter: ctx.datacenter });
}

export function extendDisk(ctx: HostContext, name: string, capacityBytes: number): Promise<void> {
  return runTask(ctx.session, "ExtendVirtualDisk_Task", ctx.virtualDiskManager, {
    name,
    datacenter: ctx.datacenter,
    newCapacityKb: Math.ceil(capacityBytes / 1024),
    eagerZero: false,
  });
}
