/**
 * EsxImage captureFrom end to end: real plugin process -> simulated ESX host (snapshot delta disks, consolidating
 * CopyVirtualDisk) -> real Glance. An image made by qemu-img is imported, a linked clone made from it, distinct
 * bytes written into the clone's delta disk (a vmfsSparse/COWD file on the datastore) and into a snapshot's
 * delta (merged by RemoveSnapshot), then the VM is captured. The Glance image, converted back with
 * `qemu-img convert -O raw`, must equal the base with the deltas' sectors on top; no snapshot, no temporary copy
 * and (on failure) no Glance image may be left.
 *
 * Plugin protocol (test/harness/plugin.ts): single Create/Delete calls with their exact outputs and errors; the
 * golden-image example runs a capture through the CLI (test/examples.test.ts).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { hostContext } from "../provider/esx/host";
import { vmSnapshots } from "../provider/driver/snapshots";
import { readVm, vmRef } from "../provider/driver/vm-state";
import { GlanceClient } from "../provider/glance/client";
import { esxImageOutputs } from "../provider/resources/esx-image.schema";
import { VimSession } from "../provider/vim/session";
import { runTask } from "./support/vim-untyped";
import { diskData, qemuImg } from "./support/disk-images";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { EsxPlugin, simConfig, startEsxPlugin } from "./support/esx-plugin";
import { freePort, GlanceSim, startGlance } from "../scripts/lib/glance-sim";

const MiB = 1024 * 1024;
const SIZE = 6 * MiB;
const DS = "LocalDS_0";

let sim: EsxSim;
let glance: GlanceSim;
let client: GlanceClient;
let p: EsxPlugin;
let session: VimSession;
let dir: string;
let dsDir: string;
let expected: Buffer;
let vm: Record<string, any>;

/**
 * A vmfsSparse ("COWD") delta extent with 1-sector grains, as ESX writes redo logs: header (numSectors @12,
 * grainSize @16, gdOffset @20, numGDEntries @24, freeSector @28), grain directory, 4096-entry grain tables, grains.
 */
function cowdFile(sectors: number, writes: Map<number, Buffer>): Buffer {
  const numGD = Math.ceil(sectors / 4096);
  const gdOffset = 8;
  const gdSectors = Math.ceil((numGD * 4) / 512);
  const tables = [...new Set([...writes.keys()].map((s) => Math.floor(s / 4096)))].sort((a, b) => a - b);
  const gtStart = gdOffset + gdSectors;
  const grainStart = gtStart + tables.length * 32;
  const grains = [...writes.keys()].sort((a, b) => a - b);
  const out = Buffer.alloc((grainStart + grains.length) * 512);
  out.write("COWD", 0, "latin1");
  [1, 3, sectors, 1, gdOffset, numGD, grainStart + grains.length].forEach((v, i) => out.writeUInt32LE(v, 4 + 4 * i));
  tables.forEach((t, i) => out.writeUInt32LE(gtStart + i * 32, gdOffset * 512 + t * 4));
  grains.forEach((s, i) => {
    const t = tables.indexOf(Math.floor(s / 4096));
    out.writeUInt32LE(grainStart + i, (gtStart + t * 32) * 512 + (s % 4096) * 4);
    writes.get(s)!.copy(out, (grainStart + i) * 512);
  });
  return out;
}

/** Sector -> 512 random bytes for the given sector ranges [start, count]. */
function sectorWrites(ranges: [number, number][]): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (const [start, n] of ranges) for (let s = start; s < start + n; s++) m.set(s, crypto.randomBytes(512));
  return m;
}

function applyWrites(base: Buffer, writes: Map<number, Buffer>): Buffer {
  const out = Buffer.from(base);
  for (const [s, data] of writes) data.copy(out, s * 512);
  return out;
}

/** The raw bytes of a COWD extent on its own (no parent: unallocated sectors read as zeros), by qemu-img. */
function cowdRaw(file: string): Buffer {
  const tag = crypto.randomUUID();
  const desc = path.join(dir, `${tag}.vmdk`);
  const sectors = fs.readFileSync(file).readUInt32LE(12);
  fs.writeFileSync(desc, `# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="vmfsSparse"\n\nRW ${sectors} VMFSSPARSE "${file}"\n`);
  const out = path.join(dir, `${tag}.raw`);
  qemuImg("convert", "-f", "vmdk", "-O", "raw", desc, out);
  // qemu-img 7.2 lists a lone VMFSSPARSE extent twice (virtual size doubled): the disk is the first copy.
  return fs.readFileSync(out).subarray(0, sectors * 512);
}

async function glanceImages(name: string): Promise<any[]> {
  const r = await fetch(`${glance.url}/v2/images?name=${encodeURIComponent(name)}`);
  expect(r.status).toBe(200);
  return ((await r.json()) as any).images;
}

function captureDirs(): string[] {
  const root = path.join(dsDir, "images");
  return fs.existsSync(root) ? fs.readdirSync(root).filter((f) => f.startsWith(".capture-")) : [];
}

async function snapshotsOf(vmId: string) {
  return vmSnapshots(await hostContext(session), vmRef(vmId));
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "esx-capture-test-"));
  [sim, glance] = await Promise.all([startEsxSim({ tls: true }), startGlance()]);
  client = new GlanceClient({ url: glance.url });
  p = await startEsxPlugin(simConfig(sim, { "esx:glanceUrl": glance.url }));
  session = VimSession.for({ host: sim.host, username: sim.username, password: sim.password, thumbprint: sim.thumbprintSha256 });
  dsDir = sim.datastores[DS];

  // The base image: qemu-img streamOptimized from random data with zero runs, imported through the plugin.
  const raw = path.join(dir, "base.raw");
  const base = diskData(SIZE, 11);
  fs.writeFileSync(raw, base);
  const so = path.join(dir, "base.vmdk");
  qemuImg("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized,adapter_type=lsilogic", raw, so);
  const img = await client.createImage({ name: "base", disk_format: "vmdk", container_format: "bare", properties: { vmware_ostype: "ubuntu64Guest" } });
  await client.uploadData(img.id, fs.createReadStream(so), fs.statSync(so).size);
  const image = (await p.up("EsxImage", "base", { glanceImageId: img.id })).outs;
  const lan = (await p.up("GuestNetwork", "lan", { portGroup: "cap-lan", cidr: "10.30.0.0/24", gateway: "10.30.0.1" })).outs;

  const inst = await p.up("EsxInstance", "web", {
    name: "web",
    resourceName: "web",
    resourceUrn: p.urn("EsxInstance", "web"),
    image: {
      datastorePath: image.datastorePath,
      datastore: image.datastore,
      capacityBytes: image.capacityBytes,
      adapterType: image.adapterType,
      guestId: image.guestId,
      nicType: image.nicType,
      glanceImageId: image.glanceImageId,
    },
    cpus: 1,
    memoryMb: 512,
    networks: [{ network: { portGroup: lan.portGroup, cidr: lan.cidr, gateway: lan.gateway }, ip: "10.30.0.10", nicType: "e1000" }],
  });
  vm = inst.outs;
  expect(vm.powerState).toBe("on");

  // Distinct bytes in the linked clone's delta: inside a zero run and over data, across a grain-table boundary, the last sector.
  const sectors = SIZE / 512;
  const cloneWrites = sectorWrites([
    [0, 3],
    [100, 40],
    [4090, 12],
    [sectors - 1, 1],
  ]);
  const deltaFile = path.join(dsDir, "web", "web-delta.vmdk");
  expect(fs.readFileSync(deltaFile).subarray(0, 4).toString("latin1")).toBe("COWD");
  fs.writeFileSync(deltaFile, cowdFile(sectors, cloneWrites));
  // qemu-img (an independent reader of vmfsSparse) sees exactly those sectors.
  expect(cowdRaw(deltaFile).equals(applyWrites(Buffer.alloc(SIZE), cloneWrites))).toBe(true);
  expected = applyWrites(base, cloneWrites);
}, 180_000);

afterAll(async () => {
  if (sim && /panic/.test(sim.logs())) console.log(sim.logs());
  await p?.plugin.stop();
  await VimSession.closeAll();
  await Promise.all([sim?.stop(), glance?.stop()]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("a snapshot's delta takes the writes and RemoveSnapshot merges them into the clone's delta (the simulated host)", async () => {
  const ctx = await hostContext(session);
  const ref = vmRef(vm.vmId);
  const snap = await runTask<any>(session, "CreateSnapshot_Task", ref, { name: "s1", memory: false, quiesce: false });
  const during = (await readVm(ctx, ref))!.devices.disks[0];
  expect(during.fileName).toBe(`[${DS}] web/web-000001.vmdk`);
  expect(during.parentFileName).toBe(`[${DS}] web/web.vmdk`);
  expect(fs.readFileSync(path.join(dsDir, "web", "web-000001.vmdk"), "utf8")).toContain(`parentFileNameHint="/vmfs/volumes/${DS}/web/web.vmdk"`);
  const snapWrites = sectorWrites([
    [2, 4],
    [5000, 9],
  ]);
  fs.writeFileSync(path.join(dsDir, "web", "web-000001-delta.vmdk"), cowdFile(SIZE / 512, snapWrites));

  await runTask(session, "RemoveSnapshot_Task", snap, { removeChildren: false, consolidate: true });
  const after = (await readVm(ctx, ref))!.devices.disks[0];
  expect(after.fileName).toBe(`[${DS}] web/web.vmdk`);
  expect(fs.readdirSync(path.join(dsDir, "web")).filter((f) => f.includes("-000001"))).toEqual([]);
  expect(await snapshotsOf(vm.vmId)).toEqual([]);
  expected = applyWrites(expected, snapWrites);
}, 60_000);

describe("capture", () => {
  let id: string;
  let outs: Record<string, any>;
  const inputs = () => ({
    captureFrom: { vmId: vm.vmId, name: vm.name, vmxPath: vm.vmxPath },
    glance: { name: "golden-v1", properties: { os_distro: "testos" } },
  });

  test("create: the Glance image holds the consolidated disk; no snapshot, no temporary copy left", async () => {
    const before = p.plugin.logs.length;
    ({ id, outs } = await p.up("EsxImage", "golden", inputs()));
    const logs = p.plugin.logs
      .slice(before)
      .map((l) => l.message)
      .join("\n");
    expect(logs).toMatch(/snapshotting web/);
    expect(logs).toMatch(/removing the snapshot/);

    expect(outs).toMatchObject({
      glanceImageId: id,
      datastore: DS,
      datastorePath: null,
      diskType: null,
      capacityBytes: SIZE,
      sourceFormat: "streamOptimized",
      adapterType: "lsiLogic",
      guestId: "ubuntu64Guest",
      nicType: "e1000",
      imported: false,
      captureFrom: { vmId: vm.vmId, name: "web", vmxPath: vm.vmxPath, host: null },
      glance: { name: "golden-v1", visibility: "private", properties: { os_distro: "testos" } },
    });
    // JSON-clean: every output of the schema is there, null where it does not apply.
    for (const k of Object.keys(esxImageOutputs.shape)) expect(outs[k]).not.toBeUndefined();
    expect(outs.host).toBeNull();

    const img = await client.getImage(id);
    expect(img).toMatchObject({
      status: "active",
      name: "golden-v1",
      disk_format: "vmdk",
      container_format: "bare",
      visibility: "private",
      size: outs.sizeBytes,
    });
    expect(img.properties).toMatchObject({
      vmware_disktype: "streamOptimized",
      vmware_adaptertype: "lsiLogic",
      vmware_ostype: "ubuntu64Guest",
      hw_vif_model: "e1000",
      os_distro: "testos",
    });
    expect(outs.checksum).toBe(`${img.os_hash_algo}:${img.os_hash_value}`);

    // The bytes: Glance's data, converted by qemu-img, equal base + clone delta + merged snapshot writes.
    const got = path.join(dir, "golden.vmdk");
    const data = await client.openData(id);
    await pipeline(data.stream, fs.createWriteStream(got));
    expect(JSON.parse(qemuImg("info", "--output=json", got))["format-specific"].data["create-type"]).toBe("streamOptimized");
    const out = path.join(dir, "golden.raw");
    qemuImg("convert", "-f", "vmdk", "-O", "raw", got, out);
    const captured = fs.readFileSync(out);
    expect(captured.length).toBe(SIZE);
    expect(captured.equals(expected)).toBe(true);

    // Nothing left: no snapshot (the 2011 driver leaked it), the VM back on its own disk, no temporary copy.
    expect(await snapshotsOf(vm.vmId)).toEqual([]);
    const disk = (await readVm(await hostContext(session), vmRef(vm.vmId)))!.devices.disks[0];
    expect(disk.fileName).toBe(`[${DS}] web/web.vmdk`);
    expect(fs.readdirSync(path.join(dsDir, "web")).filter((f) => /-\d{6}/.test(f))).toEqual([]);
    expect(captureDirs()).toEqual([]);
    // The VM's own delta still has its grains (the empty snapshot delta merged into it changed nothing).
    expect(cowdRaw(path.join(dsDir, "web", "web-delta.vmdk")).equals(Buffer.alloc(SIZE))).toBe(false);
  }, 120_000);

  test("diff: same inputs no change; another Glance name or VM replaces", async () => {
    const urn = p.urn("EsxImage", "golden");
    const diffOf = async (news: Record<string, any>) => {
      const c = await p.plugin.check(urn, outs, { ...news, __provider: p.provider.EsxImage });
      expect(c.failures).toEqual([]);
      return p.plugin.diff(id, urn, { ...outs, __provider: p.provider.EsxImage }, c.inputs);
    };
    expect((await diffOf(inputs())).changes).toBe("none");
    const renamed = await diffOf({ ...inputs(), glance: { name: "golden-v2", properties: { os_distro: "testos" } } });
    expect(renamed.changes).toBe("some");
    expect(renamed.replaces).toEqual(["glance"]);
    const other = await diffOf({ ...inputs(), captureFrom: { vmId: "vm-424242", name: "web2" } });
    expect(other.replaces).toEqual(["captureFrom"]);
  });

  test("read finds the Glance image; delete removes it; read then reports it gone", async () => {
    const urn = p.urn("EsxImage", "golden");
    const r = await p.plugin.read(id, urn, outs);
    expect(r.id).toBe(id);
    await p.plugin.delete(id, urn, outs);
    await expect(client.getImage(id)).rejects.toMatchObject({ status: 404 });
    expect((await p.plugin.read(id, urn, outs)).id).toBe("");
  }, 60_000);
});

test("check: glanceImageId xor captureFrom, glance needed with captureFrom, no diskType, no reserved properties", async () => {
  const urn = p.urn("EsxImage", "bad");
  const failures = async (news: Record<string, any>) =>
    (await p.plugin.check(urn, {}, { ...news, __provider: p.provider.EsxImage })).failures.map((f) => f.property);
  const cap = { vmId: "vm-1", name: "web" };
  expect(await failures({ glanceImageId: "abc", captureFrom: cap, glance: { name: "x" } })).toEqual(["captureFrom"]);
  expect(await failures({})).toEqual(["glanceImageId"]);
  expect(await failures({ captureFrom: cap })).toEqual(["glance"]);
  expect(await failures({ captureFrom: cap, glance: { name: "x" }, diskType: "thin" })).toEqual(["diskType"]);
  expect(await failures({ captureFrom: cap, glance: { name: "x", properties: { vmware_disktype: "sparse" } } })).toEqual(["glance.properties"]);
  expect(await failures({ captureFrom: cap, glance: { name: "x", properties: { "bad key": "v" } } })).toEqual(["glance.properties.bad key"]);
  expect(await failures({ captureFrom: cap, glance: { name: "x", visibility: "everyone" } })).toEqual(["glance.visibility"]);
  expect(await failures({ captureFrom: { vmId: "vm 1" }, glance: { name: "x" } })).toEqual(["captureFrom.vmId"]);
  expect(await failures({ captureFrom: cap, glance: { name: "x", visibility: "shared" } })).toEqual([]);
});

describe("failures leave no snapshot, no temporary copy and no Glance image", () => {
  test("the VM does not exist", async () => {
    await expect(p.up("EsxImage", "ghost", { captureFrom: { vmId: "vm-999999", name: "ghost" }, glance: { name: "ghost-v1" } })).rejects.toThrow(
      /EsxImage "ghost-v1 \(capture of ghost\)".*VM ghost \(vm-999999\) does not exist/,
    );
    expect(await glanceImages("ghost-v1")).toEqual([]);
    expect(captureDirs()).toEqual([]);
  });

  test("the temporary folder cannot be made (after the snapshot): the snapshot is removed", async () => {
    fs.mkdirSync(path.join(dsDir, "images"), { recursive: true });
    fs.writeFileSync(path.join(dsDir, "images", "blocker"), "a file where the capture wants a folder");
    const before = p.plugin.logs.length;
    await expect(
      p.up("EsxImage", "blocked", { captureFrom: { vmId: vm.vmId, name: vm.name }, glance: { name: "blocked-v1" }, folder: "images/blocker" }),
    ).rejects.toThrow(/EsxImage "blocked-v1 \(capture of web\)"/);
    expect(
      p.plugin.logs
        .slice(before)
        .map((l) => l.message)
        .join("\n"),
    ).toMatch(/snapshotting web/);
    expect(await snapshotsOf(vm.vmId)).toEqual([]);
    expect((await readVm(await hostContext(session), vmRef(vm.vmId)))!.devices.disks[0].fileName).toBe(`[${DS}] web/web.vmdk`);
    expect(fs.readdirSync(path.join(dsDir, "web")).filter((f) => /-\d{6}/.test(f))).toEqual([]);
    expect(await glanceImages("blocked-v1")).toEqual([]);
    fs.rmSync(path.join(dsDir, "images", "blocker"));
  }, 60_000);

  test("Glance cuts the upload: the half-made image is deleted, snapshot and copy removed", async () => {
    // A proxy in front of the real Glance that drops the connection of the image-data PUT after 64 KiB.
    const port = await freePort();
    const target = new URL(glance.url);
    let cut = 0;
    const proxy = http.createServer((req, res) => {
      const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      if (req.method === "PUT" && /\/file$/.test(req.url ?? "")) {
        let n = 0;
        req.on("data", (c: Buffer) => {
          n += c.length;
          if (n > 64 * 1024 && cut === 0) {
            cut = 1;
            req.socket.destroy();
            upstream.destroy();
          }
        });
      }
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(port, "127.0.0.1", r));
    const q = await startEsxPlugin(simConfig(sim, { "esx:glanceUrl": `http://127.0.0.1:${port}` }));
    try {
      await expect(q.up("EsxImage", "broken", { captureFrom: { vmId: vm.vmId, name: vm.name }, glance: { name: "broken-v1" } })).rejects.toThrow(
        /EsxImage "broken-v1 \(capture of web\)".*Glance upload image data/,
      );
      expect(cut).toBe(1);
    } finally {
      await q.plugin.stop();
      await new Promise((r) => proxy.close(r));
    }
    expect(await glanceImages("broken-v1")).toEqual([]);
    expect(await snapshotsOf(vm.vmId)).toEqual([]);
    expect((await readVm(await hostContext(session), vmRef(vm.vmId)))!.devices.disks[0].fileName).toBe(`[${DS}] web/web.vmdk`);
    expect(captureDirs()).toEqual([]);
  }, 120_000);
});
