/**
 * Crash safety of EsxInstance create: the provider plugin process is killed (SIGKILL) in the middle of a create,
 * a new plugin runs the same create again, and the host ends with exactly one VM of that name, carrying the
 * resource's URN marker, in the requested power state. The simulator delays CreateVM_Task and PowerOnVM_Task so
 * the kill lands inside them.
 *
 * Plugin protocol (test/harness/plugin.ts): the plugin process alone is killed inside a Create and the Create is
 * rerun; killing the whole `pulumi up` tree and recovering with the CLI is test/engine-crash.test.ts.
 */
import { VimSession } from "../provider/vim/session";
import { hostContext } from "../provider/esx/host";
import { listVms, readVm } from "../provider/driver/vm-state";
import { runTask } from "./support/vim-untyped";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { EsxPlugin, simConfig, startEsxPlugin } from "./support/esx-plugin";

const DS = "LocalDS_0";
const BASE = `[${DS}] images/base/base.vmdk`;

let sim: EsxSim;
let session: VimSession;
const plugins: EsxPlugin[] = [];
let lan: Record<string, any>;

async function plugin(): Promise<EsxPlugin> {
  const p = await startEsxPlugin(simConfig(sim));
  plugins.push(p);
  return p;
}

async function vmsNamed(name: string) {
  return (await listVms(await hostContext(session))).filter((v) => v.name === name);
}

async function until(cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

function inputs(p: EsxPlugin, name: string) {
  return {
    name,
    resourceName: name,
    resourceUrn: p.urn("EsxInstance", name),
    image: { datastorePath: BASE, datastore: DS, capacityBytes: 64 * 1024 * 1024, adapterType: "lsiLogic", guestId: "debian11_64Guest" },
    cpus: 1,
    memoryMb: 256,
    networks: [{ network: lan, ip: "10.30.0.10" }],
  };
}

beforeAll(async () => {
  sim = await startEsxSim({ tls: true, methodDelays: { CreateVM_Task: 1500, PowerOnVM_Task: 2500 } });
  session = VimSession.for({ host: sim.host, username: sim.username, password: sim.password, thumbprint: sim.thumbprintSha256 });
  const p = await plugin();
  lan = (await p.up("GuestNetwork", "lan", { portGroup: "crash-lan", cidr: "10.30.0.0/24", gateway: "10.30.0.1" })).outs;
  const ctx = await hostContext(session);
  await runTask(session, "CreateVirtualDisk_Task", ctx.virtualDiskManager, {
    name: BASE,
    datacenter: ctx.datacenter,
    spec: { _type: "FileBackedVirtualDiskSpec", diskType: "thin", adapterType: "lsiLogic", capacityKb: 64 * 1024 },
  });
}, 120_000);

afterAll(async () => {
  for (const p of plugins) await p.plugin.stop();
  await VimSession.closeAll();
  await sim?.stop();
});

async function expectOneFinishedVm(p: EsxPlugin, name: string, id: string) {
  const vms = await vmsNamed(name);
  expect(vms).toHaveLength(1);
  expect(vms[0].ref.value).toBe(id);
  expect(vms[0].extraConfig["pulumi-esx.urn"]).toBe(p.urn("EsxInstance", name));
  const vm = (await readVm(await hostContext(session), vms[0].ref))!;
  expect(vm.powerState).toBe("on");
  expect(vm.devices.nics.map((n) => n.portGroup)).toEqual(["crash-lan"]);
}

test("killed while waiting for PowerOnVM_Task: the next create finishes the marked VM", async () => {
  const p1 = await plugin();
  const pending = p1.up("EsxInstance", "crash-a", inputs(p1, "crash-a")).catch((e) => e);
  await until(async () => (await vmsNamed("crash-a")).length === 1, 10_000);
  await new Promise((r) => setTimeout(r, 300)); // PowerOnVM_Task is on its way (delayed 2.5 s by the host)
  await p1.plugin.kill();
  expect(await pending).toBeInstanceOf(Error);

  const p2 = await plugin();
  const { id, outs } = await p2.up("EsxInstance", "crash-a", inputs(p2, "crash-a"));
  expect(outs).toMatchObject({ name: "crash-a", powerState: "on", adopted: false });
  await expectOneFinishedVm(p2, "crash-a", id);
  await p2.plugin.delete(id, p2.urn("EsxInstance", "crash-a"), outs);
  expect(await vmsNamed("crash-a")).toHaveLength(0);
}, 60_000);

test("killed inside CreateVM_Task: the retry's CreateVM collides with the first one and finishes it", async () => {
  const p1 = await plugin();
  const pending = p1.up("EsxInstance", "crash-b", inputs(p1, "crash-b")).catch((e) => e);
  await new Promise((r) => setTimeout(r, 700)); // CreateVM_Task is being served (delayed 1.5 s by the host)
  await p1.plugin.kill();
  expect(await pending).toBeInstanceOf(Error);
  expect(await vmsNamed("crash-b")).toHaveLength(0);

  const p2 = await plugin();
  const { id, outs } = await p2.up("EsxInstance", "crash-b", inputs(p2, "crash-b"));
  expect(outs.name).toBe("crash-b");
  await expectOneFinishedVm(p2, "crash-b", id);
  await p2.plugin.delete(id, p2.urn("EsxInstance", "crash-b"), outs);
}, 60_000);

test("an unmarked VM of the same name is refused with a hint to adopt", async () => {
  const p = await plugin();
  const ctx = await hostContext(session);
  await runTask(session, "CreateVM_Task", ctx.vmFolder, {
    config: { name: "crash-c", guestId: "otherGuest64", files: { vmPathName: `[${DS}] crash-c/crash-c.vmx` }, numCPUs: 1, memoryMB: 128 },
    pool: ctx.resourcePool,
  });
  const err = await p.up("EsxInstance", "crash-c", inputs(p, "crash-c")).catch((e) => e);
  expect(err.message).toMatch(/crash-c already exists.*not made by this provider.*adopt: true/);
  expect(await vmsNamed("crash-c")).toHaveLength(1);
}, 60_000);
