/** Folder: creating a VM in it. */
import { startTask, Task } from "../vim/tasks";
import type { VirtualMachineConfigSpec } from "../vim/types.generated";
import { MoRef } from "../vim/xml";
import { ManagedObject } from "./managed-object";

export class Folder extends ManagedObject<"Folder"> {
  /** CreateVM_Task in this folder, in `pool` (on `host` when given); the task's result is the new VM. */
  createVm(config: VirtualMachineConfigSpec, pool: MoRef<"ResourcePool">, host?: MoRef<"HostSystem">): Promise<Task<MoRef<"VirtualMachine">>> {
    return startTask(this.session, "CreateVM_Task", this.ref, { config, pool, host });
  }
}
