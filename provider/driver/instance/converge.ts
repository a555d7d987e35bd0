/**
 * Bringing an existing VM to its spec: the plan (plan.ts) applied step by step. Used by update, by adopt, and to
 * finish a create that was interrupted after CreateVM.
 */
import { VirtualMachine } from "../../esx/virtual-machine";
import { EsxHost } from "../host";
import { readVm, VmState } from "../vm-state";
import { guestConfig, machineIdIps, ResolvedNic, resolveNics } from "./nics";
import { desiredVm, planReconfigure, ReconfigurePlan } from "./plan";
import { powerOn, powerTo, reset, stopVm, suspend } from "./power";
import { InstanceSpec } from "./spec";

export interface ConvergeOptions {
  /** The guest should reboot (rebootTrigger changed). */
  reboot?: boolean;
  /** Addresses other VMs use (for ip: auto). */
  used: Set<string>;
}

/** Runs a plan's steps against the VM. */
export async function applyPlan(vm: VirtualMachine, plan: ReconfigurePlan, tools: { toolsRunning: boolean }, shutdownTimeoutSeconds: number): Promise<void> {
  for (const step of plan.steps) {
    switch (step.op) {
      case "stop":
        await stopVm(vm, { powerState: step.from, toolsRunning: tools.toolsRunning }, shutdownTimeoutSeconds);
        break;
      case "reconfigure":
        await (await vm.reconfigure(plan.spec)).wait();
        break;
      case "powerOn":
        await powerTo(vm, "on", () => powerOn(vm));
        break;
      case "suspend":
        await powerTo(vm, "suspended", () => suspend(vm));
        break;
      case "rebootGuest":
        await vm.rebootGuest();
        break;
      case "reset":
        await reset(vm);
        break;
    }
  }
}

export async function converge(host: EsxHost, vm: VmState, spec: InstanceSpec, opts: ConvergeOptions): Promise<{ vm: VmState; nics: ResolvedNic[] }> {
  const nics = resolveNics(spec, vm.name, opts.used, host.addresses, vm.devices.nics, machineIdIps(vm.extraConfig["machine.id"]));
  const plan = planReconfigure(vm, desiredVm(spec, nics, guestConfig(vm.name, nics, spec.userData, spec.resourceUrn), opts.reboot ?? false));
  await applyPlan(host.vm(vm.ref), plan, vm, spec.shutdownTimeoutSeconds);
  const after = await readVm(host.ctx, vm.ref);
  if (!after) throw new Error(`VM ${vm.name} (${vm.ref.value}) disappeared while being reconfigured`);
  return { vm: after, nics };
}
