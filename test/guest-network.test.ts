/**
 * GuestNetwork end to end: sdk shim -> serialized provider -> real plugin process -> driver -> simulated ESX host.
 * The host's port groups are read back through the vSphere API after each step.
 *
 * Plugin protocol (test/harness/plugin.ts): single Check/Diff/Create/Read/Update/Delete calls and their exact
 * outputs and errors.
 */
import { VimSession } from "../provider/vim/session";
import { hostContext } from "../provider/esx/host";
import { readNetworkInfo } from "../provider/driver/network/port-group";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { EsxPlugin, simConfig, startEsxPlugin } from "./support/esx-plugin";

let sim: EsxSim;
let p: EsxPlugin;
let session: VimSession;

async function hostPortGroups() {
  return (await readNetworkInfo(await hostContext(session))).portGroups;
}

beforeAll(async () => {
  sim = await startEsxSim({ tls: true });
  p = await startEsxPlugin(simConfig(sim));
  session = VimSession.for({ host: sim.host, username: sim.username, password: sim.password, thumbprint: sim.thumbprintSha256 });
});

afterAll(async () => {
  await p?.plugin.stop();
  await VimSession.closeAll();
  await sim?.stop();
});

const lanInputs = {
  portGroup: "team-a-lan",
  vlanId: 100,
  cidr: "10.10.10.0/24",
  gateway: "10.10.10.1",
  dnsServers: ["10.10.10.2"],
  allocationRange: { start: "10.10.10.50", end: "10.10.10.99" },
};

test("create, no-op diff, VLAN update, drift, delete", async () => {
  const { id, outs } = await p.up("GuestNetwork", "lan", lanInputs);
  expect(id).toBe("team-a-lan");
  expect(outs).toMatchObject({
    portGroup: "team-a-lan",
    vswitch: "vSwitch0",
    vlanId: 100,
    cidr: "10.10.10.0/24",
    netmask: "255.255.255.0",
    broadcast: "10.10.10.255",
    gateway: "10.10.10.1",
    created: true,
  });
  expect(outs.networkId).toEqual(expect.any(String));
  expect(await hostPortGroups()).toContainEqual({ name: "team-a-lan", vlanId: 100, vswitch: "vSwitch0" });

  // Same inputs (and a CIDR that normalises the same): no changes.
  const same = await p.plugin.diff(
    id,
    p.urn("GuestNetwork", "lan"),
    { ...outs, __provider: p.provider.GuestNetwork },
    {
      ...lanInputs,
      vswitch: "vSwitch0",
      __provider: p.provider.GuestNetwork,
    },
  );
  expect(same.changes).toBe("none");

  // VLAN updates in place.
  const up = await p.change("GuestNetwork", "lan", id, outs, { ...lanInputs, vlanId: 200 });
  expect(up.diff).toMatchObject({ changes: "some", replaces: [] });
  expect(up.outs.vlanId).toBe(200);
  expect(await hostPortGroups()).toContainEqual({ name: "team-a-lan", vlanId: 200, vswitch: "vSwitch0" });

  // Replace fields.
  const rep = await p.plugin.diff(
    id,
    p.urn("GuestNetwork", "lan"),
    { ...up.outs, __provider: p.provider.GuestNetwork },
    {
      ...lanInputs,
      vlanId: 200,
      portGroup: "team-a-lan2",
      __provider: p.provider.GuestNetwork,
    },
  );
  expect(rep.replaces).toEqual(["portGroup"]);

  // Out-of-band VLAN change shows as drift on refresh.
  const ctx = await hostContext(session);
  await session.call("UpdatePortGroup", ctx.networkSystem, {
    pgName: "team-a-lan",
    portgrp: { name: "team-a-lan", vlanId: 300, vswitchName: "vSwitch0", policy: {} },
  });
  const r = await p.plugin.read(id, p.urn("GuestNetwork", "lan"), up.outs);
  expect(r.id).toBe("team-a-lan");
  expect(r.properties.vlanId).toBe(300);
  const drift = await p.plugin.diff(
    id,
    p.urn("GuestNetwork", "lan"),
    { ...r.properties, __provider: p.provider.GuestNetwork },
    {
      ...lanInputs,
      vlanId: 200,
      vswitch: "vSwitch0",
      __provider: p.provider.GuestNetwork,
    },
  );
  expect(drift).toMatchObject({ changes: "some", replaces: [] });

  await p.plugin.delete(id, p.urn("GuestNetwork", "lan"), r.properties);
  expect((await hostPortGroups()).map((g) => g.name)).not.toContain("team-a-lan");

  // Deleted out of band: read reports it gone.
  const gone = await p.plugin.read(id, p.urn("GuestNetwork", "lan"), r.properties);
  expect(gone.id).toBe("");
});

test("an existing port group needs adopt; adopted VM Network is kept on delete", async () => {
  const err = await p.up("GuestNetwork", "vmnet", { portGroup: "VM Network" }).catch((e) => e);
  expect(err.message).toMatch(/already exists.*adopt: true/);
  const { id, outs } = await p.up("GuestNetwork", "vmnet", { portGroup: "VM Network", adopt: true });
  expect(outs.created).toBe(false);
  expect(outs.networkId).toEqual(expect.any(String));
  await p.plugin.delete(id, p.urn("GuestNetwork", "vmnet"), outs);
  expect((await hostPortGroups()).map((g) => g.name)).toContain("VM Network");
});

test("a missing vSwitch is an error naming the host's vSwitches", async () => {
  const err = await p.up("GuestNetwork", "bad", { portGroup: "x1", vswitch: "vSwitch9" }).catch((e) => e);
  expect(err.message).toContain("vSwitch vSwitch9 does not exist");
  expect(err.message).toContain("vSwitch0");
  expect(err.message).toContain(sim.host);
  expect((await hostPortGroups()).map((g) => g.name)).not.toContain("x1");
});

test("concurrent creates: different names all succeed, the same name twice gives one port group and one clear error", async () => {
  const names = ["pg-a", "pg-b", "pg-c", "pg-d"];
  const made = await Promise.all(names.map((n) => p.up("GuestNetwork", n, { portGroup: n, vlanId: 10 })));
  expect(made.map((m) => m.id).sort()).toEqual(names);
  const twice = await Promise.allSettled([p.up("GuestNetwork", "dup1", { portGroup: "pg-dup" }), p.up("GuestNetwork", "dup2", { portGroup: "pg-dup" })]);
  expect(twice.filter((t) => t.status === "fulfilled")).toHaveLength(1);
  const rejected = twice.find((t) => t.status === "rejected") as PromiseRejectedResult;
  expect(rejected.reason.message).toMatch(/already exists/);
  expect((await hostPortGroups()).filter((g) => g.name === "pg-dup")).toHaveLength(1);
  for (const m of made) await p.plugin.delete(m.id, p.urn("GuestNetwork", m.id), m.outs);
});

test("bad input is rejected in check with the field named, and unknowns pass", async () => {
  const cases: [Record<string, any>, string][] = [
    [{ portGroup: "p", vlanId: 4096 }, "vlanId"],
    [{ portGroup: "p", vlanId: -1 }, "vlanId"],
    [{ portGroup: "p", cidr: "10.0.0.5/24" }, "cidr"],
    [{ portGroup: "p", cidr: "10.0.0.0/33" }, "cidr"],
    [{ portGroup: "p", cidr: "10.0.0.0/24", gateway: "10.0.1.1" }, "gateway"],
    [{ portGroup: "p", cidr: "10.0.0.0/24", allocationRange: { start: "10.0.0.90", end: "10.0.0.10" } }, "allocationRange"],
    [{ portGroup: "p", cidr: "10.0.0.0/24", allocationRange: { start: "10.0.0.10", end: "10.0.1.10" } }, "allocationRange.end"],
    [{ portGroup: "" }, "portGroup"],
    [{ portGroup: "x".repeat(60) }, "portGroup"],
    [{ portGroup: "a;b" }, "portGroup"],
  ];
  const calls = session.calls.length;
  for (const [inputs, field] of cases) {
    const c = await p.plugin.check(p.urn("GuestNetwork", "bad"), {}, { ...inputs, __provider: p.provider.GuestNetwork });
    expect({ inputs, properties: c.failures.map((f) => f.property) }).toEqual({ inputs, properties: expect.arrayContaining([field]) });
    expect(c.failures.find((f) => f.property === field)!.reason).toContain(field);
  }
  const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
  const c = await p.plugin.check(
    p.urn("GuestNetwork", "u"),
    {},
    { portGroup: unknown, vlanId: unknown, cidr: unknown, gateway: "10.0.0.1", __provider: p.provider.GuestNetwork },
  );
  expect(c.failures).toEqual([]);
  expect(session.calls.length).toBe(calls);
});
