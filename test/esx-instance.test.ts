/**
 * EsxInstance end to end: serialized provider -> real plugin process -> driver -> simulated ESX host. Two
 * GuestNetworks are made through the plugin, the image's base disk with CreateVirtualDisk_Task; after each step
 * the VM is read back through the vSphere API and its files are checked on the datastore's directory.
 *
 * Plugin protocol (test/harness/plugin.ts): single Check/Diff/Create/Read/Update/Delete calls, their exact
 * outputs, diffs and errors (partial creates included); the CLI's view of the same diffs is test/diff-tables.test.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { VimSession } from "../provider/vim/session";
import { hostContext } from "../provider/esx/host";
import { listVms, readVm, VmState } from "../provider/driver/vm-state";
import { runTask } from "./support/vim-untyped";
import { decodeMachineId } from "../provider/guest/machine-id";
import { decodeGuestinfoValue } from "../provider/guest/cloudinit";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { EsxPlugin, simConfig, startEsxPlugin } from "./support/esx-plugin";

const DS = "LocalDS_0";
const BASE = `[${DS}] images/img1/img1.vmdk`;
const GiB = 1024 ** 3;

let sim: EsxSim;
let p: EsxPlugin;
let session: VimSession;
let lan: Record<string, any>;
let dmz: Record<string, any>;
let image: Record<string, any>;

function dsFile(rel: string): string {
  return path.join(sim.datastores[DS], rel);
}
function sha(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

async function hostVm(name: string): Promise<VmState | undefined> {
  const ctx = await hostContext(session);
  const s = (await listVms(ctx)).filter((v) => v.name === name);
  expect(s.length).toBeLessThanOrEqual(1);
  return s[0] ? readVm(ctx, s[0].ref) : undefined;
}

function inputs(name: string, extra: Record<string, any> = {}): Record<string, any> {
  return {
    name,
    resourceName: name,
    resourceUrn: p.urn("EsxInstance", name),
    image,
    cpus: 2,
    memoryMb: 1024,
    networks: [
      { network: lan, ip: "10.10.10.20" },
      { network: dmz, ip: "auto", nicType: "e1000", mac: "00:50:56:00:00:0a" },
    ],
    userData: "#cloud-config\nhostname: x\n",
    ...extra,
  };
}

async function diffOf(name: string, id: string, outs: Record<string, any>, news: Record<string, any>) {
  const urn = p.urn("EsxInstance", name);
  const c = await p.plugin.check(urn, outs, { ...news, __provider: p.provider.EsxInstance });
  expect(c.failures).toEqual([]);
  return p.plugin.diff(id, urn, { ...outs, __provider: p.provider.EsxInstance }, c.inputs);
}

beforeAll(async () => {
  sim = await startEsxSim({ tls: true });
  process.env.PULUMI_ESX_TRACE_CALLS = "1";
  p = await startEsxPlugin(simConfig(sim));
  session = VimSession.for({ host: sim.host, username: sim.username, password: sim.password, thumbprint: sim.thumbprintSha256 });
  lan = (await p.up("GuestNetwork", "lan", { portGroup: "inst-lan", cidr: "10.10.10.0/24", gateway: "10.10.10.1", dnsServers: ["10.10.10.2"] })).outs;
  const d = (
    await p.up("GuestNetwork", "dmz", {
      portGroup: "inst-dmz",
      vlanId: 20,
      cidr: "10.20.0.0/24",
      gateway: "10.20.0.1",
      allocationRange: { start: "10.20.0.50", end: "10.20.0.60" },
    })
  ).outs;
  dmz = { portGroup: d.portGroup, cidr: d.cidr, gateway: d.gateway, dnsServers: d.dnsServers, allocationRange: d.allocationRange };
  const ctx = await hostContext(session);
  await runTask(session, "CreateVirtualDisk_Task", ctx.virtualDiskManager, {
    name: BASE,
    datacenter: ctx.datacenter,
    spec: { _type: "FileBackedVirtualDiskSpec", diskType: "thin", adapterType: "lsiLogic", capacityKb: 1024 * 1024 },
  });
  image = {
    datastorePath: BASE,
    datastore: DS,
    capacityBytes: GiB,
    adapterType: "lsiLogic",
    guestId: "ubuntu64Guest",
    nicType: "vmxnet3",
    glanceImageId: "img1",
  };
}, 120_000);

afterAll(async () => {
  if (sim && /panic/.test(sim.logs())) console.log(sim.logs());
  delete process.env.PULUMI_ESX_TRACE_CALLS;
  await p?.plugin.stop();
  await VimSession.closeAll();
  await sim?.stop();
});

test("linked clone: create, host config, no-op diff, in-place updates, reboot, drift, delete", async () => {
  const baseHash = sha(dsFile("images/img1/img1-flat.vmdk")) + sha(dsFile("images/img1/img1.vmdk"));
  const before = p.plugin.logs.length;
  const { id, outs } = await p.up("EsxInstance", "web-1", inputs("web-1"));
  const trace = p.plugin.logs
    .slice(before)
    .map((l) => l.message)
    .find((m) => m.includes("pulumi-esx trace: EsxInstance create"));
  console.log(`round trips: ${trace}`);
  expect(id).toMatch(/^vm-/);
  expect(outs).toMatchObject({
    name: "web-1",
    vmId: id,
    powerState: "on",
    cpus: 2,
    memoryMb: 1024,
    datastore: DS,
    cloneMode: "linked",
    diskGb: 1,
    adopted: false,
  });
  expect(outs.networks).toMatchObject([
    { portGroup: "inst-lan", ip: "10.10.10.20", netmask: "255.255.255.0", gateway: "10.10.10.1", nicType: "vmxnet3" },
    { portGroup: "inst-dmz", ip: "10.20.0.50", mac: "00:50:56:00:00:0a", nicType: "e1000" },
  ]);
  expect(outs.networks[0].mac).toMatch(/^00:50:56:[0-3][0-9a-f]:/);

  // The host's VM: devices, extraConfig, power.
  const vm = (await hostVm("web-1"))!;
  expect(vm.powerState).toBe("on");
  expect(vm.guestId).toBe("ubuntu64Guest");
  expect(vm.devices.nics.map((n) => [n.vimType, n.portGroup, n.mac])).toEqual([
    ["VirtualVmxnet3", "inst-lan", outs.networks[0].mac],
    ["VirtualE1000", "inst-dmz", "00:50:56:00:00:0a"],
  ]);
  expect(vm.devices.nics.every((n) => n.raw.addressType === "manual")).toBe(true);
  expect(vm.devices.controllers.map((c) => c.vimType)).toContain("VirtualLsiLogicController");
  expect(vm.devices.disks).toHaveLength(1);
  expect(vm.devices.disks[0].parentFileName).toBe(BASE);
  expect(vm.extraConfig["pulumi-esx.urn"]).toBe(p.urn("EsxInstance", "web-1"));
  const mid = decodeMachineId(vm.extraConfig["machine.id"]);
  expect(mid.errors).toEqual([]);
  expect(mid.nics).toEqual([
    { mac: outs.networks[0].mac, ip: "10.10.10.20", netmask: "255.255.255.0", gateway: "10.10.10.1", broadcast: "10.10.10.255", dns: ["10.10.10.2"] },
    { mac: "00:50:56:00:00:0a", ip: "10.20.0.50", netmask: "255.255.255.0", gateway: "10.20.0.1", broadcast: "10.20.0.255", dns: [] },
  ]);
  const meta = JSON.parse(decodeGuestinfoValue(vm.extraConfig["guestinfo.metadata"], vm.extraConfig["guestinfo.metadata.encoding"]));
  expect(meta).toMatchObject({ "instance-id": "web-1", "local-hostname": "web-1" });
  expect(meta.network.ethernets.nic1).toMatchObject({ match: { macaddress: "00:50:56:00:00:0a" }, addresses: ["10.20.0.50/24"] });
  expect(decodeGuestinfoValue(vm.extraConfig["guestinfo.userdata"], vm.extraConfig["guestinfo.userdata.encoding"])).toBe("#cloud-config\nhostname: x\n");

  // The delta disk on the datastore names the base disk; the base disk is untouched.
  const desc = fs.readFileSync(dsFile("web-1/web-1.vmdk"), "utf8");
  expect(desc).toContain('createType="vmfsSparse"');
  expect(desc).toContain(`parentFileNameHint="/vmfs/volumes/${DS}/images/img1/img1.vmdk"`);
  expect(fs.existsSync(dsFile("web-1/web-1-delta.vmdk"))).toBe(true);

  // Same inputs again: no changes.
  const same = await diffOf("web-1", id, outs, inputs("web-1"));
  expect(same.changes).toBe("none");
  const rep = await diffOf("web-1", id, outs, inputs("web-1", { userData: "#cloud-config\n", cloneMode: "full" }));
  expect(rep.changes).toBe("some");
  expect(rep.replaces.sort()).toEqual(["cloneMode", "userData"]);

  // CPUs and memory: powered off, reconfigured, back on.
  const up1 = await p.change("EsxInstance", "web-1", id, outs, inputs("web-1", { cpus: 1, memoryMb: 2048 }));
  expect(up1.diff).toMatchObject({ changes: "some", replaces: [] });
  expect(up1.outs).toMatchObject({ cpus: 1, memoryMb: 2048, powerState: "on" });
  let h = (await hostVm("web-1"))!;
  expect([h.cpus, h.memoryMb, h.powerState]).toEqual([1, 2048, "on"]);

  // Networks: new static address, a third NIC (DHCP), then the second removed; guest data rewritten.
  const nets3 = [{ network: lan, ip: "10.10.10.21" }, { network: dmz, ip: "auto", nicType: "e1000", mac: "00:50:56:00:00:0a" }, { network: lan }];
  const up2 = await p.change("EsxInstance", "web-1", id, up1.outs, inputs("web-1", { cpus: 1, memoryMb: 2048, networks: nets3 }));
  expect(up2.diff.changes).toBe("some");
  h = (await hostVm("web-1"))!;
  expect(h.devices.nics.map((n) => n.portGroup)).toEqual(["inst-lan", "inst-dmz", "inst-lan"]);
  expect(h.devices.nics[0].mac).toBe(outs.networks[0].mac); // MAC kept
  expect(decodeMachineId(h.extraConfig["machine.id"]).nics.map((n) => n.ip)).toEqual(["10.10.10.21", "10.20.0.50"]);
  const meta3 = JSON.parse(decodeGuestinfoValue(h.extraConfig["guestinfo.metadata"], h.extraConfig["guestinfo.metadata.encoding"]));
  expect(meta3.network.ethernets.nic2).toMatchObject({ dhcp4: true });
  expect((await diffOf("web-1", id, up2.outs, inputs("web-1", { cpus: 1, memoryMb: 2048, networks: nets3 }))).changes).toBe("none");
  const nets2 = [nets3[0], nets3[2]];
  const up3 = await p.change("EsxInstance", "web-1", id, up2.outs, inputs("web-1", { cpus: 1, memoryMb: 2048, networks: nets2 }));
  h = (await hostVm("web-1"))!;
  expect(h.devices.nics.map((n) => [n.portGroup, n.vimType])).toEqual([
    ["inst-lan", "VirtualVmxnet3"],
    ["inst-lan", "VirtualVmxnet3"],
  ]);
  expect(decodeMachineId(h.extraConfig["machine.id"]).nics.map((n) => n.ip)).toEqual(["10.10.10.21"]);
  expect(up3.outs.networks.map((n: any) => n.ip)).toEqual(["10.10.10.21", null]);

  // Reboot trigger: no VMware Tools in the simulator, so a reset (the simulator's reset leaves no trace on
  // the VM, so the provider's call trace is the evidence).
  const cur = inputs("web-1", { cpus: 1, memoryMb: 2048, networks: nets2 });
  const mark = p.plugin.logs.length;
  const up4 = await p.change("EsxInstance", "web-1", id, up3.outs, { ...cur, rebootTrigger: "v1" });
  expect(up4.diff).toMatchObject({ changes: "some", replaces: [] });
  const calls4 = p.plugin.logs
    .slice(mark)
    .map((l) => l.message)
    .find((m) => m.includes("EsxInstance update"));
  expect(calls4).toMatch(/ResetVM_Task/);
  expect(calls4).not.toMatch(/ReconfigVM_Task|PowerOffVM_Task/);
  expect((await hostVm("web-1"))!.powerState).toBe("on");

  // Power off in place; then out-of-band power-on shows as drift; refresh + up converges again.
  const up5 = await p.change("EsxInstance", "web-1", id, up4.outs, { ...cur, rebootTrigger: "v1", powerState: "off" });
  expect(up5.outs.powerState).toBe("off");
  expect((await hostVm("web-1"))!.powerState).toBe("off");
  await runTask(session, "PowerOnVM_Task", h.ref);
  const r = await p.plugin.read(id, p.urn("EsxInstance", "web-1"), up5.outs);
  expect(r.properties.powerState).toBe("on");
  const drift = await diffOf("web-1", id, r.properties, { ...cur, rebootTrigger: "v1", powerState: "off" });
  expect(drift).toMatchObject({ changes: "some", replaces: [] });
  const up6a = await p.change("EsxInstance", "web-1", id, r.properties, { ...cur, rebootTrigger: "v1", powerState: "off" });
  expect((await hostVm("web-1"))!.powerState).toBe("off");
  // Suspended (from off: powered on, then suspended); delete then starts from a suspended VM.
  const up6 = await p.change("EsxInstance", "web-1", id, up6a.outs, { ...cur, rebootTrigger: "v1", powerState: "suspended" });
  expect(up6.outs.powerState).toBe("suspended");
  expect((await hostVm("web-1"))!.powerState).toBe("suspended");

  // The port group cannot be deleted while the VM uses it: the error names the VM.
  const refused = await p.plugin.delete("inst-lan", p.urn("GuestNetwork", "lan"), { ...lan, __provider: p.provider.GuestNetwork }).catch((e) => e);
  expect(refused.message).toContain("web-1");

  // Delete: no files left, base disk untouched; a second read reports it gone.
  await p.plugin.delete(id, p.urn("EsxInstance", "web-1"), up6.outs);
  expect(await hostVm("web-1")).toBeUndefined();
  expect(fs.existsSync(dsFile("web-1"))).toBe(false);
  expect(sha(dsFile("images/img1/img1-flat.vmdk")) + sha(dsFile("images/img1/img1.vmdk"))).toBe(baseHash);
  const gone = await p.plugin.read(id, p.urn("EsxInstance", "web-1"), up6.outs);
  expect(gone.id).toBe("");
}, 120_000);

test("full clone: copied disk grown to diskGb, grown again in place, out-of-band delete is gone", async () => {
  const { id, outs } = await p.up("EsxInstance", "db-1", inputs("db-1", { cloneMode: "full", diskGb: 2, powerState: "off", adapterType: "pvscsi" }));
  expect(outs).toMatchObject({ diskGb: 2, powerState: "off", cloneMode: "full" });
  const vm = (await hostVm("db-1"))!;
  expect(vm.powerState).toBe("off");
  expect(vm.devices.disks[0].parentFileName).toBeUndefined();
  expect(vm.devices.controllers.map((c) => c.vimType)).toContain("ParaVirtualSCSIController");
  expect(fs.statSync(dsFile("db-1/db-1-flat.vmdk")).size).toBe(2 * GiB);
  expect(fs.readFileSync(dsFile("db-1/db-1.vmdk"), "utf8")).not.toContain("parentFileNameHint");
  // The second NIC's auto address is not the first VM's (which is gone) or in use: lowest free.
  expect(outs.networks[1].ip).toBe("10.20.0.50");
  expect((await diffOf("db-1", id, outs, inputs("db-1", { cloneMode: "full", diskGb: 2, powerState: "off", adapterType: "pvscsi" }))).changes).toBe("none");

  const up = await p.change("EsxInstance", "db-1", id, outs, inputs("db-1", { cloneMode: "full", diskGb: 3, powerState: "off", adapterType: "pvscsi" }));
  expect(up.diff).toMatchObject({ changes: "some", replaces: [] });
  expect(up.outs.diskGb).toBe(3);
  expect(fs.statSync(dsFile("db-1/db-1-flat.vmdk")).size).toBe(3 * GiB);

  // A NIC moved to another port group: the same device, edited (MAC kept).
  const moved = inputs("db-1", { cloneMode: "full", diskGb: 3, powerState: "off", adapterType: "pvscsi" });
  moved.networks[0] = { network: dmz, ip: "10.20.0.40" };
  const keyBefore = (await hostVm("db-1"))!.devices.nics[0].key;
  const up2 = await p.change("EsxInstance", "db-1", id, up.outs, moved);
  expect(up2.diff).toMatchObject({ changes: "some", replaces: [] });
  const after = (await hostVm("db-1"))!;
  expect(after.devices.nics.map((n) => n.portGroup)).toEqual(["inst-dmz", "inst-dmz"]);
  expect(after.devices.nics[0]).toMatchObject({ key: keyBefore, mac: outs.networks[0].mac });
  expect(decodeMachineId(after.extraConfig["machine.id"]).nics.map((n) => n.ip)).toEqual(["10.20.0.40", "10.20.0.50"]);
  expect((await diffOf("db-1", id, up2.outs, moved)).changes).toBe("none");

  // Deleted out of band: read says gone; delete of a gone VM succeeds.
  const h = (await hostVm("db-1"))!;
  await runTask(session, "Destroy_Task", h.ref);
  const gone = await p.plugin.read(id, p.urn("EsxInstance", "db-1"), up2.outs);
  expect(gone.id).toBe("");
  await p.plugin.delete(id, p.urn("EsxInstance", "db-1"), up2.outs);
}, 120_000);

test("an existing VM needs adopt: true; adopt reconciles it; auto addresses avoid other VMs' addresses", async () => {
  const first = await p.up("EsxInstance", "app-1", inputs("app-1", { networks: [{ network: dmz, ip: "auto" }] }));
  expect(first.outs.networks[0].ip).toBe("10.20.0.50");
  // Another resource claiming the same VM name: refused, naming adopt.
  const err = await p.up("EsxInstance", "other", { ...inputs("app-1"), resourceUrn: p.urn("EsxInstance", "other") }).catch((e) => e);
  expect(err.message).toMatch(/already exists.*adopt: true/);
  expect(err.message).toContain(sim.host);
  // Two more VMs with auto addresses, concurrently: distinct addresses, not 10.20.0.50.
  const [a, b] = await Promise.all(
    ["app-2", "app-3"].map((n) => p.up("EsxInstance", n, inputs(n, { networks: [{ network: dmz, ip: "auto" }], powerState: "off" }))),
  );
  const ips = [a.outs.networks[0].ip, b.outs.networks[0].ip].sort();
  expect(ips).toEqual(["10.20.0.51", "10.20.0.52"]);

  // Adopt app-3 under a new resource with other inputs: reconciled in place (same VM id).
  const adopted = await p.up("EsxInstance", "taken", {
    ...inputs("app-3", { cpus: 1, memoryMb: 512, networks: [{ network: lan, ip: "10.10.10.30" }] }),
    resourceUrn: p.urn("EsxInstance", "taken"),
    adopt: true,
  });
  expect(adopted.id).toBe(b.id);
  expect(adopted.outs).toMatchObject({ adopted: true, cpus: 1, memoryMb: 512, powerState: "on" });
  const h = (await hostVm("app-3"))!;
  expect([h.cpus, h.memoryMb, h.powerState, h.devices.nics.map((n) => n.portGroup)]).toEqual([1, 512, "on", ["inst-lan"]]);
  expect(h.extraConfig["pulumi-esx.urn"]).toBe(p.urn("EsxInstance", "taken"));

  for (const [n, r] of [
    ["app-1", first],
    ["app-2", a],
    ["taken", adopted],
  ] as const)
    await p.plugin.delete(r.id, p.urn("EsxInstance", n), r.outs);
  for (const n of ["app-1", "app-2", "app-3"]) expect(fs.existsSync(dsFile(n))).toBe(false);
}, 120_000);

test("waitForIp that times out keeps the created VM in state as a partial resource", async () => {
  const err = await p.up("EsxInstance", "wait-1", inputs("wait-1", { networks: [{ network: lan }], waitForIp: { timeoutSeconds: 1 } })).catch((e) => e);
  expect(err.message).toMatch(/waitForIp: VMware Tools reported no IPv4 address within 1 s/);
  const vm = (await hostVm("wait-1"))!;
  expect(err.initFailed).toMatchObject({ id: vm.ref.value, reasons: [expect.stringContaining("waitForIp")] });
  expect(err.initFailed.properties).toMatchObject({ name: "wait-1", vmId: vm.ref.value, powerState: "on" });
  await p.plugin.delete(vm.ref.value, p.urn("EsxInstance", "wait-1"), err.initFailed.properties);
  expect(await hostVm("wait-1")).toBeUndefined();
  expect(fs.existsSync(dsFile("wait-1"))).toBe(false);
}, 60_000);

test("bad input is rejected in check with the field named, without calling the host", async () => {
  const cases: [Record<string, any>, string][] = [
    [{ cpus: 0 }, "cpus"],
    [{ memoryMb: 1022 }, "memoryMb"],
    [{ name: "a/b" }, "name"],
    [{ name: "a[b]" }, "name"],
    [{ name: "x".repeat(81) }, "name"],
    [{ name: "a\nb" }, "name"],
    [{ diskGb: 0.5 }, "diskGb"],
    [{ diskGb: 4 }, "diskGb"], // linked clones cannot grow
    [{ networks: [{ network: lan, ip: "10.10.11.5" }] }, "networks[0].ip"],
    [{ networks: [{ network: lan, ip: "10.10.10.1" }] }, "networks[0].ip"],
    [{ networks: [{ network: lan, ip: "10.10.10.255" }] }, "networks[0].ip"],
    [{ networks: [{ network: lan, ip: "10.10.10.0" }] }, "networks[0].ip"],
    [{ networks: [{ network: lan, ip: "auto" }] }, "networks[0].ip"],
    [{ networks: [{ network: lan, mac: "00:0c:29:00:00:01" }] }, "networks[0].mac"],
    [{ networks: [{ network: lan, mac: "00:50:56:40:00:01" }] }, "networks[0].mac"],
    [
      {
        networks: [
          { network: lan, mac: "00:50:56:00:00:01" },
          { network: dmz, mac: "00:50:56:00:00:01" },
        ],
      },
      "networks[1].mac",
    ],
    [{ powerState: "paused" }, "powerState"],
    [{ cloneMode: "deep" }, "cloneMode"],
  ];
  const calls = session.calls.length;
  for (const [over, field] of cases) {
    const c = await p.plugin.check(p.urn("EsxInstance", "bad"), {}, { ...inputs("bad"), ...over, __provider: p.provider.EsxInstance });
    expect({ over, properties: c.failures.map((f) => f.property) }).toEqual({ over, properties: expect.arrayContaining([field]) });
    expect(c.failures.find((f) => f.property === field)!.reason).toContain(field);
  }
  // Default name: resource name plus a random suffix, kept on later checks.
  const { name: _n, ...noName } = inputs("auto-named");
  const c1 = await p.plugin.check(p.urn("EsxInstance", "auto-named"), {}, { ...noName, __provider: p.provider.EsxInstance });
  expect(c1.inputs.name).toMatch(/^auto-named-[0-9a-f]{6}$/);
  const c2 = await p.plugin.check(p.urn("EsxInstance", "auto-named"), c1.inputs, { ...noName, __provider: p.provider.EsxInstance });
  expect(c2.inputs.name).toBe(c1.inputs.name);
  // Unknowns pass.
  const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
  const u = await p.plugin.check(
    p.urn("EsxInstance", "u"),
    {},
    { ...inputs("u"), image: unknown, networks: [{ network: unknown, ip: "10.1.1.1" }], __provider: p.provider.EsxInstance },
  );
  expect(u.failures).toEqual([]);
  expect(session.calls.length).toBe(calls);
  // Host limits at create.
  const big = await p.up("EsxInstance", "big", inputs("big", { cpus: 128 })).catch((e) => e);
  expect(big.message).toMatch(/cpus: 128 is more than the host's \d+ cores/);
  expect(await hostVm("big")).toBeUndefined();
});
