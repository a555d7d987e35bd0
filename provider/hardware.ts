/**
 * The one vocabulary of virtual hardware: disk adapter (controller) types, NIC types and disk provisioning types,
 * each defined once, with the explicit spelling every other party uses for it:
 *
 * - vim25: the device type of the controller or NIC (`VirtualLsiLogicController`, `VirtualVmxnet3`), the
 *   `VirtualDiskAdapterType` a VirtualDiskManager call takes (only ide, busLogic and lsiLogic exist: SAS and
 *   paravirtual disks are created as lsiLogic, which is what ESX itself writes for them) and the `VirtualDiskType`;
 * - Glance image properties: `vmware_adaptertype` (lsiLogic, busLogic, lsiLogicsas, paraVirtual, ide),
 *   `hw_vif_model`, `vmware_disktype` (the names OpenStack's VMware driver uses);
 * - VMDK descriptors: `ddb.adapterType` (ide, buslogic, lsilogic, legacyESX: descriptors know no SAS or
 *   paravirtual type) and `ddb.thinProvisioned`.
 *
 * Every layer imports from here; none keeps its own list. Parsing accepts every spelling above (any case), so
 * a value read from any of them maps to the same type.
 */
import type { VirtualDiskAdapterType, VirtualDiskType } from "./vim/types.generated";

// ------------------------------------------------------------------------------------------------ adapters

/** Disk adapter types, as EsxInstance's adapterType input spells them. */
export const ADAPTER_TYPES = ["lsilogic", "buslogic", "lsilogicsas", "pvscsi", "ide"] as const;
export type AdapterType = (typeof ADAPTER_TYPES)[number];

/** `ddb.adapterType` values of VMDK descriptors (legacyESX: ESX 2's BusLogic). */
export type DescriptorAdapterType = "ide" | "buslogic" | "lsilogic" | "legacyESX";

/** The vim25 controller device types (every VM has an IDE controller: ide needs no new one). */
export type ControllerDeviceType =
  "VirtualLsiLogicController" | "VirtualBusLogicController" | "VirtualLsiLogicSASController" | "ParaVirtualSCSIController" | "VirtualIDEController";

interface AdapterSpellings {
  controller: ControllerDeviceType;
  /** VirtualDiskManager's adapter type for disks on this controller. */
  virtualDisk: VirtualDiskAdapterType;
  /** Glance `vmware_adaptertype`. */
  glance: string;
  /** VMDK `ddb.adapterType`. */
  descriptor: DescriptorAdapterType;
}

export const ADAPTERS: Record<AdapterType, AdapterSpellings> = {
  lsilogic: { controller: "VirtualLsiLogicController", virtualDisk: "lsiLogic", glance: "lsiLogic", descriptor: "lsilogic" },
  buslogic: { controller: "VirtualBusLogicController", virtualDisk: "busLogic", glance: "busLogic", descriptor: "buslogic" },
  lsilogicsas: { controller: "VirtualLsiLogicSASController", virtualDisk: "lsiLogic", glance: "lsiLogicsas", descriptor: "lsilogic" },
  pvscsi: { controller: "ParaVirtualSCSIController", virtualDisk: "lsiLogic", glance: "paraVirtual", descriptor: "lsilogic" },
  ide: { controller: "VirtualIDEController", virtualDisk: "ide", glance: "ide", descriptor: "ide" },
};

export const DEFAULT_ADAPTER: AdapterType = "lsilogic";

/** Other names people and tools use for an adapter type (lower case, letters only). */
const ADAPTER_ALIASES: Record<string, AdapterType> = {
  paravirtual: "pvscsi",
  pvscsi: "pvscsi",
  sas: "lsilogicsas",
  lsisas1068: "lsilogicsas",
  legacyesx: "buslogic",
};

const letters = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");

/**
 * An adapter type from any spelling: ours, Glance's vmware_adaptertype, a descriptor's ddb.adapterType, a vim25
 * VirtualDiskAdapterType or controller device type; undefined when it names none.
 */
export function parseAdapterType(value: string | null | undefined): AdapterType | undefined {
  if (!value) return undefined;
  const v = letters(value);
  if (ADAPTER_ALIASES[v]) return ADAPTER_ALIASES[v];
  for (const a of ADAPTER_TYPES) {
    const s = ADAPTERS[a];
    if ([a, s.glance, s.controller].some((x) => letters(x) === v)) return a;
  }
  return undefined;
}

/** The adapter type of a vim25 controller device type (undefined for controllers that hold no disks we make). */
export function adapterOfController(deviceType: string): AdapterType | undefined {
  return ADAPTER_TYPES.find((a) => ADAPTERS[a].controller === deviceType);
}

// ------------------------------------------------------------------------------------------------ NICs

export const NIC_TYPES = ["vmxnet3", "e1000", "e1000e", "pcnet32"] as const;
export type NicType = (typeof NIC_TYPES)[number];

/** The vim25 NIC device types. */
export type NicDeviceType = "VirtualVmxnet3" | "VirtualE1000" | "VirtualE1000e" | "VirtualPCNet32";

export const NICS: Record<NicType, { device: NicDeviceType }> = {
  vmxnet3: { device: "VirtualVmxnet3" },
  e1000: { device: "VirtualE1000" },
  e1000e: { device: "VirtualE1000e" },
  pcnet32: { device: "VirtualPCNet32" },
};

export const DEFAULT_NIC: NicType = "vmxnet3";

/**
 * A NIC type from a Glance `hw_vif_model` or any other spelling (e1000, VirtualE1000, vmxnet3, VirtualVmxnet3,
 * ...). The legacy vmxnet (VirtualVmxnet) is taken as vmxnet3, the only vmxnet this provider creates.
 */
export function parseNicType(value: string | null | undefined): NicType | undefined {
  if (!value) return undefined;
  const v = letters(value).replace(/^virtual/, "");
  if (v === "vmxnet") return "vmxnet3";
  return NIC_TYPES.find((n) => n === v);
}

/** The NIC type of a vim25 device type exactly (undefined for devices this provider does not create). */
export function nicOfDevice(deviceType: string | undefined): NicType | undefined {
  return NIC_TYPES.find((n) => NICS[n].device === deviceType);
}

// ------------------------------------------------------------------------------------------------ disks

export const DISK_TYPES = ["thin", "thick", "eagerZeroedThick"] as const;
export type DiskType = (typeof DISK_TYPES)[number];

export const DISKS: Record<DiskType, { virtualDisk: VirtualDiskType; descriptorThin: boolean }> = {
  thin: { virtualDisk: "thin", descriptorThin: true },
  thick: { virtualDisk: "thick", descriptorThin: false },
  eagerZeroedThick: { virtualDisk: "eagerZeroedThick", descriptorThin: false },
};

export const DEFAULT_DISK: DiskType = "thin";

/**
 * A disk type from a Glance `vmware_disktype` (sparse, thin, streamOptimized: thin; preallocated, thick,
 * zeroedthick: thick; eagerzeroedthick) or our own spelling; undefined for anything else.
 */
export function parseDiskType(value: string | null | undefined): DiskType | undefined {
  switch (value ? letters(value) : "") {
    case "thin":
    case "sparse":
    case "streamoptimized":
      return "thin";
    case "thick":
    case "preallocated":
    case "zeroedthick":
      return "thick";
    case "eagerzeroedthick":
      return "eagerZeroedThick";
    default:
      return undefined;
  }
}
