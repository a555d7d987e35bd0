/**
 * Two stacks (two plugin processes) on one ESX host at the same time: each has a GuestNetwork on the same port
 * group, an EsxImage of the same Glance image on the same datastore, and an EsxInstance booted from it.
 *
 * How two teams share one port group: it belongs to whoever made it on the host (here a "platform" stack, or the
 * host itself like "VM Network"); the teams declare it with adopt: true, so neither removes it on destroy while
 * the other still uses it. When neither exists yet and both adopt at once, one of them creates it (created: true)
 * and the other adopts; the creator's delete is then refused while the other team's VMs are on it.
 *
 * Asserted on the datastore's files (one image folder, one flat file, refs.json, no lock left) and the host's VM
 * list; the shared base disk disappears only after the last user's delete.
 *
 * Plugin protocol (test/harness/plugin.ts): a barrier makes both stacks' CreateVM happen at the same moment, which
 * two `pulumi up` runs cannot be made to do; two stacks of examples/teams up at once through the CLI are in
 * test/examples.test.ts.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hostContext } from "../provider/esx/host";
import { readNetworkInfo } from "../provider/driver/network/port-group";
import { listVms, readVm } from "../provider/driver/vm-state";
import { decodeMachineId } from "../provider/guest/machine-id";
import { GlanceClient } from "../provider/glance/client";
import { VimSession } from "../provider/vim/session";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { EsxPlugin, simConfig, startEsxPlugin } from "./support/esx-plugin";
import { GlanceSim, startGlance } from "../scripts/lib/glance-sim";

const MiB = 1024 * 1024;
let sim: EsxSim;
let glance: GlanceSim;
let session: VimSession;
let dir: string;
let ds: string;
let imageId: string;
let raw: Buffer;
const plugins: EsxPlugin[] = [];

async function stack(): Promise<EsxPlugin> {
  const p = await startEsxPlugin(simConfig(sim, { "esx:glanceUrl": glance.url }));
  plugins.push(p);
  return p;
}

function dsPath(rel: string): string {
  return path.join(sim.datastores[ds], rel);
}
function listDir(rel: string): string[] {
  return fs.existsSync(dsPath(rel)) ? (fs.readdirSync(dsPath(rel)) as string[]).sort() : [];
}
async function hostVmNames(): Promise<string[]> {
  return (await listVms(await hostContext(session))).map((v) => v.name).sort();
}
async function portGroups(): Promise<string[]> {
  return (await readNetworkInfo(await hostContext(session))).portGroups.map((g) => g.name);
}

const lanInputs = (portGroup: string, adopt: boolean) => ({
  portGroup,
  vlanId: 60,
  cidr: "10.60.0.0/24",
  gateway: "10.60.0.1",
  allocationRange: { start: "10.60.0.50", end: "10.60.0.99" },
  adopt,
});

interface Team {
  p: EsxPlugin;
  team: string;
  lan: { id: string; outs: Record<string, any> };
  image: { id: string; outs: Record<string, any> };
  vm: { id: string; outs: Record<string, any> };
}

/** One stack's `up`, network and image first, then (once both stacks are there: a barrier) the instance. */
async function up(p: EsxPlugin, team: string, portGroup: string, ip: string, barrier: Barrier): Promise<Team> {
  const lan = await p.up("GuestNetwork", "lan", lanInputs(portGroup, true));
  const image = await p.up("EsxImage", "base", { glanceImageId: imageId });
  await barrier.wait();
  const name = `${team}-vm`;
  const vm = await p.up("EsxInstance", "vm", {
    name,
    resourceName: "vm",
    resourceUrn: p.urn("EsxInstance", "vm"),
    image: image.outs,
    cpus: 1,
    memoryMb: 256,
    networks: [{ network: lan.outs, ip }],
  });
  return { p, team, lan, image, vm };
}

/** Releases every waiter once `n` have arrived, so both stacks create their VMs at the same moment. */
interface Barrier {
  wait(): Promise<void>;
}
function barrier(n: number): Barrier {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((r) => (release = r));
  return {
    wait() {
      if (++arrived === n) release();
      return all;
    },
  };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "two-stacks-"));
  [sim, glance] = await Promise.all([startEsxSim({ tls: true }), startGlance()]);
  session = VimSession.for({ host: sim.host, username: sim.username, password: sim.password, thumbprint: sim.thumbprintSha256 });
  ds = Object.keys(sim.datastores)[0];
  raw = crypto.randomBytes(6 * MiB);
  const client = new GlanceClient({ url: glance.url });
  const img = await client.createImage({ name: "shared", disk_format: "raw", container_format: "bare" });
  const file = path.join(dir, "shared.raw");
  fs.writeFileSync(file, raw);
  await client.uploadData(img.id, fs.createReadStream(file), raw.length);
  imageId = img.id;
}, 180_000);

afterAll(async () => {
  await Promise.all(plugins.map((p) => p.plugin.stop()));
  await VimSession.closeAll();
  await Promise.all([sim?.stop(), glance?.stop()]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("two stacks on a platform's port group: one base disk, two VMs, parallel destroy removes the disk after the last user", async () => {
  const vmsBefore = await hostVmNames();
  const platform = await stack();
  const shared = await platform.up("GuestNetwork", "shared", lanInputs("shared-lan", false));
  expect(shared.outs.created).toBe(true);

  const [pa, pb] = await Promise.all([stack(), stack()]);
  const both = barrier(2);
  const [a, b] = await Promise.all([up(pa, "team-a", "shared-lan", "10.60.0.20", both), up(pb, "team-b", "shared-lan", "10.60.0.21", both)]);

  // The port group: one, adopted by both teams.
  expect(a.lan.outs.created).toBe(false);
  expect(b.lan.outs.created).toBe(false);
  expect((await portGroups()).filter((g) => g === "shared-lan")).toHaveLength(1);

  // The image: one folder, one descriptor and one flat file, byte-identical to Glance; both ids referenced.
  const imgDir = `images/${imageId}`;
  expect(listDir("images")).toEqual([imageId]);
  expect(listDir(imgDir)).toEqual([`${imageId}-flat.vmdk`, `${imageId}.vmdk`, "image.json", "refs.json"]);
  expect(fs.readFileSync(dsPath(`${imgDir}/${imageId}-flat.vmdk`)).equals(raw)).toBe(true);
  expect([a.image.outs.imported, b.image.outs.imported].sort()).toEqual([false, true]);
  expect(a.image.outs.datastorePath).toBe(b.image.outs.datastorePath);
  const refs = Object.keys(JSON.parse(fs.readFileSync(dsPath(`${imgDir}/refs.json`), "utf8")).refs).sort();
  expect(refs).toEqual([a.image.id, b.image.id].sort());

  // The host: exactly the two VMs, linked to the one base disk, on the shared port group.
  expect(await hostVmNames()).toEqual([...vmsBefore, "team-a-vm", "team-b-vm"].sort());
  const ctx = await hostContext(session);
  for (const t of [a, b]) {
    const vm = (await readVm(ctx, { type: "VirtualMachine", value: t.vm.id }))!;
    expect(vm.name).toBe(`${t.team}-vm`);
    expect(vm.devices.disks.map((d) => d.parentFileName)).toEqual([a.image.outs.datastorePath]);
    expect(vm.devices.nics.map((n) => n.portGroup)).toEqual(["shared-lan"]);
    expect(listDir(`${t.team}-vm`).some((f) => f.endsWith("-delta.vmdk"))).toBe(true);
  }

  // Destroy both stacks at once; watch the base disk while they run.
  const flat = dsPath(`${imgDir}/${imageId}-flat.vmdk`);
  const imageDeleteStarted: number[] = [];
  let goneAt: number | undefined;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      if (goneAt === undefined && !fs.existsSync(flat)) goneAt = Date.now();
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const destroy = async (t: Team) => {
    await t.p.plugin.delete(t.vm.id, t.p.urn("EsxInstance", "vm"), t.vm.outs);
    imageDeleteStarted.push(Date.now());
    await t.p.plugin.delete(t.image.id, t.p.urn("EsxImage", "base"), t.image.outs);
    await t.p.plugin.delete(t.lan.id, t.p.urn("GuestNetwork", "lan"), t.lan.outs);
  };
  try {
    await Promise.all([destroy(a), destroy(b)]);
  } finally {
    watching = false;
    await watcher;
  }
  expect(imageDeleteStarted).toHaveLength(2);
  expect(goneAt).toBeDefined();
  expect(goneAt!).toBeGreaterThanOrEqual(Math.max(...imageDeleteStarted));

  expect(listDir("images")).toEqual([]);
  expect(await hostVmNames()).toEqual(vmsBefore);
  expect(listDir("team-a-vm")).toEqual([]);
  expect(listDir("team-b-vm")).toEqual([]);
  // Adopted by both teams: still there for the platform, which removes it last.
  expect(await portGroups()).toContain("shared-lan");
  await platform.plugin.delete(shared.id, platform.urn("GuestNetwork", "shared"), shared.outs);
  expect(await portGroups()).not.toContain("shared-lan");
}, 240_000);

test("both teams adopt a port group that does not exist yet, at once: one creates it, the other adopts; ip: auto gives distinct addresses", async () => {
  const vmsBefore = await hostVmNames();
  const [pa, pb] = await Promise.all([stack(), stack()]);
  const both = barrier(2);
  const [a, b] = await Promise.all([up(pa, "race-a", "race-lan", "auto", both), up(pb, "race-b", "race-lan", "auto", both)]);
  expect([a.lan.outs.created, b.lan.outs.created].sort()).toEqual([false, true]);
  expect((await portGroups()).filter((g) => g === "race-lan")).toHaveLength(1);
  expect(listDir("images")).toEqual([imageId]);
  expect(listDir(`images/${imageId}`)).toEqual([`${imageId}-flat.vmdk`, `${imageId}.vmdk`, "image.json", "refs.json"]);

  // Addresses from the shared range: the guests must not get the same one.
  const ctx = await hostContext(session);
  const ips: string[] = [];
  for (const t of [a, b]) {
    const vm = (await readVm(ctx, { type: "VirtualMachine", value: t.vm.id }))!;
    const ip = decodeMachineId(vm.extraConfig["machine.id"]).nics[0].ip;
    ips.push(ip);
    expect(t.vm.outs.networks[0].ip).toBe(ip); // the outputs say what the guest is given
  }
  expect(ips.map((ip) => ip.startsWith("10.60.0."))).toEqual([true, true]);

  // The creator's port group delete waits for the other team: refused while its VM is on it, nothing removed.
  const [creator, other] = a.lan.outs.created ? [a, b] : [b, a];
  await creator.p.plugin.delete(creator.vm.id, creator.p.urn("EsxInstance", "vm"), creator.vm.outs);
  const err = await creator.p.plugin.delete(creator.lan.id, creator.p.urn("GuestNetwork", "lan"), creator.lan.outs).catch((e: Error) => e);
  expect(err).toBeInstanceOf(Error);
  expect((err as Error).message).toContain(`still used by VM(s) ${other.team}-vm`);
  expect(await portGroups()).toContain("race-lan");

  await Promise.all([
    other.p.plugin.delete(other.vm.id, other.p.urn("EsxInstance", "vm"), other.vm.outs),
    creator.p.plugin.delete(creator.image.id, creator.p.urn("EsxImage", "base"), creator.image.outs),
  ]);
  await Promise.all([
    other.p.plugin.delete(other.image.id, other.p.urn("EsxImage", "base"), other.image.outs),
    other.p.plugin.delete(other.lan.id, other.p.urn("GuestNetwork", "lan"), other.lan.outs),
    creator.p.plugin.delete(creator.lan.id, creator.p.urn("GuestNetwork", "lan"), creator.lan.outs),
  ]);
  expect(await portGroups()).not.toContain("race-lan");
  expect(listDir("images")).toEqual([]);
  expect(await hostVmNames()).toEqual(vmsBefore);
  expect(ips[0]).not.toBe(ips[1]);
  expect([...ips].sort()).toEqual(["10.60.0.50", "10.60.0.51"]);
}, 240_000);
