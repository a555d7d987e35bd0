/**
 * Instance create: a VM from an image in one CreateVM_Task (controller, root disk as a delta child of the image's
 * base disk or a full copy, NICs with fixed MACs, machine.id, cloud-init guestinfo and the URN marker), its
 * automatic addresses settled against other processes, then the power state (and an IP wait when asked for).
 *
 * A VM of that name with this resource's marker is an interrupted create: it is finished (converged), not
 * duplicated. One without the marker is taken over only with `adopt`.
 */
import { HostContext } from "../../esx/host";
import { VimFault } from "../../vim/faults";
import type { VirtualMachineConfigSpec } from "../../vim/types.generated";
import type { MoRef } from "../../vim/xml";
import { decodeMachineId } from "../../guest/machine-id";
import { usedAddresses } from "../addresses";
import { addNicSpec, controllerSpec, rootDiskSpec } from "../devices";
import { PartialFailure } from "../errors";
import { deleteDatastorePath, deleteVirtualDisk, makeDirectory } from "../files";
import { EsxHost, Logger } from "../host";
import { isFault, sendOnce } from "../host-calls";
import { listVms, readVm, VmState, VmSummary } from "../vm-state";
import { converge } from "./converge";
import { autoLeases, guestConfig, MARKER_KEY, optionValues, ResolvedNic, resolveNics } from "./nics";
import { copyAdapter, desiredDiskBytes, effectiveAdapter, effectiveGuestId } from "./plan";
import { powerOn, suspend } from "./power";
import { InstanceSpec } from "./spec";
import { waitForGuestIp } from "./wait-ip";

export interface InstanceResult {
  vm: VmState;
  nics: ResolvedNic[];
  /** An existing VM without this resource's marker was taken over (adopt). */
  adopted: boolean;
  /** IPv4 addresses VMware Tools report (after the IP wait, when there was one). */
  guestIps: string[];
}

/** What a create that failed after making the VM leaves: the VM, to be tracked and finished by the next run. */
export type PartialInstance = PartialFailure<{ vm: VmState; adopted: boolean }>;

/** The host can run the spec and has its datastore. */
export function checkHostLimits(ctx: HostContext, spec: InstanceSpec): void {
  if (ctx.cpuCores > 0 && spec.cpus > ctx.cpuCores) throw new Error(`cpus: ${spec.cpus} is more than the host's ${ctx.cpuCores} cores`);
  const hostMb = Math.floor(ctx.memoryBytes / 1024 / 1024);
  if (hostMb > 0 && spec.memoryMb > hostMb) throw new Error(`memoryMb: ${spec.memoryMb} is more than the host's ${hostMb} MB`);
  if (!ctx.datastores.some((d) => d.name === spec.image.datastore)) {
    throw new Error(`image.datastore: ${spec.image.datastore} is not a datastore of the host (it has ${ctx.datastores.map((d) => d.name).join(", ")})`);
  }
}

/** CreateVM found the name taken (a create racing with ours, e.g. one still running from a killed process). */
class NameTaken extends Error {
  constructor(readonly fault: VimFault) {
    super(fault.message);
  }
}

/** Creation order of two VMs by their managed object ids (ESX numbers them increasingly: "12", "vm-12"). */
function olderThan(a: string, b: string): boolean {
  const n = (s: string) => Number(s.replace(/\D/g, ""));
  return n(a) !== n(b) ? n(a) < n(b) : a < b;
}

/**
 * Another plugin process (another stack) may have allocated the same "auto" address at the same time: in-process
 * allocations do not reach it. After CreateVM, before power-on, the VMs on the host are listed; an address this VM
 * shares with an older VM is given up (the younger VM moves), allocated anew and written to the guest data.
 */
async function settleAllocations(host: EsxHost, spec: InstanceSpec, ref: MoRef<"VirtualMachine">, nics: ResolvedNic[]): Promise<ResolvedNic[]> {
  for (let round = 0; nics.some((n) => n.input.ip === "auto") && round < 10; round++) {
    const vms = await listVms(host.ctx);
    const older = new Set<string>();
    for (const v of vms) {
      if (v.ref.value === ref.value || !olderThan(v.ref.value, ref.value)) continue;
      for (const n of decodeMachineId(v.extraConfig["machine.id"] ?? "").nics) older.add(n.ip);
    }
    const clash = nics.filter((n) => n.input.ip === "auto" && n.ip && older.has(n.ip));
    if (!clash.length) return nics;
    host.addresses.release(autoLeases(nics));
    const keep = new Map(nics.filter((n) => n.ip && !clash.includes(n)).map((n) => [n.mac, n.ip!] as [string, string]));
    nics = resolveNics(spec, spec.name, usedAddresses(vms, ref.value), host.addresses, nics, keep);
    const extra = guestConfig(spec.name, nics, spec.userData, spec.resourceUrn);
    await (await host.vm(ref).reconfigure({ extraConfig: optionValues(extra) })).wait();
  }
  return nics;
}

/** The CreateVM_Task config of an instance: controller, root disk, NICs and the guest data. */
export function vmConfig(spec: InstanceSpec, dir: string, diskPath: string, nics: ResolvedNic[]): VirtualMachineConfigSpec {
  const full = spec.cloneMode === "full";
  const ctl = controllerSpec(effectiveAdapter(spec));
  return {
    name: spec.name,
    guestId: effectiveGuestId(spec),
    // A full .vmx path: a second CreateVM of the same name fails (FileAlreadyExists) instead of making "name_1".
    files: { vmPathName: `${dir}/${spec.name}.vmx` },
    numCPUs: spec.cpus,
    memoryMB: spec.memoryMb,
    deviceChange: [
      ...(ctl.change ? [ctl.change] : []),
      rootDiskSpec({
        controllerKey: ctl.controllerKey,
        fileName: diskPath,
        capacityBytes: desiredDiskBytes(spec),
        parentFileName: full ? undefined : spec.image.datastorePath,
        existing: full,
      }),
      ...nics.map((n, i) => addNicSpec(i, n)),
    ],
    extraConfig: optionValues(guestConfig(spec.name, nics, spec.userData, spec.resourceUrn)),
  };
}

/** A full clone's disk: the image's base disk copied (and grown) to `diskPath`. */
async function copyRootDisk(host: EsxHost, spec: InstanceSpec, diskPath: string): Promise<void> {
  const dc = host.placement.datacenter;
  const copy = async () =>
    (
      await host.virtualDiskManager.copyVirtualDisk(spec.image.datastorePath, diskPath, dc, {
        _type: "VirtualDiskSpec",
        diskType: "thin",
        adapterType: copyAdapter(effectiveAdapter(spec)),
      })
    ).wait();
  try {
    await copy();
  } catch (e) {
    // No VM of this name is registered (checked before): a disk at our path is a leftover of an interrupted create.
    if (!isFault(e, "FileAlreadyExists")) throw e;
    await deleteVirtualDisk(host, diskPath);
    await copy();
  }
  const capacity = desiredDiskBytes(spec);
  if (capacity > spec.image.capacityBytes) await (await host.virtualDiskManager.extendVirtualDisk(diskPath, dc, Math.ceil(capacity / 1024))).wait();
}

async function createNew(host: EsxHost, spec: InstanceSpec, used: Set<string>): Promise<{ vm: VmState; nics: ResolvedNic[] }> {
  const name = spec.name;
  const dir = `[${spec.image.datastore}] ${name}`;
  const diskPath = `${dir}/${name}.vmdk`;
  const full = spec.cloneMode === "full";
  let nics = resolveNics(spec, name, used, host.addresses);
  let madeDir = full;
  let ref: MoRef<"VirtualMachine">;
  try {
    if (full) {
      await makeDirectory(host, dir, true);
      await copyRootDisk(host, spec, diskPath);
    }
    const config = vmConfig(spec, dir, diskPath, nics);
    // CreateVM is not repeated when its answer is lost: the VM this create made is found by name and marker.
    const made = async () =>
      (spec.resourceUrn ? (await listVms(host.ctx)).find((v) => v.name === name && v.extraConfig[MARKER_KEY] === spec.resourceUrn) : undefined)?.ref;
    const create = async () => (await host.vmFolder.createVm(config, host.placement.resourcePool)).wait();
    try {
      ref = await sendOnce(create, made);
    } catch (e) {
      if (e instanceof VimFault && e.is("FileAlreadyExists", "DuplicateName", "AlreadyExists")) throw new NameTaken(e);
      if (!isFault(e, "FileNotFound", "CannotCreateFile") || full) throw e;
      // The host did not make the VM's directory itself: make it and try once more.
      await makeDirectory(host, dir, true);
      madeDir = true;
      try {
        ref = await sendOnce(create, made);
      } catch (e2) {
        if (e2 instanceof VimFault && e2.is("FileNotFound"))
          throw new Error(`image.datastorePath: the base disk ${spec.image.datastorePath} was not found on the host (${e2.hostMessage || e2.faultName})`, {
            cause: e2,
          });
        throw e2;
      }
    }
  } catch (e) {
    host.addresses.release(autoLeases(nics));
    // Undo what this create made (never a folder another VM of this name owns).
    if (madeDir && !(e instanceof NameTaken)) await deleteDatastorePath(host, dir).catch(() => undefined);
    throw e;
  }
  const machine = host.vm(ref);
  try {
    nics = await settleAllocations(host, spec, ref, nics);
    if (spec.powerState !== "off") await powerOn(machine);
    if (spec.powerState === "suspended") await suspend(machine);
  } catch (e) {
    const vm = await readVm(host.ctx, ref).catch(() => undefined);
    const msg = e instanceof Error ? e.message : String(e);
    const message = `VM ${name} (${ref.value}) was created but could not be brought to powerState ${spec.powerState}: ${msg}`;
    if (vm) throw new PartialFailure(message, ref.value, { vm, adopted: false }, { cause: e });
    throw new Error(message, { cause: e });
  }
  const vm = await readVm(host.ctx, ref);
  if (!vm) throw new Error(`VM ${name} (${ref.value}) disappeared right after its creation`);
  return { vm, nics };
}

/** The VM of this name made for this resource (its marker is the resource's URN), if any. */
function ours(spec: InstanceSpec, vm: VmSummary | undefined): boolean {
  return !!vm && !!spec.resourceUrn && vm.extraConfig[MARKER_KEY] === spec.resourceUrn;
}

export async function createInstance(host: EsxHost, spec: InstanceSpec, log: Logger = () => undefined): Promise<InstanceResult> {
  const name = spec.name;
  const trace = host.trace("EsxInstance create");
  checkHostLimits(host.ctx, spec);
  const vms = await listVms(host.ctx);
  const existing = vms.find((v) => v.name === name);
  let result: { vm: VmState; nics: ResolvedNic[] };
  let adopted = false;
  if (existing) {
    const marker = existing.extraConfig[MARKER_KEY];
    if (!ours(spec, existing) && !spec.adopt) {
      throw new Error(
        `a VM named ${name} already exists on the host (${existing.ref.value}${marker ? `, made for ${marker}` : ", not made by this provider"}): set adopt: true to take it over`,
      );
    }
    const vm = await readVm(host.ctx, existing.ref);
    if (!vm) throw new Error(`VM ${name} (${existing.ref.value}) disappeared while being taken over`);
    adopted = !ours(spec, existing);
    log(adopted ? `taking over the existing VM ${name} (${existing.ref.value})` : `finishing the interrupted create of ${name} (${existing.ref.value})`);
    result = await converge(host, vm, spec, { used: usedAddresses(vms, existing.ref.value) });
  } else {
    try {
      result = await createNew(host, spec, usedAddresses(vms));
    } catch (e) {
      if (!(e instanceof NameTaken)) throw e;
      const again = (await listVms(host.ctx)).find((v) => v.name === name);
      const vm = again && ours(spec, again) ? await readVm(host.ctx, again.ref) : undefined;
      if (!vm)
        throw new Error(
          `a VM named ${name} appeared on the host while this one was being created (${e.fault.faultName}): set adopt: true to take it over, or choose another name`,
          { cause: e },
        );
      result = await converge(host, vm, spec, { used: usedAddresses(await listVms(host.ctx), vm.ref.value) });
    }
  }
  let guestIps = result.vm.guestIps;
  if (spec.waitForIpSeconds !== undefined && spec.powerState === "on") {
    try {
      guestIps = await waitForGuestIp(host.vm(result.vm.ref), spec.waitForIpSeconds);
    } catch (e) {
      throw new PartialFailure((e as Error).message, result.vm.ref.value, { vm: result.vm, adopted });
    }
  }
  trace();
  return { ...result, vm: { ...result.vm, guestIps }, adopted, guestIps };
}
