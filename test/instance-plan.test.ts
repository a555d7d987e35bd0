/**
 * planReconfigure (provider/driver/instance/plan.ts): what an update applies to a VM, as a table of current VM,
 * desired VM and the expected spec fields, power cycle and steps. Pure: no host.
 */
import { HostDevices, HostNic } from "../provider/driver/devices";
import { ResolvedNic } from "../provider/driver/instance/nics";
import { CurrentVm, DesiredVm, GiB, planReconfigure, PlanStep } from "../provider/driver/instance/plan";

const nic = (key: number, mac: string, portGroup: string, nicType: HostNic["nicType"] = "vmxnet3"): HostNic => ({
  key,
  vimType: nicType === "e1000" ? "VirtualE1000" : "VirtualVmxnet3",
  nicType,
  mac,
  portGroup,
  raw: { _type: nicType === "e1000" ? "VirtualE1000" : "VirtualVmxnet3", key, macAddress: mac, controllerKey: 100, unitNumber: 7 },
});

const wanted = (mac: string, portGroup: string, nicType: ResolvedNic["nicType"] = "vmxnet3"): ResolvedNic => ({
  portGroup,
  mac,
  nicType,
  ip: null,
  prefix: null,
  netmask: null,
  gateway: null,
  dns: [],
  input: { network: { portGroup } },
});

const disk = (capacityBytes: number, parentFileName?: string): HostDevices["disks"][number] => ({
  key: 2000,
  fileName: "[ds] vm/vm.vmdk",
  parentFileName,
  capacityBytes,
  raw: { _type: "VirtualDisk", key: 2000, controllerKey: 1000, unitNumber: 0, capacityInKB: capacityBytes / 1024 },
});

const MAC = "00:50:56:00:00:01";

function current(over: Partial<CurrentVm> = {}): CurrentVm {
  return {
    name: "vm",
    cpus: 1,
    memoryMb: 512,
    guestId: "otherGuest64",
    powerState: "on",
    toolsRunning: false,
    devices: { nics: [nic(4000, MAC, "lan")], disks: [disk(GiB)], controllers: [] },
    extraConfig: { "pulumi-esx.urn": "urn:x" },
    ...over,
  };
}

function desired(over: Partial<DesiredVm> = {}): DesiredVm {
  return {
    cpus: 1,
    memoryMb: 512,
    guestId: "otherGuest64",
    nics: [wanted(MAC, "lan")],
    diskBytes: GiB,
    guestConfig: { "pulumi-esx.urn": "urn:x" },
    powerState: "on",
    reboot: false,
    ...over,
  };
}

interface Row {
  what: string;
  current?: Partial<CurrentVm>;
  desired?: Partial<DesiredVm>;
  spec: string[];
  cycle: boolean;
  steps: PlanStep["op"][];
}

const rows: Row[] = [
  { what: "nothing differs", spec: [], cycle: false, steps: [] },
  {
    what: "CPUs on a running VM: stop, reconfigure, power on",
    desired: { cpus: 2 },
    spec: ["numCPUs"],
    cycle: true,
    steps: ["stop", "reconfigure", "powerOn"],
  },
  {
    what: "memory on a stopped VM that stays off",
    current: { powerState: "off" },
    desired: { memoryMb: 1024, powerState: "off" },
    spec: ["memoryMB"],
    cycle: true,
    steps: ["reconfigure"],
  },
  { what: "guestId on a running VM", desired: { guestId: "ubuntu64Guest" }, spec: ["guestId"], cycle: true, steps: ["stop", "reconfigure", "powerOn"] },
  { what: "port group edit: hot, no power cycle", desired: { nics: [wanted(MAC, "dmz")] }, spec: ["deviceChange"], cycle: false, steps: ["reconfigure"] },
  {
    what: "NIC added",
    desired: { nics: [wanted(MAC, "lan"), wanted("00:50:56:00:00:02", "dmz")] },
    spec: ["deviceChange"],
    cycle: false,
    steps: ["reconfigure"],
  },
  { what: "NIC removed", desired: { nics: [] }, spec: ["deviceChange"], cycle: false, steps: ["reconfigure"] },
  {
    what: "guest data changed",
    desired: { guestConfig: { "pulumi-esx.urn": "urn:x", "machine.id": "a;b" } },
    spec: ["extraConfig"],
    cycle: false,
    steps: ["reconfigure"],
  },
  { what: "full clone disk grows in place", desired: { diskBytes: 2 * GiB }, spec: ["deviceChange"], cycle: false, steps: ["reconfigure"] },
  { what: "power off", desired: { powerState: "off" }, spec: [], cycle: false, steps: ["stop"] },
  { what: "power on", current: { powerState: "off" }, spec: [], cycle: false, steps: ["powerOn"] },
  { what: "suspend", desired: { powerState: "suspended" }, spec: [], cycle: false, steps: ["suspend"] },
  { what: "resume a suspended VM", current: { powerState: "suspended" }, spec: [], cycle: false, steps: ["powerOn"] },
  {
    what: "NIC change on a suspended VM: stopped for it, then back to suspended",
    current: { powerState: "suspended" },
    desired: { powerState: "suspended", nics: [wanted(MAC, "dmz")] },
    spec: ["deviceChange"],
    cycle: false,
    steps: ["stop", "reconfigure", "powerOn", "suspend"],
  },
  { what: "reboot without VMware Tools: reset", desired: { reboot: true }, spec: [], cycle: false, steps: ["reset"] },
  { what: "reboot with VMware Tools: RebootGuest", current: { toolsRunning: true }, desired: { reboot: true }, spec: [], cycle: false, steps: ["rebootGuest"] },
  {
    what: "reboot with a power cycle anyway: no second reboot",
    desired: { reboot: true, cpus: 4 },
    spec: ["numCPUs"],
    cycle: true,
    steps: ["stop", "reconfigure", "powerOn"],
  },
  {
    what: "reboot of a VM that stays off: nothing",
    current: { powerState: "off" },
    desired: { reboot: true, powerState: "off" },
    spec: [],
    cycle: false,
    steps: [],
  },
];

test.each(rows)("$what", (r) => {
  const plan = planReconfigure(current(r.current), desired(r.desired));
  expect(Object.keys(plan.spec).sort()).toEqual([...r.spec].sort());
  expect(plan.needsPowerCycle).toBe(r.cycle);
  expect(plan.steps.map((s) => s.op)).toEqual(r.steps);
});

test("a stop step carries the state it starts from (graceful shutdown only from on)", () => {
  expect(planReconfigure(current({ powerState: "suspended" }), desired({ cpus: 2 })).steps[0]).toEqual({ op: "stop", from: "suspended" });
  expect(planReconfigure(current(), desired({ powerState: "off" })).steps[0]).toEqual({ op: "stop", from: "on" });
});

test("NIC type change replaces the device (same MAC); same type edits it in place keeping its key", () => {
  const replaced = planReconfigure(current(), desired({ nics: [wanted(MAC, "lan", "e1000")] })).spec.deviceChange!;
  expect(replaced.map((c) => [c.operation, c.device?._type])).toEqual([
    ["remove", "VirtualVmxnet3"],
    ["add", "VirtualE1000"],
  ]);
  const edited = planReconfigure(current(), desired({ nics: [wanted(MAC, "dmz")] })).spec.deviceChange!;
  expect(edited).toHaveLength(1);
  expect(edited[0]).toMatchObject({ operation: "edit", device: { _type: "VirtualVmxnet3", key: 4000, macAddress: MAC, controllerKey: 100, unitNumber: 7 } });
});

test("only the owned extraConfig keys are compared; a key no longer wanted is cleared with an empty value", () => {
  const plan = planReconfigure(current({ extraConfig: { "guestinfo.vmtools.x": "1", "machine.id": "old", "pulumi-esx.urn": "urn:x" } }), desired());
  expect(plan.spec.extraConfig).toEqual([{ key: "machine.id", value: "" }]);
});

test("a linked clone's delta disk cannot grow: the plan refuses, naming the parent", () => {
  expect(() =>
    planReconfigure(current({ devices: { nics: [], disks: [disk(GiB, "[ds] images/a/a.vmdk")], controllers: [] } }), desired({ nics: [], diskBytes: 2 * GiB })),
  ).toThrow(/diskGb: the root disk is a linked clone \(delta of \[ds\] images\/a\/a\.vmdk\)/);
});
