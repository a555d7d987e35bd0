/** VirtualMachine: reconfigure, power, guest operations, snapshot, destroy. Each method is one request. */
import { startTask, Task } from "../vim/tasks";
import type { VirtualMachineConfigSpec } from "../vim/types.generated";
import { MoRef } from "../vim/xml";
import { ManagedObject } from "./managed-object";

export class VirtualMachine extends ManagedObject<"VirtualMachine"> {
  /** ReconfigVM_Task */
  reconfigure(spec: VirtualMachineConfigSpec): Promise<Task> {
    return startTask(this.session, "ReconfigVM_Task", this.ref, { spec });
  }

  /** PowerOnVM_Task (also resumes a suspended VM) */
  powerOn(): Promise<Task> {
    return startTask(this.session, "PowerOnVM_Task", this.ref, {});
  }

  /** PowerOffVM_Task (hard power-off) */
  powerOff(): Promise<Task> {
    return startTask(this.session, "PowerOffVM_Task", this.ref, {});
  }

  /** SuspendVM_Task */
  suspend(): Promise<Task> {
    return startTask(this.session, "SuspendVM_Task", this.ref, {});
  }

  /** ResetVM_Task (hard reset) */
  reset(): Promise<Task> {
    return startTask(this.session, "ResetVM_Task", this.ref, {});
  }

  /** RebootGuest: asks VMware Tools in the guest to reboot (returns at once). */
  async rebootGuest(): Promise<void> {
    await this.session.call("RebootGuest", this.ref);
  }

  /** ShutdownGuest: asks VMware Tools in the guest to shut down (returns at once; the power state follows). */
  async shutdownGuest(): Promise<void> {
    await this.session.call("ShutdownGuest", this.ref);
  }

  /** CreateSnapshot_Task; the task's result is the snapshot. */
  createSnapshot(name: string, description: string, memory: boolean, quiesce: boolean): Promise<Task<MoRef<"VirtualMachineSnapshot">>> {
    return startTask(this.session, "CreateSnapshot_Task", this.ref, { name, description, memory, quiesce });
  }

  /** Destroy_Task: unregisters the VM and deletes its files (disks included). */
  destroy(): Promise<Task> {
    return startTask(this.session, "Destroy_Task", this.ref, {});
  }
}
