/**
 * Instance delete: a graceful guest shutdown when VMware Tools run (bounded), then power-off, a linked clone's
 * disk detached so Destroy_Task never touches the image's base disk, Destroy_Task, the VM's folder removed, and
 * its automatic addresses given back. A VM already gone counts as deleted.
 */
import { dsDirectory } from "../../esx/datastore";
import { AddressLease } from "../addresses";
import { detachDiskSpec } from "../devices";
import { deleteDatastorePath } from "../files";
import { EsxHost } from "../host";
import { sendOnce } from "../host-calls";
import { readVm, vmRef } from "../vm-state";
import { stopVm } from "./power";

export interface DestroyOptions {
  shutdownTimeoutSeconds: number;
  /** The .vmx path recorded at create (the folder to remove when the host no longer reports one). */
  vmxPath?: string | null;
  /** The automatic addresses the instance held. */
  leases: AddressLease[];
}

export async function destroyInstance(host: EsxHost, id: string, opts: DestroyOptions): Promise<void> {
  const vm = await readVm(host.ctx, vmRef(id));
  if (!vm) return host.addresses.release(opts.leases);
  const machine = host.vm(vm.ref);
  const folder = dsDirectory(vm.vmxPath ?? opts.vmxPath);
  await stopVm(machine, vm, opts.shutdownTimeoutSeconds);
  // A linked clone's disk names the image's base disk as parent: detach it (no file operation) so that
  // Destroy_Task has no disk chain to delete; the delta files go with the VM's folder.
  const linked = vm.devices.disks.filter((d) => d.parentFileName);
  if (linked.length) {
    await sendOnce(
      async () => (await machine.reconfigure({ deviceChange: linked.map(detachDiskSpec) })).wait().then(() => true),
      async () => ((await readVm(host.ctx, vm.ref))?.devices.disks.some((d) => d.parentFileName) === false ? true : undefined),
    );
  }
  // When Destroy_Task's answer is lost, a VM that no longer exists counts as destroyed.
  await sendOnce(
    async () => (await machine.destroy()).wait().then(() => true),
    async () => ((await machine.properties(["name"]))?.name === undefined ? true : undefined),
  );
  host.addresses.release(opts.leases);
  if (folder) await deleteDatastorePath(host, folder);
}
