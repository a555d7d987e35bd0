/**
 * The vSphere SOAP layer against the simulated ESX host over HTTPS with a pinned thumbprint: login, inventory
 * reads, a task waited on with WaitForUpdatesEx, re-login after the host terminates the session, and refusal of a
 * wrong pin, an untrusted certificate, a wrong password and an unreachable host.
 */
import * as net from "node:net";
import { VimSession } from "../provider/vim/session";
import { retrieveInventory, retrieveOne } from "./support/vim-untyped";
import { runTask } from "./support/vim-untyped";
import { VimAuthError, VimFault, VimTlsError } from "../provider/vim/faults";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";

let sim: EsxSim;
const sessions: VimSession[] = [];

function connect(over: Partial<{ password: string; thumbprint: string; insecure: boolean; host: string }> = {}): VimSession {
  const s = VimSession.for({
    host: over.host ?? sim.host,
    username: sim.username,
    password: over.password ?? sim.password,
    thumbprint: "thumbprint" in over ? over.thumbprint : sim.thumbprintSha256,
    insecure: over.insecure,
    connectTimeoutMs: 3000,
  });
  sessions.push(s);
  return s;
}

beforeAll(async () => {
  sim = await startEsxSim({ tls: true });
});

afterAll(async () => {
  await VimSession.closeAll();
  await sim?.stop();
});

test("logs in once and reads the inventory through the property collector", async () => {
  const s = connect();
  const inv = await retrieveInventory(s, {
    Datacenter: ["name"],
    HostSystem: ["name", "summary.hardware.numCpuCores", "summary.hardware.memorySize", "config.network.vswitch"],
    Datastore: ["name", "summary.freeSpace", "summary.capacity", "summary.url"],
    Network: ["name"],
  });
  const byType = (t: string) => inv.filter((o) => o.ref.type === t);
  expect(byType("Datacenter").map((o) => o.props.name)).toEqual(["ha-datacenter"]);
  const [host] = byType("HostSystem");
  expect(host.props["summary.hardware.numCpuCores"]).toBeGreaterThan(0);
  const ds = byType("Datastore");
  expect(ds.length).toBeGreaterThan(0);
  expect(ds[0].props["summary.freeSpace"]).toBeGreaterThan(0);
  expect(Object.values(sim.datastores)).toContain(ds[0].props["summary.url"].replace(/\/$/, ""));
  expect(byType("Network").map((o) => o.props.name)).toContain("VM Network");
  const vswitches = host.props["config.network.vswitch"];
  expect(JSON.stringify(vswitches)).toContain("vSwitch0");
  expect(s.loginCount).toBe(1);
  // The same host and user share one session.
  expect(connect()).toBe(s);
});

test("runs a task and waits for it with WaitForUpdatesEx", async () => {
  const s = connect();
  const content = await s.serviceContent();
  const [dc] = (await retrieveInventory(s, { Datacenter: ["name"] })).filter((o) => o.ref.type === "Datacenter");
  const [ds] = (await retrieveInventory(s, { Datastore: ["name"] })).filter((o) => o.ref.type === "Datastore");
  const dsName = ds.props.name;
  await s.call("MakeDirectory", content.fileManager, { name: `[${dsName}] vimtest`, datacenter: dc.ref, createParentDirectories: true });
  const fs = await import("node:fs");
  const dir = `${sim.datastores[dsName]}/vimtest`;
  expect(fs.existsSync(dir)).toBe(true);
  const before = s.calls.length;
  await runTask(s, "DeleteDatastoreFile_Task", content.fileManager, { name: `[${dsName}] vimtest`, datacenter: dc.ref });
  expect(fs.existsSync(dir)).toBe(false);
  const ops = s.calls.slice(before).map((c) => c.op);
  expect(ops).toContain("WaitForUpdatesEx");
  // A failing task rejects with the vSphere fault name.
  await expect(runTask(s, "DeleteDatastoreFile_Task", content.fileManager, { name: `[${dsName}] no-such-dir`, datacenter: dc.ref })).rejects.toMatchObject({
    faultName: "FileNotFound",
  });
});

test("logs in again after the host terminates the session", async () => {
  const s = connect();
  const content = await s.serviceContent();
  const logins = s.loginCount;
  await sim.expireSessions();
  const about = await retrieveOne(s, content.rootFolder, ["name"]);
  expect(about?.name).toBeDefined();
  expect(s.loginCount).toBe(logins + 1);
});

test("refuses a wrong thumbprint and names the one it saw", async () => {
  const wrong = "AA:".repeat(31) + "AA";
  const err = await connect({ thumbprint: wrong })
    .serviceContent()
    .catch((e) => e);
  expect(err).toBeInstanceOf(VimTlsError);
  expect(err.message).toContain(sim.thumbprintSha256);
  expect(err.message).toContain("does not match esx:thumbprint");
});

test("accepts a SHA-1 pin written without colons", async () => {
  const s = connect({ thumbprint: sim.thumbprintSha1.replace(/:/g, "").toLowerCase() });
  expect((await s.serviceContent()).rootFolder.value).toBeTruthy();
});

test("refuses an unverifiable certificate unless pinned or insecure", async () => {
  const err = await connect({ thumbprint: undefined })
    .serviceContent()
    .catch((e) => e);
  expect(err).toBeInstanceOf(VimTlsError);
  expect(err.message).toMatch(/not trusted/);
  expect(err.message).toContain(sim.thumbprintSha256);
  const insecure = connect({ thumbprint: undefined, insecure: true });
  expect((await insecure.serviceContent()).rootFolder.value).toBeTruthy();
});

test("a wrong password fails once with an authentication error naming host and user", async () => {
  const s = connect({ password: "wrong-password" });
  const err = await s.serviceContent().catch((e) => e);
  expect(err).toBeInstanceOf(VimAuthError);
  expect(err.message).toContain(sim.host);
  expect(err.message).toContain(`"${sim.username}"`);
  expect(err.message).not.toContain("wrong-password");
  expect(s.calls.filter((c) => c.op === "Login")).toHaveLength(1);
});

test("an unreachable host fails within a bounded time", async () => {
  const srv = net.createServer().listen(0, "127.0.0.1");
  await new Promise((r) => srv.once("listening", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  const started = Date.now();
  const err = await connect({ host: `127.0.0.1:${port}` })
    .serviceContent()
    .catch((e) => e);
  expect(err.message).toMatch(/ECONNREFUSED/);
  expect(Date.now() - started).toBeLessThan(15000);
});

test("a host fault carries the vSphere fault name and the host", async () => {
  const s = connect();
  const content = await s.serviceContent();
  const err = await s.call("RemovePortGroup", { type: "HostNetworkSystem", value: "no-such-object" }, { pgName: "x" }).catch((e) => e);
  expect(err).toBeInstanceOf(VimFault);
  expect(err.faultName).toBe("ManagedObjectNotFound");
  expect(err.message).toContain(sim.host);
  expect(content).toBeDefined();
});
