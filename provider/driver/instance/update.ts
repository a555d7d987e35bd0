/** Instance update and read: the VM converged to the new spec; what the host has. */
import { AddressLease, usedAddresses } from "../addresses";
import { EsxHost } from "../host";
import { listVms, readVm, vmRef, VmState } from "../vm-state";
import { converge } from "./converge";
import { ResolvedNic } from "./nics";
import { InstanceSpec } from "./spec";
import { checkHostLimits } from "./create";

export interface UpdateOptions {
  /** The guest should reboot (rebootTrigger changed). */
  reboot: boolean;
  /** The automatic addresses the instance held before (given back when it no longer uses them). */
  previous: AddressLease[];
}

export async function updateInstance(host: EsxHost, id: string, spec: InstanceSpec, opts: UpdateOptions): Promise<{ vm: VmState; nics: ResolvedNic[] }> {
  const vm = await readVm(host.ctx, vmRef(id));
  if (!vm) throw new Error(`VM ${id} no longer exists on the host: run pulumi refresh, then up to create it again`);
  checkHostLimits(host.ctx, spec);
  // The host's other VMs matter only for allocating "auto" addresses: no list otherwise (one round trip less).
  const auto = spec.networks.some((n) => n.ip === "auto");
  const used = auto ? usedAddresses(await listVms(host.ctx), id) : new Set<string>();
  const trace = host.trace("EsxInstance update");
  const r = await converge(host, vm, spec, { used, reboot: opts.reboot });
  const kept = new Set(r.nics.map((n) => n.ip));
  host.addresses.release(opts.previous.filter((n) => !kept.has(n.ip)));
  trace();
  return r;
}

/** The VM as the host has it; undefined when it no longer exists. */
export function readInstance(host: EsxHost, id: string): Promise<VmState | undefined> {
  return readVm(host.ctx, vmRef(id));
}
