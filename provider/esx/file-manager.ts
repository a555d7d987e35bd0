/** FileManager: datastore directories and deletes (file contents go over HTTP: transfer.ts). */
import { startTask, Task } from "../vim/tasks";
import { MoRef } from "../vim/xml";
import { ManagedObject } from "./managed-object";

export class FileManager extends ManagedObject<"FileManager"> {
  /** MakeDirectory of a datastore path ("[ds] dir"); fails with FileAlreadyExists when it exists. */
  async makeDirectory(name: string, datacenter: MoRef<"Datacenter">, createParentDirectories: boolean): Promise<void> {
    await this.session.call("MakeDirectory", this.ref, { name, datacenter, createParentDirectories });
  }

  /** DeleteDatastoreFile_Task of a file or a directory (recursively). */
  deleteDatastoreFile(name: string, datacenter: MoRef<"Datacenter">): Promise<Task> {
    return startTask(this.session, "DeleteDatastoreFile_Task", this.ref, { name, datacenter });
  }
}
