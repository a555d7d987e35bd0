/**
 * Glance image properties -> the defaults instances cloned from the image get (the names OpenStack's VMware
 * driver uses): vmware_adaptertype, vmware_ostype, hw_vif_model, vmware_disktype. Spellings: provider/hardware.ts.
 */
import { AdapterType, DEFAULT_ADAPTER, DEFAULT_DISK, DEFAULT_NIC, DiskType, NicType, parseAdapterType, parseDiskType, parseNicType } from "../../hardware";

/** vmware_adaptertype, else an embedded descriptor's ddb.adapterType (any spelling); default lsilogic. */
export function imageAdapterType(glanceProp: string | undefined, descriptorAdapter?: string): AdapterType {
  return parseAdapterType(glanceProp) ?? parseAdapterType(descriptorAdapter) ?? DEFAULT_ADAPTER;
}

/** vmware_ostype -> guestId (a vSphere guest id such as ubuntu64Guest); default otherGuest. */
export function imageGuestId(prop: string | undefined): string {
  const v = prop?.trim();
  return v && /^[A-Za-z0-9_]{1,64}$/.test(v) ? v : "otherGuest";
}

/** hw_vif_model (e1000, VirtualE1000, e1000e, vmxnet3, VirtualVmxnet3, pcnet32, ...) -> NIC type; default vmxnet3. */
export function imageNicType(prop: string | undefined): NicType {
  return parseNicType(prop) ?? DEFAULT_NIC;
}

/** The diskType asked for, else vmware_disktype (sparse/thin/streamOptimized: thin, preallocated: thick), else thin. */
export function imageDiskType(input: DiskType | undefined, prop: string | undefined): DiskType {
  return input ?? parseDiskType(prop) ?? DEFAULT_DISK;
}
