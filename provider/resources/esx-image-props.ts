/**
 * Glance image properties -> the defaults instances cloned from the image get (the names the OpenStack VMware
 * driver uses): vmware_adaptertype, vmware_ostype, hw_vif_model, vmware_disktype.
 */
import { ADAPTER_TYPES, DISK_TYPES } from "./esx-image.schema";

export type AdapterType = (typeof ADAPTER_TYPES)[number];
export type DiskType = (typeof DISK_TYPES)[number];
export type NicType = "vmxnet3" | "vmxnet" | "e1000" | "e1000e" | "pcnet32";

/** vmware_adaptertype (or an embedded descriptor's ddb.adapterType), case-insensitive; default lsiLogic. */
export function adapterTypeOf(glanceProp: string | undefined, descriptorAdapter?: string): AdapterType {
  for (const v of [glanceProp, descriptorAdapter]) {
    if (!v) continue;
    const hit = ADAPTER_TYPES.find((a) => a.toLowerCase() === v.trim().toLowerCase());
    if (hit) return hit;
  }
  return "lsiLogic";
}

/** vmware_ostype -> guestId (a vSphere guest id such as ubuntu64Guest); default otherGuest. */
export function guestIdOf(prop: string | undefined): string {
  const v = prop?.trim();
  return v && /^[A-Za-z0-9_]{1,64}$/.test(v) ? v : "otherGuest";
}

const NICS: Record<string, NicType> = {
  vmxnet3: "vmxnet3",
  virtualvmxnet3: "vmxnet3",
  vmxnet: "vmxnet",
  virtualvmxnet: "vmxnet",
  e1000: "e1000",
  virtuale1000: "e1000",
  e1000e: "e1000e",
  virtuale1000e: "e1000e",
  pcnet32: "pcnet32",
  virtualpcnet32: "pcnet32",
};

/** hw_vif_model (e1000, VirtualE1000, e1000e, vmxnet3, VirtualVmxnet3, pcnet32, ...) -> nicType; default vmxnet3. */
export function nicTypeOf(prop: string | undefined): NicType {
  return (prop && NICS[prop.trim().toLowerCase()]) || "vmxnet3";
}

/** The diskType input, else vmware_disktype (sparse/thin/streamOptimized -> thin, preallocated -> thick), else thin. */
export function diskTypeOf(input: DiskType | undefined, prop: string | undefined): DiskType {
  if (input) return input;
  switch (prop?.trim().toLowerCase()) {
    case "preallocated":
    case "thick":
    case "zeroedthick":
      return "thick";
    case "eagerzeroedthick":
      return "eagerZeroedThick";
    default:
      return "thin";
  }
}
