/**
 * provider/hardware.ts: every spelling of an adapter, NIC or disk type (ours, vim25's, Glance's, a VMDK
 * descriptor's) maps to one type, and each type maps back to each party's spelling.
 */
import {
  ADAPTER_TYPES,
  ADAPTERS,
  adapterOfController,
  DISKS,
  NICS,
  NIC_TYPES,
  nicOfDevice,
  parseAdapterType,
  parseDiskType,
  parseNicType,
} from "../provider/hardware";

test.each([
  ["lsilogic", "lsilogic"],
  ["lsiLogic", "lsilogic"],
  ["VirtualLsiLogicController", "lsilogic"],
  ["busLogic", "buslogic"],
  ["legacyESX", "buslogic"],
  ["lsiLogicsas", "lsilogicsas"],
  ["lsisas1068", "lsilogicsas"],
  ["VirtualLsiLogicSASController", "lsilogicsas"],
  ["paraVirtual", "pvscsi"],
  ["pvscsi", "pvscsi"],
  ["ParaVirtualSCSIController", "pvscsi"],
  ["ide", "ide"],
  ["nvme", undefined],
  ["", undefined],
])("adapter %s -> %s", (spelling, type) => {
  expect(parseAdapterType(spelling)).toBe(type);
});

test("each adapter type round-trips through its Glance and controller spellings; descriptors and VirtualDiskManager know three", () => {
  for (const a of ADAPTER_TYPES) {
    expect(parseAdapterType(ADAPTERS[a].glance)).toBe(a);
    expect(adapterOfController(ADAPTERS[a].controller)).toBe(a);
  }
  expect(ADAPTER_TYPES.map((a) => ADAPTERS[a].descriptor)).toEqual(["lsilogic", "buslogic", "lsilogic", "lsilogic", "ide"]);
  expect(ADAPTER_TYPES.map((a) => ADAPTERS[a].virtualDisk)).toEqual(["lsiLogic", "busLogic", "lsiLogic", "lsiLogic", "ide"]);
});

test.each([
  ["vmxnet3", "vmxnet3"],
  ["VirtualVmxnet3", "vmxnet3"],
  ["vmxnet", "vmxnet3"],
  ["VirtualE1000", "e1000"],
  ["e1000e", "e1000e"],
  ["VirtualPCNet32", "pcnet32"],
  ["rtl8139", undefined],
])("NIC %s -> %s", (spelling, type) => {
  expect(parseNicType(spelling)).toBe(type);
});

test("a NIC device type maps to its NIC type exactly (no guessing for other devices)", () => {
  for (const n of NIC_TYPES) expect(nicOfDevice(NICS[n].device)).toBe(n);
  expect(nicOfDevice("VirtualVmxnet2")).toBeUndefined();
});

test.each([
  ["thin", "thin"],
  ["sparse", "thin"],
  ["streamOptimized", "thin"],
  ["preallocated", "thick"],
  ["zeroedthick", "thick"],
  ["eagerZeroedThick", "eagerZeroedThick"],
  ["flat", undefined],
])("disk %s -> %s", (spelling, type) => {
  expect(parseDiskType(spelling)).toBe(type);
});

test("only thin disks are marked thin in a descriptor", () => {
  expect(Object.entries(DISKS).map(([t, d]) => [t, d.descriptorThin])).toEqual([
    ["thin", true],
    ["thick", false],
    ["eagerZeroedThick", false],
  ]);
});
