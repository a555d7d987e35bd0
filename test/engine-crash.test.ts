/**
 * A crash under the real engine: `kill -9` of the whole `pulumi up` process tree (the runner with the inline
 * program, `pulumi`, the plugin launcher and the node plugin, which pulumi starts in a process group of its
 * own) while an image is being imported and while a VM is being created, then what a user does next with the
 * Pulumi CLI 3.248:
 *
 *   1. `pulumi up` refuses: "the stack is currently locked by 1 lock(s) ... delete the lock file with
 *      `pulumi cancel`" (the local backend's lock file of the killed update stays);
 *   2. `pulumi stack export` shows the interrupted step as a pending operation ("creating", the resource's
 *      inputs, no id): the engine does not know whether the create finished;
 *   3. `pulumi cancel` removes the lock;
 *   4. `pulumi refresh --clear-pending-creates --yes` drops the pending create (non-interactively this is the
 *      flag the CLI asks for; `pulumi up` alone would go on with a warning and keep the pending operation in
 *      the checkpoint);
 *   5. `pulumi up` creates the resource again, and the provider finishes what the killed run left: the VM
 *      that carries the resource's URN marker is taken over (not a second VM), the half-written image copy is
 *      removed and imported again once the killed import's lock is stale (here 3 s: PULUMI_ESX_LOCK_STALE_MS;
 *      120 s by default).
 * Afterwards exactly one image copy (byte-identical to Glance, one reference) and one VM exist, no lock, no
 * leftover folder, a further `up` changes nothing, and destroy leaves the host as it was.
 *
 * The windows: the host's datastore upload goes through a fault proxy whose rule kills the tree when half the
 * image's bytes have passed; the simulator delays CreateVM_Task by 3 s and the proxy kills the tree 0.5 s
 * after forwarding it.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { hostContext } from "../provider/esx/host";
import { listVms } from "../provider/driver/vm-state";
import { GlanceClient } from "../provider/glance/client";
import { VimSession } from "../provider/vim/session";
import { simSession, snapshot } from "./cli/examples";
import { changes, killProcessTree, processesIn, Program, resourcesOf, Running, Workspace } from "../scripts/lib/pulumi";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { FaultProxy, FaultRule, startFaultProxy } from "./support/fault-proxy";
import { GlanceSim, startGlance } from "../scripts/lib/glance-sim";

const SIZE = 8 * 1024 * 1024;
const DS = "LocalDS_0";
const ENV = { PULUMI_ESX_LOCK_STALE_MS: "3000" };

const SOURCE = `
import * as pulumi from "@pulumi/pulumi";
import { EsxImage, EsxInstance, GuestNetwork } from "pulumi-esx";
const lan = new GuestNetwork("lan", { portGroup: "crash-lan", cidr: "10.95.0.0/24", gateway: "10.95.0.1" });
const image = new EsxImage("base", { glanceImageId: new pulumi.Config().require("glanceImageId") });
new EsxInstance("vm", { name: "crash-vm", image, cpus: 1, memoryMb: 256, networks: [{ network: lan, ip: "10.95.0.10" }] });
`;

let sim: EsxSim;
let glance: GlanceSim;
let proxy: FaultProxy;
let ws: Workspace;
let prog: Program;
let imageId: string;
let data: Buffer;

beforeAll(async () => {
  [sim, glance] = await Promise.all([startEsxSim({ tls: true, methodDelays: { CreateVM_Task: 3000 } }), startGlance()]);
  proxy = await startFaultProxy({ target: `https://${sim.host}` });
  data = crypto.randomBytes(SIZE);
  const g = new GlanceClient({ url: glance.url });
  const img = await g.createImage({ name: "crash", disk_format: "raw", container_format: "bare" });
  await g.uploadData(img.id, data, SIZE);
  imageId = img.id;
  ws = new Workspace();
  prog = ws.program({ project: "crash", source: SOURCE });
  prog.initStack("test", {
    plain: { "esx:host": proxy.url, "esx:allowHttp": "true", "esx:username": sim.username, "esx:glanceUrl": glance.url, glanceImageId: imageId },
    secret: { "esx:password": sim.password },
  });
}, 300_000);

afterAll(async () => {
  await VimSession.closeAll();
  await proxy?.stop();
  await Promise.allSettled([sim?.stop(), glance?.stop()]);
  ws?.remove();
});

afterEach(() => proxy.clearRules());

const ctx = () => hostContext(simSession(sim));
const hostVms = async () => listVms(await ctx());
const vms = async () => (await hostVms()).map((v) => ({ name: v.name, marker: v.extraConfig["pulumi-esx.urn"] }));
const imageDir = () => path.join(sim.datastores[DS], "images");
const imageFiles = () => (fs.existsSync(imageDir()) ? (fs.readdirSync(imageDir(), { recursive: true }) as string[]).map(String).sort() : []);

/** Starts `pulumi up`, arms `rule` to kill its whole process tree, and waits until the tree is gone. */
async function upKilled(rule: (kill: () => void) => FaultRule): Promise<number[]> {
  const started: { run?: Running } = {};
  let killed: number[] = [];
  const r = rule(() => (killed = killProcessTree(started.run!.pid)));
  proxy.addRule(r);
  started.run = prog.start("up", "test", {}, ENV);
  const result = await started.run.done;
  await proxy.fired(r);
  expect(result.ok).toBe(false);
  expect(result.error).toMatch(/killed by SIGKILL/);
  // runner, pulumi, the plugin launcher and the node plugin: all gone, none left in the program directory
  expect(killed.length).toBeGreaterThanOrEqual(4);
  for (let i = 0; i < 50 && processesIn(prog.dir).length; i++) await new Promise((res) => setTimeout(res, 100));
  expect(processesIn(prog.dir)).toEqual([]);
  return killed;
}

/** What the user sees and does after the crash (steps 1-4 of the header); returns the pending operation. */
async function recover(kind: string): Promise<void> {
  const locked = await prog.op("up", "test", { allowFailure: true }, ENV);
  expect(locked.ok).toBe(false);
  expect(locked.error).toMatch(/the stack is currently locked by 1 lock\(s\)[\s\S]*pulumi cancel/);

  const pending = prog.export("test").deployment.pending_operations ?? [];
  expect(pending.map((p) => [p.type, p.resource.urn.split("::").pop(), p.resource.type.split(":").pop()])).toEqual([
    ["creating", kind === "EsxImage" ? "base" : "vm", kind],
  ]);

  const cancel = prog.exec(["cancel", "--yes", "--stack", "test"]);
  expect(cancel.code).toBe(0);
  expect(cancel.stdout).toMatch(/has been canceled/);

  const refresh = await prog.execAsync(["refresh", "--clear-pending-creates", "--yes", "--stack", "test"], { env: ENV });
  expect(refresh.code).toBe(0);
  expect(prog.export("test").deployment.pending_operations ?? []).toEqual([]);
}

async function expectConverged(): Promise<void> {
  // one image copy, complete and byte-identical, referenced once (by the EsxImage in state); no lock left
  const state = prog.export("test");
  const [img] = resourcesOf(state, "EsxImage");
  expect(imageFiles()).toEqual(
    [imageId, `${imageId}/${imageId}-flat.vmdk`, `${imageId}/${imageId}.vmdk`, `${imageId}/image.json`, `${imageId}/refs.json`].sort(),
  );
  expect(fs.readFileSync(path.join(imageDir(), imageId, `${imageId}-flat.vmdk`)).equals(data)).toBe(true);
  expect(Object.keys(JSON.parse(fs.readFileSync(path.join(imageDir(), imageId, "refs.json"), "utf8")).refs)).toEqual([img.id]);
  // one VM, carrying the URN of the EsxInstance in state
  const [vm] = resourcesOf(state, "EsxInstance");
  expect(await vms()).toEqual([{ name: "crash-vm", marker: vm.urn }]);
  expect(state.deployment.pending_operations ?? []).toEqual([]);
  expect(changes(await prog.up("test", { expectNoChanges: true }))).toEqual({});
}

test("killed while the image is being imported: cancel, refresh --clear-pending-creates, up: one image copy, one VM", async () => {
  const before = await snapshot(sim);
  await upKilled((kill) => ({
    method: "PUT",
    pathPrefix: `/folder/images/${imageId}/${imageId}-flat.vmdk`,
    action: "cut-request",
    cutAfterBytes: SIZE / 2,
    onMatch: kill,
  }));
  // what the killed run left: the lock of its import and a partial extent, no VM
  expect(imageFiles()).toEqual(expect.arrayContaining([`${imageId}.lock`, `${imageId}/${imageId}-flat.vmdk`]));
  expect(fs.statSync(path.join(imageDir(), imageId, `${imageId}-flat.vmdk`)).size).toBeLessThan(SIZE);
  expect(await vms()).toEqual([]);

  await recover("EsxImage");
  const up = await prog.op("up", "test", {}, ENV);
  expect(changes(up)).toEqual({
    "urn:pulumi:test::crash::pulumi-nodejs:dynamic/esx:EsxImage::base": ["create"],
    "urn:pulumi:test::crash::pulumi-nodejs:dynamic/esx:EsxInstance::vm": ["create"],
  });
  await expectConverged();

  await prog.destroy("test");
  const after = await snapshot(sim);
  expect({ ...after, files: after.files.filter((f) => f !== `[${DS}] images/`) }).toEqual({
    ...before,
    files: before.files.filter((f) => f !== `[${DS}] images/`),
  });
}, 300_000);

test("killed while the VM is being created: cancel, refresh --clear-pending-creates, up takes over the marked VM", async () => {
  const before = await snapshot(sim);
  await upKilled((kill) => ({ soapOp: "CreateVM_Task", action: { delayMs: 0 }, onMatch: () => void setTimeout(kill, 500) }));
  // the host finishes the CreateVM_Task the killed run sent: the VM exists, with the marker, unknown to the state
  for (let i = 0; i < 100 && (await vms()).length === 0; i++) await new Promise((res) => setTimeout(res, 100));
  expect(await vms()).toEqual([{ name: "crash-vm", marker: "urn:pulumi:test::crash::pulumi-nodejs:dynamic/esx:EsxInstance::vm" }]);
  expect(resourcesOf(prog.export("test"), "EsxInstance")).toEqual([]);
  const leftBehind = (await hostVms())[0].ref.value;

  await recover("EsxInstance");
  const up = await prog.op("up", "test", {}, ENV);
  expect(changes(up)).toEqual({ "urn:pulumi:test::crash::pulumi-nodejs:dynamic/esx:EsxInstance::vm": ["create"] });
  await expectConverged();
  const [vm] = resourcesOf(prog.export("test"), "EsxInstance");
  expect(vm.outputs).toMatchObject({ name: "crash-vm", powerState: "on", adopted: false });
  expect(vm.id).toBe(leftBehind); // the VM the killed run made, finished: not a second one

  await prog.destroy("test");
  const after = await snapshot(sim);
  expect({ ...after, files: after.files.filter((f) => f !== `[${DS}] images/`) }).toEqual({
    ...before,
    files: before.files.filter((f) => f !== `[${DS}] images/`),
  });
}, 300_000);
