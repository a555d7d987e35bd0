/** VirtualMachineSnapshot: removal (the VM's state as the snapshot has it is read through `properties`). */
import { startTask, Task } from "../vim/tasks";
import { ManagedObject } from "./managed-object";

export class VirtualMachineSnapshot extends ManagedObject<"VirtualMachineSnapshot"> {
  /** RemoveSnapshot_Task; `consolidate` merges the snapshot's delta into its parent. */
  remove(removeChildren: boolean, consolidate: boolean): Promise<Task> {
    return startTask(this.session, "RemoveSnapshot_Task", this.ref, { removeChildren, consolidate });
  }
}
