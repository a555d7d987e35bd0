/**
 * Virtual devices of a VM: the parsed view of the devices a host reports (config.hardware.device), and the vim25
 * device changes for the controllers, disks and NICs this provider creates or edits.
 */
import { ADAPTERS, AdapterType, NicDeviceType, NICS, NicType, nicOfDevice } from "../hardware";
import type { BaseVirtualDevice, BaseVirtualEthernetCard, VirtualDeviceConfigSpec, VirtualDisk } from "../vim/types.generated";

/** The IDE controller every VM has (key 200, bus 0). */
export const IDE_CONTROLLER_KEY = 200;
const NEW_CONTROLLER_KEY = -101;
const NEW_DISK_KEY = -201;

export interface HostNic {
  key: number;
  /** The vim25 device type (VirtualVmxnet3, ...). */
  vimType: string;
  nicType: NicType | undefined;
  mac: string;
  portGroup: string;
  /** The device as the host reported it (for edit specs). */
  raw: BaseVirtualEthernetCard;
}

export interface HostDisk {
  key: number;
  fileName: string;
  parentFileName?: string;
  capacityBytes: number;
  raw: VirtualDisk;
}

export interface HostDevices {
  nics: HostNic[];
  disks: HostDisk[];
  controllers: { key: number; vimType: string }[];
}

function isEthernetCard(d: BaseVirtualDevice): d is BaseVirtualEthernetCard {
  return "macAddress" in d || nicOfDevice(d._type) !== undefined;
}

function backingField(d: BaseVirtualDevice, field: "deviceName" | "fileName"): string {
  const v = (d.backing as Record<string, unknown> | undefined)?.[field];
  return typeof v === "string" ? v : "";
}

export function parseDevices(devices: BaseVirtualDevice[] | undefined): HostDevices {
  const out: HostDevices = { nics: [], disks: [], controllers: [] };
  for (const d of devices ?? []) {
    const t = d._type ?? "";
    if (isEthernetCard(d)) {
      out.nics.push({
        key: Number(d.key),
        vimType: t,
        nicType: nicOfDevice(t),
        mac: String(d.macAddress ?? "").toLowerCase(),
        portGroup: backingField(d, "deviceName"),
        raw: d,
      });
    } else if (d._type === "VirtualDisk") {
      const kb = Number(d.capacityInKB ?? 0);
      const parent = d.backing && "parent" in d.backing ? d.backing.parent?.fileName : undefined;
      out.disks.push({
        key: Number(d.key),
        fileName: backingField(d, "fileName"),
        parentFileName: parent || undefined,
        capacityBytes: Number(d.capacityInBytes ?? 0) || kb * 1024,
        raw: d,
      });
    } else if (/Controller$/.test(t)) out.controllers.push({ key: Number(d.key), vimType: t });
  }
  out.nics.sort((a, b) => a.key - b.key);
  out.disks.sort((a, b) => a.key - b.key);
  return out;
}

/** The new disk controller (none for IDE: every VM has one) and the controller key the root disk goes on. */
export function controllerSpec(adapter: AdapterType): { change?: VirtualDeviceConfigSpec; controllerKey: number } {
  const controller = ADAPTERS[adapter].controller;
  if (controller === "VirtualIDEController") return { controllerKey: IDE_CONTROLLER_KEY };
  return {
    controllerKey: NEW_CONTROLLER_KEY,
    change: { operation: "add", device: { _type: controller, key: NEW_CONTROLLER_KEY, busNumber: 0, sharedBus: "noSharing" } },
  };
}

export interface RootDiskOptions {
  controllerKey: number;
  /** "[ds] name/name.vmdk" */
  fileName: string;
  capacityBytes: number;
  /** Linked clone: the base disk the new delta disk is a child of. */
  parentFileName?: string;
  /** true: the disk file exists already (a full copy); attach it. */
  existing?: boolean;
}

export function rootDiskSpec(o: RootDiskOptions): VirtualDeviceConfigSpec {
  return {
    operation: "add",
    fileOperation: o.existing ? undefined : "create",
    device: {
      _type: "VirtualDisk",
      key: NEW_DISK_KEY,
      backing: {
        _type: "VirtualDiskFlatVer2BackingInfo",
        fileName: o.fileName,
        diskMode: "persistent",
        thinProvisioned: true,
        parent: o.parentFileName ? { fileName: o.parentFileName, diskMode: "persistent" } : undefined,
      },
      controllerKey: o.controllerKey,
      unitNumber: 0,
      capacityInKB: Math.ceil(o.capacityBytes / 1024),
      capacityInBytes: o.capacityBytes,
    },
  };
}

/** The device's label/summary as the host reported them (sent back with edits; the simulator needs them). */
function deviceInfo(raw: BaseVirtualDevice): { label: string; summary: string } {
  return { label: String(raw.deviceInfo?.label ?? ""), summary: String(raw.deviceInfo?.summary ?? "") };
}

/** A disk edit that grows the disk to capacityBytes. */
export function growDiskSpec(disk: HostDisk, capacityBytes: number): VirtualDeviceConfigSpec {
  const d = disk.raw;
  const diskMode = d.backing && "diskMode" in d.backing ? d.backing.diskMode : undefined;
  return {
    operation: "edit",
    device: {
      _type: "VirtualDisk",
      key: disk.key,
      deviceInfo: deviceInfo(d),
      backing: { _type: "VirtualDiskFlatVer2BackingInfo", fileName: disk.fileName, diskMode: diskMode ?? "persistent" },
      controllerKey: Number(d.controllerKey),
      unitNumber: Number(d.unitNumber),
      capacityInKB: Math.ceil(capacityBytes / 1024),
      capacityInBytes: capacityBytes,
    },
  };
}

/** A disk removal that leaves its files in place (a linked clone's delta goes with the VM's folder). */
export function detachDiskSpec(disk: HostDisk): VirtualDeviceConfigSpec {
  return {
    operation: "remove",
    device: {
      _type: "VirtualDisk",
      key: disk.key,
      controllerKey: Number(disk.raw.controllerKey),
      unitNumber: Number(disk.raw.unitNumber),
      capacityInKB: Math.ceil(disk.capacityBytes / 1024),
    },
  };
}

export interface NicWanted {
  portGroup: string;
  mac: string;
  nicType: NicType;
}

function nicDevice(key: number, n: NicWanted): BaseVirtualEthernetCard {
  return {
    _type: NICS[n.nicType].device as NicDeviceType,
    key,
    backing: { _type: "VirtualEthernetCardNetworkBackingInfo", deviceName: n.portGroup },
    connectable: { startConnected: true, allowGuestControl: true, connected: true },
    addressType: "manual",
    macAddress: n.mac,
  };
}

export function addNicSpec(index: number, n: NicWanted): VirtualDeviceConfigSpec {
  return { operation: "add", device: nicDevice(-300 - index, n) };
}

export function editNicSpec(cur: HostNic, n: NicWanted): VirtualDeviceConfigSpec {
  const dev = nicDevice(cur.key, n);
  dev.deviceInfo = deviceInfo(cur.raw);
  if (cur.raw.controllerKey !== undefined) dev.controllerKey = Number(cur.raw.controllerKey);
  if (cur.raw.unitNumber !== undefined) dev.unitNumber = Number(cur.raw.unitNumber);
  return { operation: "edit", device: dev };
}

export function removeDeviceSpec(raw: BaseVirtualDevice, key: number): VirtualDeviceConfigSpec {
  return { operation: "remove", device: { ...({ _type: raw._type ?? "VirtualDevice" } as Pick<BaseVirtualDevice, "_type">), key } };
}
