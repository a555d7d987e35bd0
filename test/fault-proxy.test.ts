/**
 * The fault proxy itself, in front of the simulated ESX host: SOAP operations logged per round trip, datastore
 * transfers streamed and counted, and each fault (reset, 503, delay, cut response, cut request, expired session)
 * observed by a real client.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import { VimSession } from "../provider/vim/session";
import { VimTransportError } from "../provider/vim/faults";
import { hostContext } from "../provider/esx/host";
import { folderUrl, readSmallFile, uploadStream } from "../provider/esx/transfer";
import { loadGot } from "../provider/http/got";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { FaultProxy, soapOpOf, startFaultProxy } from "./support/fault-proxy";

const DS = "LocalDS_0";
let sim: EsxSim;
let proxy: FaultProxy;
let session: VimSession;

beforeAll(async () => {
  sim = await startEsxSim({ tls: true });
  proxy = await startFaultProxy({ target: `https://${sim.host}`, onExpireSession: () => sim.expireSessions() });
  session = VimSession.for({ host: proxy.url, username: sim.username, password: sim.password });
}, 120_000);

afterAll(async () => {
  await VimSession.closeAll();
  await proxy?.stop();
  await sim?.stop();
});

afterEach(() => proxy.clearRules());

const si = { type: "ServiceInstance", value: "ServiceInstance" };

test("reads the SOAP operation of each round trip", async () => {
  expect(soapOpOf('<?xml version="1.0"?><soapenv:Envelope><soapenv:Body>\n <Login xmlns="urn:vim25">')).toBe("Login");
  proxy.clearCalls();
  await hostContext(session);
  const ops = proxy.soapOps();
  expect(ops.slice(0, 2)).toEqual(["RetrieveServiceContent", "Login"]);
  expect(ops).toContain("RetrievePropertiesEx");
  for (const c of proxy.calls) {
    expect(c).toMatchObject({ method: "POST", path: "/sdk", status: 200 });
    expect(c.requestBytes).toBeGreaterThan(100);
    expect(c.responseBytes).toBeGreaterThan(100);
  }
}, 60_000);

test("streams a datastore upload and download, counting bytes", async () => {
  const ctx = await hostContext(session);
  const size = 3 * 1024 * 1024 + 17;
  const data = Buffer.alloc(size, 7);
  proxy.clearCalls();
  await uploadStream(ctx, { datastore: DS, path: "proxy-a.bin" }, Readable.from([data.subarray(0, 1e6), data.subarray(1e6)]), size);
  expect(fs.statSync(path.join(sim.datastores[DS], "proxy-a.bin")).size).toBe(size);
  const put = proxy.calls.find((c) => c.method === "PUT")!;
  expect(put).toMatchObject({ path: expect.stringMatching(/^\/folder\/proxy-a\.bin\?/), requestBytes: size, status: 201 });
  const got = await loadGot();
  const body = await got.get(folderUrl(ctx, { datastore: DS, path: "proxy-a.bin" }), { headers: { cookie: await session.cookieHeader() } }).buffer();
  expect(body.equals(data)).toBe(true);
  expect(proxy.calls.find((c) => c.method === "GET")!.responseBytes).toBe(size);
}, 60_000);

test("reset and 503 fail a call that changes the host; reads are retried through them", async () => {
  const ctx = await hostContext(session);
  proxy.addRule({ soapOp: "MakeDirectory", action: "reset" });
  const e1 = await session.call("MakeDirectory", ctx.fileManager, { name: `[${DS}] proxy-dir`, datacenter: ctx.datacenter }).catch((e) => e);
  expect(e1).toBeInstanceOf(VimTransportError);
  expect(e1.message).toMatch(/ECONNRESET|socket hang up/);
  expect(fs.existsSync(path.join(sim.datastores[DS], "proxy-dir"))).toBe(false);

  proxy.addRule({ soapOp: "MakeDirectory", action: "503" });
  const e2 = await session.call("MakeDirectory", ctx.fileManager, { name: `[${DS}] proxy-dir`, datacenter: ctx.datacenter }).catch((e) => e);
  expect(e2).toBeInstanceOf(VimTransportError);
  expect(e2.message).toMatch(/503/);

  proxy.clearCalls();
  proxy.addRule({ soapOp: "RetrieveServiceContent", action: "503", times: 2 });
  const content = await session.call("RetrieveServiceContent", si);
  expect(content.about).toBeDefined();
  expect(proxy.calls.map((c) => c.status)).toEqual([503, 503, 200]);
}, 60_000);

test("a reset after the host answered: the host did the work, the client got an error", async () => {
  const ctx = await hostContext(session);
  proxy.addRule({ soapOp: "MakeDirectory", action: "reset", when: "after" });
  const e = await session.call("MakeDirectory", ctx.fileManager, { name: `[${DS}] proxy-after`, datacenter: ctx.datacenter }).catch((x) => x);
  expect(e).toBeInstanceOf(VimTransportError);
  expect(fs.statSync(path.join(sim.datastores[DS], "proxy-after")).isDirectory()).toBe(true);
}, 60_000);

test("delay before and after", async () => {
  const rule = { soapOp: "RetrieveServiceContent", action: { delayMs: 600 } };
  proxy.addRule(rule);
  let t = Date.now();
  await session.call("RetrieveServiceContent", si);
  expect(Date.now() - t).toBeGreaterThanOrEqual(550);
  await proxy.fired(rule);
  proxy.addRule({ soapOp: "RetrieveServiceContent", action: { delayMs: 600 }, when: "after" });
  t = Date.now();
  await session.call("RetrieveServiceContent", si);
  expect(Date.now() - t).toBeGreaterThanOrEqual(550);
}, 60_000);

test("cut response: the client sees a truncated body", async () => {
  const ctx = await hostContext(session);
  fs.writeFileSync(path.join(sim.datastores[DS], "proxy-b.bin"), Buffer.alloc(2 * 1024 * 1024, 1));
  proxy.addRule({ method: "GET", pathPrefix: "/folder/proxy-b.bin", action: "cut-response", cutAfterBytes: 300_000 });
  proxy.clearCalls();
  const got = await loadGot();
  const e = await got
    .get(folderUrl(ctx, { datastore: DS, path: "proxy-b.bin" }), { headers: { cookie: await session.cookieHeader() }, retry: { limit: 0 } })
    .buffer()
    .catch((x) => x);
  expect(e).toBeInstanceOf(Error);
  expect(proxy.calls[0]).toMatchObject({ responseBytes: 300_000, fault: "cut-response before" });
  // A cut SOAP answer is a transport error.
  proxy.addRule({ soapOp: "RetrieveServiceContent", action: "cut-response", times: 4 });
  const e2 = await session.call("RetrieveServiceContent", si).catch((x) => x);
  expect(e2).toBeInstanceOf(VimTransportError);
}, 60_000);

test("cut request: the host received part of the upload, the client an error", async () => {
  const ctx = await hostContext(session);
  const size = 4 * 1024 * 1024;
  proxy.addRule({ method: "PUT", pathPrefix: "/folder/proxy-c.bin", action: "cut-request", cutAfterBytes: 1024 * 1024 });
  proxy.clearCalls();
  const e = await uploadStream(ctx, { datastore: DS, path: "proxy-c.bin" }, Readable.from([Buffer.alloc(size, 3)]), size).catch((x) => x);
  expect(e).toBeInstanceOf(Error);
  expect(e.message).toMatch(/PUT \[LocalDS_0\] proxy-c\.bin failed/);
  expect(proxy.calls.find((c) => c.method === "PUT")!.requestBytes).toBe(1024 * 1024);
  const f = path.join(sim.datastores[DS], "proxy-c.bin");
  if (fs.existsSync(f)) expect(fs.statSync(f).size).toBeLessThan(size);
}, 60_000);

test("expire-session: the host answers NotAuthenticated, the session logs in again", async () => {
  const ctx = await hostContext(session);
  const logins = session.loginCount;
  proxy.addRule({ soapOp: "MakeDirectory", action: "expire-session" });
  proxy.clearCalls();
  await session.call("MakeDirectory", ctx.fileManager, { name: `[${DS}] proxy-exp`, datacenter: ctx.datacenter });
  expect(session.loginCount).toBe(logins + 1);
  expect(proxy.soapOps()).toEqual(["MakeDirectory", "RetrieveServiceContent", "Login", "MakeDirectory"]);
  expect(fs.statSync(path.join(sim.datastores[DS], "proxy-exp")).isDirectory()).toBe(true);
  // Datastore transfers use the new session's cookie.
  expect(await readSmallFile(ctx, { datastore: DS, path: "proxy-missing.txt" })).toBeUndefined();
}, 60_000);
