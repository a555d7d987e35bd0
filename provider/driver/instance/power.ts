/**
 * Power operations as the instance use cases run them: a lost answer resolved by reading the power state, a
 * graceful guest shutdown waited for with a property wait (WaitForUpdatesEx, no polling), and InvalidPowerState
 * accepted when the VM is already where it should be.
 */
import { VirtualMachine } from "../../esx/virtual-machine";
import { VimTransportError } from "../../vim/faults";
import type { Task } from "../../vim/tasks";
import { isFault } from "../host-calls";
import { powerStateOf } from "../vm-state";
import { PowerState } from "./spec";

const VIM_STATE: Record<PowerState, string> = { on: "poweredOn", off: "poweredOff", suspended: "suspended" };

/**
 * A power task. When its answer is lost, the VM's power state tells whether it took effect; only when the host
 * shows the state not reached is the task sent once more.
 */
async function powerTask(vm: VirtualMachine, start: () => Promise<Task>, reached: PowerState): Promise<void> {
  try {
    await (await start()).wait();
  } catch (e) {
    if (!(e instanceof VimTransportError)) throw e;
    const now = (await vm.properties(["runtime.powerState"]).catch(() => undefined))?.["runtime.powerState"];
    if (now === VIM_STATE[reached]) return;
    if (now === undefined) throw e;
    await (await start()).wait();
  }
}

export function powerOn(vm: VirtualMachine): Promise<void> {
  return powerTask(vm, () => vm.powerOn(), "on");
}

export function powerOff(vm: VirtualMachine): Promise<void> {
  return powerTask(vm, () => vm.powerOff(), "off");
}

export function suspend(vm: VirtualMachine): Promise<void> {
  return powerTask(vm, () => vm.suspend(), "suspended");
}

export async function reset(vm: VirtualMachine): Promise<void> {
  await (await vm.reset()).wait();
}

/**
 * Runs a power operation; InvalidPowerState is fine when the VM is already in `target` (another operation, e.g.
 * one still running on the host from a killed provider process, got there first).
 */
export async function powerTo(vm: VirtualMachine, target: PowerState, op: () => Promise<void>): Promise<void> {
  try {
    await op();
  } catch (e) {
    if (!isFault(e, "InvalidPowerState")) throw e;
    const now = (await vm.properties(["runtime.powerState"]))?.["runtime.powerState"];
    if (powerStateOf(now) !== target) throw e;
  }
}

/**
 * Brings a VM to "off": a graceful guest shutdown when VMware Tools run (waiting up to timeoutSeconds for the
 * power state to follow, with a property wait), then a hard power-off if it is still on. A suspended VM is
 * powered off directly.
 */
export async function stopVm(vm: VirtualMachine, state: { powerState: PowerState; toolsRunning: boolean }, timeoutSeconds: number): Promise<void> {
  if (state.powerState === "off") return;
  if (state.powerState === "on" && state.toolsRunning && timeoutSeconds > 0) {
    try {
      await vm.shutdownGuest();
      const stopped = await vm.waitFor(["runtime.powerState"], (p) => p["runtime.powerState"] === "poweredOff", {
        timeoutMs: timeoutSeconds * 1000,
        goneCountsAsReached: true,
      });
      if (stopped.reached) return;
    } catch (e) {
      if (!isFault(e, "ToolsUnavailable", "InvalidState", "InvalidPowerState")) throw e;
    }
  }
  try {
    await powerOff(vm);
  } catch (e) {
    if (isFault(e, "InvalidPowerState")) return; // already off (the guest finished its shutdown)
    throw e;
  }
}
