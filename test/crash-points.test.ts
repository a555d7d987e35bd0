/**
 * Crash at any point: the provider plugin is killed (SIGKILL) at a precise point of an EsxImage or EsxInstance
 * create or delete — right after the host answered a given call (the proxy holds the answer and kills the plugin),
 * before the host saw a call, or in the middle of an upload or a Glance download — then a fresh plugin reruns
 * the operation as Pulumi would (a crashed create is not in state: create again; a crashed delete: delete again).
 * Afterwards exactly the expected objects exist: one complete image copy (or none), one marked VM (or none), no
 * leftover files, folders or locks. EsxImage captures killed after the snapshot, after the consolidated copy or
 * mid Glance upload: the rerun leaves one active Glance image (no half-made one), no snapshot, no temporary folder.
 *
 * Plugin protocol (test/harness/plugin.ts): the plugin process alone is killed at a precise host call and the one
 * operation is rerun; killing the whole `pulumi up` tree and recovering with the CLI is test/engine-crash.test.ts.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { GlanceClient } from "../provider/glance/client";
import { vmSnapshots } from "../provider/driver/snapshots";
import { readVm, vmRef } from "../provider/driver/vm-state";
import { FaultProxy, FaultRule } from "./support/fault-proxy";
import { DS, FaultEnv, makeBaseDisk, smallInstanceInputs, startFaultEnv } from "./support/fault-env";
import { EsxPlugin } from "./support/esx-plugin";

const SIZE = 2 * 1024 * 1024;
const BASE = `[${DS}] images/cbase/cbase.vmdk`;
let env: FaultEnv;
let imageId: string;
let data: Buffer;
let lan: Record<string, any>;

beforeAll(async () => {
  process.env.PULUMI_ESX_LOCK_STALE_MS = "3000"; // a lock held by a killed plugin is taken over after 3 s
  process.env.PULUMI_ESX_GLANCE_TIMEOUT_MS = "4000";
  env = await startFaultEnv({ glance: true });
  const client = new GlanceClient({ url: env.glance!.url });
  data = crypto.randomBytes(SIZE);
  const img = await client.createImage({ name: "crash-img", disk_format: "raw", container_format: "bare" });
  await client.uploadData(img.id, data, SIZE);
  imageId = img.id;
  const p = await env.plugin();
  lan = (await p.up("GuestNetwork", "clan", { portGroup: "crash-lan", cidr: "10.32.0.0/24", gateway: "10.32.0.1" })).outs;
  await makeBaseDisk(env, BASE);
}, 180_000);

afterAll(async () => {
  await env?.stop();
});

afterEach(() => env.clearRules());

type Kind = "image-create" | "image-delete" | "instance-create" | "instance-create-full" | "instance-delete" | "capture-create";

interface Point {
  /** Where the plugin dies. */
  point: string;
  kind: Kind;
  /** Proxy and rule (its onMatch is set to kill the plugin). `folder` and `name` are filled in per case. */
  at?: "glance";
  rule: (c: { folder: string; name: string }) => FaultRule;
}

const hold = { action: { delayMs: 600_000 }, when: "after" } as const;
const after =
  (soapOp: string, skip = 0) =>
  () =>
    ({ soapOp, skip, ...hold }) as FaultRule;
const afterPut = (file: (c: { folder: string }) => string) => (c: { folder: string; name: string }) =>
  ({ method: "PUT", pathPrefix: `/folder/${file(c)}`, ...hold }) as FaultRule;

const POINTS: Point[] = [
  // EsxImage create (SOAP and datastore HTTP in order)
  { point: "after MakeDirectory of the images folder", kind: "image-create", rule: after("MakeDirectory", 0) },
  { point: "after MakeDirectory of the lock (no owner yet)", kind: "image-create", rule: after("MakeDirectory", 1) },
  { point: "after the lock owner is written", kind: "image-create", rule: afterPut((c) => `${c.folder}/${imageId}.lock/owner`) },
  { point: "after DeleteDatastoreFile_Task of leftovers", kind: "image-create", rule: after("DeleteDatastoreFile_Task", 0) },
  { point: "after MakeDirectory of the image dir", kind: "image-create", rule: after("MakeDirectory", 2) },
  {
    point: "in the middle of the datastore upload",
    kind: "image-create",
    rule: (c) => ({ method: "PUT", pathPrefix: `/folder/${c.folder}/${imageId}/${imageId}-flat.vmdk`, action: "cut-request", cutAfterBytes: SIZE / 2 }),
  },
  {
    point: "in the middle of the Glance download",
    kind: "image-create",
    at: "glance",
    rule: () => ({ method: "GET", pathPrefix: `/v2/images/${imageId}/file`, action: "cut-response", cutAfterBytes: SIZE / 3 }),
  },
  { point: "after the -flat upload completed", kind: "image-create", rule: afterPut((c) => `${c.folder}/${imageId}/${imageId}-flat.vmdk`) },
  { point: "after image.json", kind: "image-create", rule: afterPut((c) => `${c.folder}/${imageId}/image.json`) },
  { point: "after the descriptor", kind: "image-create", rule: afterPut((c) => `${c.folder}/${imageId}/${imageId}.vmdk`) },
  // Killed after the reference was recorded: the rerun finds its own (URN-derived) reference, adds no second one.
  { point: "after refs.json", kind: "image-create", rule: afterPut((c) => `${c.folder}/${imageId}/refs.json`) },
  { point: "after the lock release", kind: "image-create", rule: after("DeleteDatastoreFile_Task", 1) },
  // EsxImage delete
  { point: "after MakeDirectory of the lock", kind: "image-delete", rule: after("MakeDirectory", 1) },
  { point: "after DeleteVirtualDisk_Task", kind: "image-delete", rule: after("DeleteVirtualDisk_Task") },
  { point: "after DeleteDatastoreFile_Task of the image dir", kind: "image-delete", rule: after("DeleteDatastoreFile_Task", 0) },
  // EsxInstance create (linked clone)
  { point: "after the first inventory read", kind: "instance-create", rule: after("RetrievePropertiesEx", 0) },
  { point: "before the host sees CreateVM_Task", kind: "instance-create", rule: () => ({ soapOp: "CreateVM_Task", action: "hang" }) },
  { point: "after CreateVM_Task", kind: "instance-create", rule: after("CreateVM_Task") },
  { point: "after the second task update", kind: "instance-create", rule: after("WaitForUpdatesEx", 1) },
  { point: "after PowerOnVM_Task", kind: "instance-create", rule: after("PowerOnVM_Task") },
  // EsxInstance create (full clone)
  { point: "after MakeDirectory (full clone)", kind: "instance-create-full", rule: after("MakeDirectory") },
  { point: "after CopyVirtualDisk_Task (full clone)", kind: "instance-create-full", rule: after("CopyVirtualDisk_Task") },
  { point: "after CreateVM_Task (full clone)", kind: "instance-create-full", rule: after("CreateVM_Task") },
  // EsxInstance delete
  { point: "after PowerOffVM_Task", kind: "instance-delete", rule: after("PowerOffVM_Task") },
  { point: "after ReconfigVM_Task (disk detached)", kind: "instance-delete", rule: after("ReconfigVM_Task") },
  { point: "after Destroy_Task", kind: "instance-delete", rule: after("Destroy_Task") },
  { point: "after DeleteDatastoreFile_Task of the VM folder", kind: "instance-delete", rule: after("DeleteDatastoreFile_Task") },
];

let n = 0;

function proxyOf(pt: Point): FaultProxy {
  return pt.at === "glance" ? env.glanceProxy! : env.esx;
}

/** Arms the rule to SIGKILL `victim` when it fires; runs `op` (which must fail: the plugin died) and waits for the kill. */
async function crashDuring(pt: Point, c: { folder: string; name: string }, victim: EsxPlugin, op: () => Promise<unknown>): Promise<void> {
  const rule: FaultRule = { ...pt.rule(c), onMatch: () => victim.plugin.kill() };
  proxyOf(pt).addRule(rule);
  const r = await op().then(
    () => "finished",
    (e: Error) => e,
  );
  expect(r).toBeInstanceOf(Error); // the plugin died before answering
  await proxyOf(pt).fired(rule);
  env.clearRules();
}

function imageFiles(folder: string): string[] {
  return env.files(folder);
}

function expectCompleteCopy(folder: string, refs: string[]) {
  expect(imageFiles(folder)).toEqual(
    [imageId, `${imageId}/${imageId}-flat.vmdk`, `${imageId}/${imageId}.vmdk`, `${imageId}/image.json`, `${imageId}/refs.json`].sort(),
  );
  const dir = path.join(env.sim.datastores[DS], folder, imageId);
  expect(fs.readFileSync(path.join(dir, `${imageId}-flat.vmdk`)).equals(data)).toBe(true);
  expect(Object.keys(JSON.parse(fs.readFileSync(path.join(dir, "refs.json"), "utf8")).refs).sort()).toEqual([...refs].sort());
}

function instanceInputs(p: EsxPlugin, name: string, full: boolean) {
  return smallInstanceInputs(p, name, BASE, lan, full ? { cloneMode: "full" } : {});
}

async function vmsNamed(name: string) {
  return (await env.vms()).filter((v) => v.name === name);
}

async function expectOneMarkedVm(p: EsxPlugin, name: string, id: string) {
  const vms = await vmsNamed(name);
  expect(vms.map((v) => v.ref.value)).toEqual([id]);
  expect(vms[0].extraConfig["pulumi-esx.urn"]).toBe(p.urn("EsxInstance", name));
  const vm = (await readVm(await env.ctx(), vms[0].ref))!;
  expect(vm.powerState).toBe("on");
  expect(vm.devices.disks).toHaveLength(1);
  // Every VM on the host carries a marker (none half-made without it).
  for (const v of await env.vms()) expect(v.extraConfig["pulumi-esx.urn"]).toBeTruthy();
}

async function expectNoVm(name: string) {
  expect(await vmsNamed(name)).toHaveLength(0);
  expect(fs.existsSync(path.join(env.sim.datastores[DS], name))).toBe(false);
}

describe.each(POINTS)("$kind killed $point", (pt) => {
  test("the rerun converges to exactly the expected objects", async () => {
    const i = ++n;
    const c = { folder: `crash-${i}`, name: `cvm-${i}` };
    const p1 = await env.plugin();
    if (pt.kind.startsWith("image")) {
      const urn = p1.urn("EsxImage", c.folder);
      const inp = { glanceImageId: imageId, datastore: DS, folder: c.folder, resourceUrn: urn };
      if (pt.kind === "image-create") {
        await crashDuring(pt, c, p1, () => p1.up("EsxImage", c.folder, inp));
        const p2 = await env.plugin();
        const made = await p2.up("EsxImage", c.folder, inp);
        try {
          expectCompleteCopy(c.folder, [made.id]);
        } finally {
          await p2.plugin.delete(made.id, urn, made.outs);
        }
        await p2.plugin.stop();
      } else {
        const made = await p1.up("EsxImage", c.folder, inp);
        await crashDuring(pt, c, p1, () => p1.plugin.delete(made.id, urn, made.outs));
        const p2 = await env.plugin();
        await p2.plugin.delete(made.id, urn, made.outs);
        await p2.plugin.stop();
      }
      expect(imageFiles(c.folder)).toEqual([]);
    } else {
      const full = pt.kind === "instance-create-full";
      const urn = p1.urn("EsxInstance", c.name);
      if (pt.kind !== "instance-delete") {
        await crashDuring(pt, c, p1, () => p1.up("EsxInstance", c.name, instanceInputs(p1, c.name, full)));
        const p2 = await env.plugin();
        const made = await p2.up("EsxInstance", c.name, instanceInputs(p2, c.name, full));
        await expectOneMarkedVm(p2, c.name, made.id);
        await p2.plugin.delete(made.id, urn, made.outs);
        await p2.plugin.stop();
      } else {
        const made = await p1.up("EsxInstance", c.name, instanceInputs(p1, c.name, false));
        await crashDuring(pt, c, p1, () => p1.plugin.delete(made.id, urn, made.outs));
        const p2 = await env.plugin();
        await p2.plugin.delete(made.id, urn, made.outs);
        await p2.plugin.stop();
      }
      await expectNoVm(c.name);
      expect(fs.existsSync(path.join(env.sim.datastores[DS], "images/cbase/cbase.vmdk"))).toBe(true);
    }
  }, 120_000);
});

// ---- EsxImage capture (captureFrom) ----

const CAPTURE_POINTS: Point[] = [
  { point: "after CreateSnapshot_Task", kind: "capture-create", rule: after("CreateSnapshot_Task") },
  { point: "after CopyVirtualDisk_Task", kind: "capture-create", rule: after("CopyVirtualDisk_Task") },
  // The image data PUT (POST makes the image): cut after 256 KiB of the ~2 MiB streamOptimized body, the plugin dies at the cut.
  {
    point: "in the middle of the Glance upload",
    kind: "capture-create",
    at: "glance",
    rule: () => ({ method: "PUT", pathPrefix: "/v2/images/", action: "cut-request", cutAfterBytes: 256 * 1024 }),
  },
];

describe("capture", () => {
  const glanceUrl = () => env.glance!.url;
  let owner: EsxPlugin;
  let base: { id: string; outs: Record<string, any> };
  let vm: { id: string; outs: Record<string, any> };

  /** Every Glance image (any status), straight from Glance (not through the proxy). */
  async function glanceImages(): Promise<any[]> {
    const r = await fetch(`${glanceUrl()}/v2/images?limit=1000`);
    expect(r.status).toBe(200);
    return ((await r.json()) as any).images;
  }
  const snapshots = async () => vmSnapshots(await env.ctx(), vmRef(vm.id));
  const captureFolders = () => imageFiles("images").filter((f) => f.startsWith(".capture-") && !f.includes("/"));

  beforeAll(async () => {
    // A VM whose disk holds the random Glance image (2 MiB): a linked clone of an imported EsxImage.
    owner = await env.plugin();
    base = await owner.up("EsxImage", "capbase", { glanceImageId: imageId, datastore: DS, folder: "capbase", resourceUrn: owner.urn("EsxImage", "capbase") });
    const o = base.outs;
    vm = await owner.up("EsxInstance", "capvm", {
      ...instanceInputs(owner, "capvm", false),
      image: { datastorePath: o.datastorePath, datastore: o.datastore, capacityBytes: o.capacityBytes, adapterType: o.adapterType, guestId: o.guestId },
    });
  }, 120_000);

  afterAll(async () => {
    if (vm) await owner.plugin.delete(vm.id, owner.urn("EsxInstance", "capvm"), vm.outs);
    if (base) await owner.plugin.delete(base.id, owner.urn("EsxImage", "capbase"), base.outs);
  }, 120_000);

  test.each(CAPTURE_POINTS)(
    "killed $point: the rerun leaves one active Glance image, no snapshot, no temporary folder",
    async (pt) => {
      const i = ++n;
      const name = `capture-${i}`;
      const c = { folder: "images", name };
      const p1 = await env.plugin();
      const urn = p1.urn("EsxImage", name);
      const inp = { captureFrom: { vmId: vm.outs.vmId, name: vm.outs.name }, glance: { name }, resourceUrn: urn };
      const before = new Set((await glanceImages()).map((g) => g.id));

      await crashDuring(pt, c, p1, () => p1.up("EsxImage", name, inp));
      // The killed run did leave something (else this case proves nothing).
      const left = {
        snapshots: (await snapshots()).length,
        folders: captureFolders().length,
        images: (await glanceImages()).filter((g) => g.name === name).map((g) => g.status),
      };
      if (pt.point.includes("CreateSnapshot")) expect(left.snapshots).toBe(1);
      else if (pt.point.includes("CopyVirtualDisk")) expect([left.snapshots, left.folders]).toEqual([1, 1]);
      else {
        expect(left.folders).toBe(1);
        expect(left.images).toHaveLength(1);
        expect(left.images[0]).not.toBe("active");
      }

      const p2 = await env.plugin();
      const made = await p2.up("EsxImage", name, inp);
      try {
        const mine = (await glanceImages()).filter((g) => g.name === name);
        expect(mine.map((g) => [g.id, g.status])).toEqual([[made.id, "active"]]);
        expect(mine[0].pulumi_esx_capture).toMatch(/^[0-9a-f]{16}$/);
        // No image made during this case other than the one (the killed run's is gone, whatever its name).
        expect((await glanceImages()).filter((g) => !before.has(g.id)).map((g) => g.id)).toEqual([made.id]);
        expect(await snapshots()).toEqual([]);
        expect(captureFolders()).toEqual([]);
        const disk = (await readVm(await env.ctx(), vmRef(vm.id)))!.devices.disks[0];
        expect(disk.fileName).toBe(`[${DS}] capvm/capvm.vmdk`);
        expect(p2.plugin.logs.some((l) => /an interrupted capture left/.test(l.message))).toBe(true);
      } finally {
        await p2.plugin.delete(made.id, urn, made.outs);
        await p2.plugin.stop();
      }
      expect((await glanceImages()).filter((g) => g.name === name)).toEqual([]);
    },
    120_000,
  );
});
