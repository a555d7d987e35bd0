/** VirtualDiskManager: copying, extending and deleting virtual disks (descriptor and extents together). */
import { startTask, Task } from "../vim/tasks";
import type { BaseVirtualDiskSpec } from "../vim/types.generated";
import { MoRef } from "../vim/xml";
import { ManagedObject } from "./managed-object";

export class VirtualDiskManager extends ManagedObject<"VirtualDiskManager"> {
  /**
   * CopyVirtualDisk_Task. Copying a child disk (a snapshot or linked-clone delta) consolidates its whole chain
   * into the copy. A host without vCenter needs `destSpec`.
   */
  copyVirtualDisk(sourceName: string, dest: string, datacenter: MoRef<"Datacenter">, destSpec: BaseVirtualDiskSpec, force = false): Promise<Task> {
    return startTask(this.session, "CopyVirtualDisk_Task", this.ref, {
      sourceName,
      sourceDatacenter: datacenter,
      destName: dest,
      destDatacenter: datacenter,
      destSpec,
      force,
    });
  }

  /** ExtendVirtualDisk_Task to `newCapacityKb`. */
  extendVirtualDisk(name: string, datacenter: MoRef<"Datacenter">, newCapacityKb: number, eagerZero = false): Promise<Task> {
    return startTask(this.session, "ExtendVirtualDisk_Task", this.ref, { name, datacenter, newCapacityKb, eagerZero });
  }

  /** DeleteVirtualDisk_Task (descriptor and extents). */
  deleteVirtualDisk(name: string, datacenter: MoRef<"Datacenter">): Promise<Task> {
    return startTask(this.session, "DeleteVirtualDisk_Task", this.ref, { name, datacenter });
  }
}
