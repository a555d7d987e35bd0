/**
 * Bringing an existing VM to the inputs: one ReconfigVM_Task with every difference (CPUs, memory, guestId, NICs,
 * disk growth, the extraConfig keys we own), powered off first only when CPUs, memory or guestId change (or the
 * VM is suspended and needs reconfiguring), then the requested power state, and a reboot when asked for.
 * Used by update, by adopt, and to finish a create that was interrupted after CreateVM.
 */
import { HostContext } from "../esx/host";
import { VimFault } from "../vim/faults";
import { addNicSpec, editNicSpec, growDiskSpec, removeDeviceSpec } from "../esx/devices";
import { powerOn, readVm, rebootGuest, reconfigVm, reset, stopVm, suspend, VmState } from "../esx/vm";
import { EsxInstanceInputs } from "./esx-instance.schema";
import { extraConfigChanges, guestConfig, machineIdIps, resolveNics, ResolvedNic } from "./esx-instance-guest";

export const GiB = 1024 ** 3;

export function desiredDiskBytes(inp: EsxInstanceInputs): number {
  return inp.diskGb !== undefined ? Math.max(Math.round(inp.diskGb * GiB), inp.image.capacityBytes) : inp.image.capacityBytes;
}

export function effectiveGuestId(inp: { guestId?: string | null; image: { guestId?: string | null } }): string {
  return inp.guestId ?? inp.image.guestId ?? "otherGuest64";
}

/**
 * Runs a power operation; InvalidPowerState is fine when the VM is already where we want it (another operation,
 * e.g. one still running on the host from a killed provider process, got there first).
 */
async function tolerant(ctx: HostContext, vm: VmState, op: () => Promise<void>, target: VmState["powerState"]): Promise<void> {
  try {
    await op();
  } catch (e) {
    if (!(e instanceof VimFault && e.is("InvalidPowerState"))) throw e;
    const now = await readVm(ctx, vm.ref);
    if (now?.powerState !== target) throw e;
  }
}

export interface ConvergeOptions {
  reboot?: boolean;
  /** Addresses other VMs use (for ip: auto). */
  used: Set<string>;
}

export async function converge(ctx: HostContext, vm: VmState, inp: EsxInstanceInputs, opts: ConvergeOptions): Promise<{ vm: VmState; nics: ResolvedNic[] }> {
  const nics = resolveNics(inp, vm.name, opts.used, vm.devices.nics, machineIdIps(vm.extraConfig["machine.id"]));
  const spec: Record<string, any> = {};
  const guestId = effectiveGuestId(inp);
  let needsOff = false;
  if (vm.cpus !== inp.cpus) {
    spec.numCPUs = inp.cpus;
    needsOff = true;
  }
  if (vm.memoryMb !== inp.memoryMb) {
    spec.memoryMB = inp.memoryMb;
    needsOff = true;
  }
  if (vm.guestId !== guestId) {
    spec.guestId = guestId;
    needsOff = true;
  }

  const changes: any[] = [];
  const cur = vm.devices.nics;
  for (let i = 0; i < Math.max(cur.length, nics.length); i++) {
    const c = cur[i];
    const w = nics[i];
    if (c && w) {
      if (c.nicType !== w.nicType) changes.push(removeDeviceSpec(c.raw, c.key), addNicSpec(i, w));
      else if (c.portGroup !== w.portGroup || c.mac !== w.mac) changes.push(editNicSpec(c, w));
    } else if (c) changes.push(removeDeviceSpec(c.raw, c.key));
    else if (w) changes.push(addNicSpec(i, w));
  }
  const root = vm.devices.disks[0];
  const wantBytes = desiredDiskBytes(inp);
  if (root && wantBytes > root.capacityBytes) {
    if (root.parentFileName) throw new Error(`diskGb: the root disk is a linked clone (delta of ${root.parentFileName}); it cannot grow: use cloneMode: full`);
    changes.push(growDiskSpec(root, wantBytes));
  }
  if (changes.length) spec.deviceChange = changes;
  const ec = extraConfigChanges(vm.extraConfig, guestConfig(vm.name, nics, inp.userData, inp.resourceUrn));
  if (ec.length) spec.extraConfig = ec;

  let state = vm.powerState;
  let cycled = false;
  const reconfigure = Object.keys(spec).length > 0;
  if (reconfigure && (needsOff || (state === "suspended" && changes.length > 0)) && state !== "off") {
    await stopVm(ctx, vm, inp.shutdownTimeoutSeconds);
    state = "off";
    cycled = true;
  }
  if (reconfigure) await reconfigVm(ctx, vm.ref, spec);

  const want = inp.powerState;
  if (want === "off" && state !== "off") await stopVm(ctx, { ...vm, powerState: state }, inp.shutdownTimeoutSeconds);
  if (want !== "off" && state !== "on" && !(want === "suspended" && state === "suspended")) {
    await tolerant(ctx, vm, () => powerOn(ctx, vm.ref), "on"); // also resumes a suspended VM
    state = "on";
    cycled = true;
  }
  if (want === "on" && opts.reboot && !cycled) {
    if (vm.toolsRunning) await rebootGuest(ctx, vm.ref);
    else await reset(ctx, vm.ref);
  }
  if (want === "suspended" && state === "on") await tolerant(ctx, vm, () => suspend(ctx, vm.ref), "suspended");

  const after = await readVm(ctx, vm.ref);
  if (!after) throw new Error(`VM ${vm.name} (${vm.ref.value}) disappeared while being reconfigured`);
  return { vm: after, nics };
}
