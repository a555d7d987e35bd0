/**
 * Virtual devices of a VM: the vim25 objects for disk controllers, disks and NICs we create, and the parsed view
 * of the devices a host reports (config.hardware.device).
 */
import { list } from "../vim/xml";

export type NicType = "vmxnet3" | "e1000" | "e1000e" | "pcnet32";
export type AdapterType = "lsilogic" | "buslogic" | "lsilogicsas" | "pvscsi" | "ide";

const NIC_VIM: Record<NicType, string> = { vmxnet3: "VirtualVmxnet3", e1000: "VirtualE1000", e1000e: "VirtualE1000e", pcnet32: "VirtualPCNet32" };
const CONTROLLER_VIM: Record<Exclude<AdapterType, "ide">, string> = {
  lsilogic: "VirtualLsiLogicController",
  buslogic: "VirtualBusLogicController",
  lsilogicsas: "VirtualLsiLogicSASController",
  pvscsi: "ParaVirtualSCSIController",
};
/** The IDE controller every VM has (key 200, bus 0). */
export const IDE_CONTROLLER_KEY = 200;
const NEW_CONTROLLER_KEY = -101;
const NEW_DISK_KEY = -201;

export function nicTypeOf(vimType: string | undefined): NicType | undefined {
  return (Object.entries(NIC_VIM).find(([, v]) => v === vimType)?.[0] as NicType) ?? undefined;
}

export interface HostNic {
  key: number;
  vimType: string;
  nicType: NicType | undefined;
  mac: string;
  portGroup: string;
  /** The device as the host reported it (for edit specs). */
  raw: any;
}

export interface HostDisk {
  key: number;
  fileName: string;
  parentFileName?: string;
  capacityBytes: number;
  raw: any;
}

export interface HostDevices {
  nics: HostNic[];
  disks: HostDisk[];
  controllers: { key: number; vimType: string }[];
}

export function parseDevices(devices: unknown): HostDevices {
  const all = list<any>(Array.isArray(devices) ? devices : ((devices as any)?.VirtualDevice ?? devices));
  const out: HostDevices = { nics: [], disks: [], controllers: [] };
  for (const d of all) {
    const t: string = d?._type ?? "";
    if (d?.macAddress !== undefined || nicTypeOf(t)) {
      out.nics.push({
        key: Number(d.key),
        vimType: t,
        nicType: nicTypeOf(t),
        mac: String(d.macAddress ?? "").toLowerCase(),
        portGroup: d.backing?.deviceName ?? "",
        raw: d,
      });
    } else if (t === "VirtualDisk") {
      const kb = Number(d.capacityInKB ?? 0);
      const bytes = Number(d.capacityInBytes ?? 0) || kb * 1024;
      out.disks.push({
        key: Number(d.key),
        fileName: d.backing?.fileName ?? "",
        parentFileName: d.backing?.parent?.fileName || undefined,
        capacityBytes: bytes,
        raw: d,
      });
    } else if (/Controller$/.test(t)) out.controllers.push({ key: Number(d.key), vimType: t });
  }
  out.nics.sort((a, b) => a.key - b.key);
  out.disks.sort((a, b) => a.key - b.key);
  return out;
}

/** The new disk controller (none for IDE) and the controller key the root disk goes on. */
export function controllerSpec(adapter: AdapterType): { change?: any; controllerKey: number } {
  if (adapter === "ide") return { controllerKey: IDE_CONTROLLER_KEY };
  return {
    controllerKey: NEW_CONTROLLER_KEY,
    change: {
      operation: "add",
      device: { _type: CONTROLLER_VIM[adapter], key: NEW_CONTROLLER_KEY, busNumber: 0, sharedBus: "noSharing" },
    },
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

export function rootDiskSpec(o: RootDiskOptions): any {
  const backing: any = { _type: "VirtualDiskFlatVer2BackingInfo", fileName: o.fileName, diskMode: "persistent", thinProvisioned: true };
  if (o.parentFileName) backing.parent = { fileName: o.parentFileName, diskMode: "persistent" };
  return {
    operation: "add",
    fileOperation: o.existing ? undefined : "create",
    device: {
      _type: "VirtualDisk",
      key: NEW_DISK_KEY,
      backing,
      controllerKey: o.controllerKey,
      unitNumber: 0,
      capacityInKB: Math.ceil(o.capacityBytes / 1024),
      capacityInBytes: o.capacityBytes,
    },
  };
}

/** The device's label/summary as the host reported them (sent back with edits; the simulator needs them). */
function deviceInfo(raw: any): { label: string; summary: string } {
  return { label: String(raw?.deviceInfo?.label ?? ""), summary: String(raw?.deviceInfo?.summary ?? "") };
}

/** A disk edit that grows the disk to capacityBytes. */
export function growDiskSpec(disk: HostDisk, capacityBytes: number): any {
  const d = disk.raw;
  return {
    operation: "edit",
    device: {
      _type: "VirtualDisk",
      key: disk.key,
      deviceInfo: deviceInfo(d),
      backing: { _type: "VirtualDiskFlatVer2BackingInfo", fileName: disk.fileName, diskMode: d.backing?.diskMode ?? "persistent" },
      controllerKey: Number(d.controllerKey),
      unitNumber: Number(d.unitNumber),
      capacityInKB: Math.ceil(capacityBytes / 1024),
      capacityInBytes: capacityBytes,
    },
  };
}

export interface NicWanted {
  portGroup: string;
  mac: string;
  nicType: NicType;
}

function nicDevice(key: number, n: NicWanted): any {
  return {
    _type: NIC_VIM[n.nicType],
    key,
    backing: { _type: "VirtualEthernetCardNetworkBackingInfo", deviceName: n.portGroup },
    connectable: { startConnected: true, allowGuestControl: true, connected: true },
    addressType: "manual",
    macAddress: n.mac,
  };
}

export function addNicSpec(index: number, n: NicWanted): any {
  return { operation: "add", device: nicDevice(-300 - index, n) };
}

export function editNicSpec(cur: HostNic, n: NicWanted): any {
  const dev = nicDevice(cur.key, n);
  dev.deviceInfo = deviceInfo(cur.raw);
  if (cur.raw?.controllerKey !== undefined) dev.controllerKey = Number(cur.raw.controllerKey);
  if (cur.raw?.unitNumber !== undefined) dev.unitNumber = Number(cur.raw.unitNumber);
  return { operation: "edit", device: dev };
}

export function removeDeviceSpec(raw: any, key: number): any {
  return { operation: "remove", device: { _type: raw?._type ?? "VirtualDevice", key } };
}
