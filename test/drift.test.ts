/**
 * Drift with the real Pulumi CLI: changes made on the host behind Pulumi's back.
 *   - `pulumi refresh` shows a VLAN changed on the host and a VM powered off and given another CPU count as
 *     updates, and `pulumi stack export` then holds the host's values; the next `pulumi up` puts the inputs back
 *     on the host.
 *   - A VM and a port group deleted on the host: `pulumi up` alone does not notice (the engine calls no Read
 *     during up: their state is unchanged and nothing is planned for them); `pulumi refresh` drops them from the
 *     state (shown as deleted); the following `pulumi up` creates them again.
 */
import { hostContext, HostContext } from "../provider/esx/host";
import { HostNetworkSystem } from "../provider/esx/host-network-system";
import { VirtualMachine } from "../provider/esx/virtual-machine";
import { readNetworkInfo } from "../provider/driver/network/port-group";
import { listVms, readVm } from "../provider/driver/vm-state";
import { GlanceClient } from "../provider/glance/client";
import { VimSession } from "../provider/vim/session";
import { simSession, snapshot } from "./cli/examples";
import { changes, Program, resourcesOf, RunnerResult, Workspace } from "../scripts/lib/pulumi";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { GlanceSim, startGlance } from "../scripts/lib/glance-sim";

const SOURCE = `
import * as pulumi from "@pulumi/pulumi";
import { EsxImage, EsxInstance, GuestNetwork } from "pulumi-esx";
const lan = new GuestNetwork("lan", { portGroup: "drift-lan", vlanId: 10, cidr: "10.80.0.0/24", gateway: "10.80.0.1" });
new GuestNetwork("spare", { portGroup: "drift-spare", vlanId: 11 });
const image = new EsxImage("base", { glanceImageId: new pulumi.Config().require("glanceImageId") });
new EsxInstance("vm", { name: "drift-vm", image, cpus: 1, memoryMb: 256, networks: [{ network: lan, ip: "10.80.0.10" }] });
new EsxInstance("gone", { name: "drift-gone", image, cpus: 1, memoryMb: 256 });
`;

let sim: EsxSim;
let glance: GlanceSim;
let ws: Workspace;
let prog: Program;
let ctx: HostContext;

/** Resource name -> op of the engine's result events (refresh: update / delete / same). */
function results(r: RunnerResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of r.events) {
    const m = e.resOutputsEvent?.metadata;
    if (m && m.type.startsWith("pulumi-nodejs:dynamic/esx:")) out[m.urn.split("::").pop()] = m.op;
  }
  return out;
}
const named = (r: RunnerResult) => Object.fromEntries(Object.entries(changes(r)).map(([u, ops]) => [u.split("::").pop(), ops]));
const vmNamed = async (name: string) => (await listVms(ctx)).find((v) => v.name === name);
const portGroup = async (name: string) => (await readNetworkInfo(ctx)).portGroups.find((g) => g.name === name);

beforeAll(async () => {
  [sim, glance] = await Promise.all([startEsxSim({ tls: true }), startGlance()]);
  const g = new GlanceClient({ url: glance.url });
  const img = await g.createImage({ name: "drift", disk_format: "raw", container_format: "bare" });
  await g.uploadData(img.id, Buffer.alloc(2 << 20, 9));
  ctx = await hostContext(simSession(sim));
  ws = new Workspace();
  prog = ws.program({ project: "drift", source: SOURCE });
  prog.initStack("test", {
    plain: { "esx:host": sim.host, "esx:thumbprint": sim.thumbprintSha256, "esx:username": sim.username, "esx:glanceUrl": glance.url, glanceImageId: img.id },
    secret: { "esx:password": sim.password },
  });
}, 300_000);

afterAll(async () => {
  await VimSession.closeAll();
  await Promise.allSettled([sim?.stop(), glance?.stop()]);
  ws?.remove();
});

test("drift: refresh shows host-side changes, up puts the inputs back; deleted objects are re-created after refresh", async () => {
  const before = await snapshot(sim);
  await prog.up("test");
  const vm = (await vmNamed("drift-vm"))!;

  // changed on the host: VLAN of the port group, the VM powered off with 2 CPUs
  const nets = new HostNetworkSystem(ctx.session, ctx.networkSystem);
  await nets.updatePortGroup("drift-lan", { name: "drift-lan", vswitchName: "vSwitch0", vlanId: 20, policy: {} });
  const onHost = new VirtualMachine(ctx.session, vm.ref);
  await (await onHost.powerOff()).wait();
  await (await onHost.reconfigure({ numCPUs: 2 })).wait();

  const refresh = await prog.refresh("test");
  expect(results(refresh)).toEqual({ lan: "update", vm: "update", spare: "same", base: "same", gone: "same" });
  expect(refresh.summary?.resourceChanges).toMatchObject({ update: 2 });
  expect(refresh.stdout).toMatch(/~ {2}pulumi-nodejs:dynamic\/esx:EsxInstance vm updated/);
  const state = prog.export("test");
  expect(resourcesOf(state, "GuestNetwork").find((r) => r.urn.endsWith("::lan"))!.outputs).toMatchObject({ vlanId: 20 });
  expect(resourcesOf(state, "EsxInstance").find((r) => r.urn.endsWith("::vm"))!.outputs).toMatchObject({ cpus: 2, powerState: "off" });

  // up: back to the program's inputs, on the host
  const fix = await prog.up("test");
  expect(named(fix)).toEqual({ lan: ["update"], vm: ["update"] });
  expect((await portGroup("drift-lan"))!.vlanId).toBe(10);
  const back = (await readVm(ctx, vm.ref))!;
  expect([back.cpus, back.powerState]).toEqual([1, "on"]);

  // deleted on the host: a VM and a port group
  const gone = (await vmNamed("drift-gone"))!;
  const goneOnHost = new VirtualMachine(ctx.session, gone.ref);
  await (await goneOnHost.powerOff()).wait();
  await (await goneOnHost.destroy()).wait();
  await nets.removePortGroup("drift-spare");

  // up alone does not read the host: nothing planned, the objects stay missing
  const blind = await prog.up("test");
  expect(named(blind)).toEqual({});
  expect(await vmNamed("drift-gone")).toBeUndefined();
  expect(await portGroup("drift-spare")).toBeUndefined();

  // refresh drops them from the state ...
  const seen = await prog.refresh("test");
  expect(results(seen)).toEqual({ lan: "same", vm: "same", spare: "delete", base: "same", gone: "delete" });
  expect(resourcesOf(prog.export("test")).some((r) => /::(spare|gone)$/.test(r.urn))).toBe(false);

  // ... and the next up creates them again
  const again = await prog.up("test");
  expect(named(again)).toEqual({ spare: ["create"], gone: ["create"] });
  expect(await vmNamed("drift-gone")).toMatchObject({ name: "drift-gone" });
  expect((await portGroup("drift-spare"))!.vlanId).toBe(11);
  expect(changes(await prog.up("test", { expectNoChanges: true }))).toEqual({});

  await prog.destroy("test");
  const after = await snapshot(sim);
  expect({ ...after, files: after.files.filter((f) => f !== "[LocalDS_0] images/") }).toEqual(before);
}, 300_000);
