/**
 * What to apply to bring an existing VM to its spec, computed without touching the host (the apply is
 * converge.ts): one ReconfigVM_Task spec with every difference (CPUs, memory, guestId, NICs, disk growth, the
 * extraConfig keys this provider owns), whether the VM must be powered off for it, and the power steps around it.
 * Table tests: test/instance-plan.test.ts.
 */
import { ADAPTERS, AdapterType, DEFAULT_ADAPTER } from "../../hardware";
import type { VirtualDeviceConfigSpec, VirtualMachineConfigSpec } from "../../vim/types.generated";
import { addNicSpec, editNicSpec, growDiskSpec, HostDevices, removeDeviceSpec } from "../devices";
import { extraConfigChanges, ResolvedNic } from "./nics";
import { ImageRef, InstanceSpec, PowerState } from "./spec";

export const GiB = 1024 ** 3;

/** The root disk's size: diskGb, never below the image's capacity. */
export function desiredDiskBytes(spec: { diskGb?: number; image: { capacityBytes: number } }): number {
  return spec.diskGb !== undefined ? Math.max(Math.round(spec.diskGb * GiB), spec.image.capacityBytes) : spec.image.capacityBytes;
}

/** The guest OS id: the spec's, else the image's, else otherGuest64. */
export function effectiveGuestId(spec: { guestId?: string; image: Pick<ImageRef, "guestId"> }): string {
  return spec.guestId ?? spec.image.guestId ?? "otherGuest64";
}

/** The disk adapter: the spec's, else the image's, else lsilogic. */
export function effectiveAdapter(spec: { adapterType?: AdapterType; image: Pick<ImageRef, "adapterType"> }): AdapterType {
  return spec.adapterType ?? spec.image.adapterType ?? DEFAULT_ADAPTER;
}

/** The vim25 VirtualDiskAdapterType of a full clone's copy (provider/hardware.ts: SAS and pvscsi copy as lsiLogic). */
export function copyAdapter(adapter: AdapterType) {
  return ADAPTERS[adapter].virtualDisk;
}

/** What the VM is now: the parts of its state the plan compares. */
export interface CurrentVm {
  name: string;
  cpus: number;
  memoryMb: number;
  guestId: string | null;
  powerState: PowerState;
  toolsRunning: boolean;
  devices: HostDevices;
  extraConfig: Record<string, string>;
}

/** What the VM should be (NICs resolved, the extraConfig keys we own computed). */
export interface DesiredVm {
  cpus: number;
  memoryMb: number;
  guestId: string;
  nics: ResolvedNic[];
  diskBytes: number;
  /** The owned extraConfig keys and their values (guestConfig). */
  guestConfig: Record<string, string>;
  powerState: PowerState;
  /** A reboot was asked for (rebootTrigger changed). */
  reboot: boolean;
}

/** One step of a plan, run in order. `from` is the power state the step starts in (for a graceful stop). */
export type PlanStep =
  { op: "stop"; from: PowerState } | { op: "reconfigure" } | { op: "powerOn" } | { op: "suspend" } | { op: "rebootGuest" } | { op: "reset" };

export interface ReconfigurePlan {
  /** The ReconfigVM_Task spec; empty when nothing differs. */
  spec: VirtualMachineConfigSpec;
  /** CPU, memory or guestId change: the VM must be off while reconfigured. */
  needsPowerCycle: boolean;
  steps: PlanStep[];
}

/** The device changes turning the VM's NICs into the resolved ones (same type: edited in place, else replaced). */
export function nicChanges(current: HostDevices["nics"], wanted: ResolvedNic[]): VirtualDeviceConfigSpec[] {
  const changes: VirtualDeviceConfigSpec[] = [];
  for (let i = 0; i < Math.max(current.length, wanted.length); i++) {
    const c = current[i];
    const w = wanted[i];
    if (c && w) {
      if (c.nicType !== w.nicType) changes.push(removeDeviceSpec(c.raw, c.key), addNicSpec(i, w));
      else if (c.portGroup !== w.portGroup || c.mac !== w.mac) changes.push(editNicSpec(c, w));
    } else if (c) changes.push(removeDeviceSpec(c.raw, c.key));
    else if (w) changes.push(addNicSpec(i, w));
  }
  return changes;
}

export function planReconfigure(current: CurrentVm, desired: DesiredVm): ReconfigurePlan {
  const spec: VirtualMachineConfigSpec = {};
  let needsPowerCycle = false;
  if (current.cpus !== desired.cpus) {
    spec.numCPUs = desired.cpus;
    needsPowerCycle = true;
  }
  if (current.memoryMb !== desired.memoryMb) {
    spec.memoryMB = desired.memoryMb;
    needsPowerCycle = true;
  }
  if (current.guestId !== desired.guestId) {
    spec.guestId = desired.guestId;
    needsPowerCycle = true;
  }
  const changes = nicChanges(current.devices.nics, desired.nics);
  const root = current.devices.disks[0];
  if (root && desired.diskBytes > root.capacityBytes) {
    if (root.parentFileName) throw new Error(`diskGb: the root disk is a linked clone (delta of ${root.parentFileName}); it cannot grow: use cloneMode: full`);
    changes.push(growDiskSpec(root, desired.diskBytes));
  }
  if (changes.length) spec.deviceChange = changes;
  const ec = extraConfigChanges(current.extraConfig, desired.guestConfig);
  if (ec.length) spec.extraConfig = ec;

  const steps: PlanStep[] = [];
  let state = current.powerState;
  let cycled = false;
  const reconfigure = Object.keys(spec).length > 0;
  // A suspended VM cannot take device changes: it is stopped for them too.
  if (reconfigure && (needsPowerCycle || (state === "suspended" && changes.length > 0)) && state !== "off") {
    steps.push({ op: "stop", from: state });
    state = "off";
    cycled = true;
  }
  if (reconfigure) steps.push({ op: "reconfigure" });
  const want = desired.powerState;
  if (want === "off" && state !== "off") {
    steps.push({ op: "stop", from: state });
    state = "off";
  }
  if (want !== "off" && state !== "on" && !(want === "suspended" && state === "suspended")) {
    steps.push({ op: "powerOn" }); // also resumes a suspended VM
    state = "on";
    cycled = true;
  }
  if (want === "on" && desired.reboot && !cycled) steps.push({ op: current.toolsRunning ? "rebootGuest" : "reset" });
  if (want === "suspended" && state === "on") steps.push({ op: "suspend" });
  return { spec, needsPowerCycle, steps };
}

/** The desired VM of a spec, with its NICs resolved. */
export function desiredVm(spec: InstanceSpec, nics: ResolvedNic[], guest: Record<string, string>, reboot: boolean): DesiredVm {
  return {
    cpus: spec.cpus,
    memoryMb: spec.memoryMb,
    guestId: effectiveGuestId(spec),
    nics,
    diskBytes: desiredDiskBytes(spec),
    guestConfig: guest,
    powerState: spec.powerState,
    reboot,
  };
}
