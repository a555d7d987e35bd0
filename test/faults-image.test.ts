/**
 * EsxImage create and delete through the real plugin with fault proxies between plugin and host and between
 * plugin and Glance: resets, 503s, latency, a Glance download cut in the middle, a datastore upload cut in the
 * middle, lost answers and an expired session. Every run converges or fails naming the fault, and either way the
 * datastore holds a complete copy (descriptor + full -flat + refs) or nothing at all, and no lock is left.
 *
 * Plugin protocol (test/harness/plugin.ts): one operation per fault, its exact error, and the host and Glance
 * calls it made.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { GlanceClient } from "../provider/glance/client";
import { FaultProxy, FaultRule } from "./support/fault-proxy";
import { DS, FaultEnv, startFaultEnv } from "./support/fault-env";
import { EsxPlugin } from "./support/esx-plugin";

const SIZE = 3 * 1024 * 1024;
let env: FaultEnv;
let p: EsxPlugin;
let imageId: string;
let data: Buffer;

beforeAll(async () => {
  process.env.PULUMI_ESX_GLANCE_TIMEOUT_MS = "4000";
  env = await startFaultEnv({ glance: true });
  p = await env.plugin();
  const client = new GlanceClient({ url: env.glance!.url });
  data = crypto.randomBytes(SIZE);
  const img = await client.createImage({ name: "fault-img", disk_format: "raw", container_format: "bare" });
  await client.uploadData(img.id, data, SIZE);
  imageId = img.id;
}, 180_000);

afterAll(async () => {
  await env?.stop();
});

afterEach(() => env.clearRules());

const FAULT_MESSAGE = /transport error|ECONNRESET|socket hang up|503|Glance failed after \d+ bytes|PUT \[LocalDS_0\]/;

interface Case {
  fault: string;
  /** Which proxy. */
  at: "esx" | "glance";
  rule: FaultRule;
  outcome: "converges" | "fails";
}

const flatPut = (rest: Partial<FaultRule>): FaultRule => ({ method: "PUT", pathPrefix: "/folder/", ...rest }) as FaultRule;

const CREATE: Case[] = [
  { fault: "Glance metadata reset (twice)", at: "glance", rule: { method: "GET", pathPrefix: "/v2/images/", action: "reset", times: 2 }, outcome: "converges" },
  { fault: "Glance 503 (twice)", at: "glance", rule: { method: "GET", action: "503", times: 2 }, outcome: "converges" },
  { fault: "Glance latency 1.5 s", at: "glance", rule: { method: "GET", action: { delayMs: 1500 }, times: 3 }, outcome: "converges" },
  {
    fault: "Glance download reset before data",
    at: "glance",
    // a getter: the image id is known once beforeAll ran
    get rule(): FaultRule {
      return { method: "GET", pathPrefix: `/v2/images/${imageId}/file`, action: "reset" };
    },
    outcome: "converges",
  },
  {
    fault: "Glance download cut in the middle",
    at: "glance",
    get rule(): FaultRule {
      return { method: "GET", pathPrefix: `/v2/images/${imageId}/file`, action: "cut-response", cutAfterBytes: SIZE / 3 };
    },
    outcome: "fails",
  },
  {
    fault: "datastore upload cut in the middle",
    at: "esx",
    rule: flatPut({ pathPrefix: "/folder/fimg-", action: "cut-request", cutAfterBytes: SIZE / 2, skip: 1 }),
    outcome: "fails",
  },
  { fault: "datastore upload reset", at: "esx", rule: flatPut({ pathPrefix: "/folder/fimg-", action: "reset", skip: 1 }), outcome: "fails" },
  { fault: "datastore upload 503", at: "esx", rule: flatPut({ pathPrefix: "/folder/fimg-", action: "503", skip: 1 }), outcome: "fails" },
  {
    fault: "descriptor write answer lost",
    at: "esx",
    rule: flatPut({ pathPrefix: "/folder/fimg-", action: "reset", when: "after", skip: 3 }),
    outcome: "fails",
  },
  {
    fault: "MakeDirectory of the image dir: answer lost",
    at: "esx",
    rule: { soapOp: "MakeDirectory", skip: 2, action: "reset", when: "after" },
    outcome: "converges",
  },
  { fault: "cleanup DeleteDatastoreFile_Task: reset", at: "esx", rule: { soapOp: "DeleteDatastoreFile_Task", action: "reset" }, outcome: "converges" },
  { fault: "expired session at the lock", at: "esx", rule: { soapOp: "MakeDirectory", skip: 1, action: "expire-session" }, outcome: "converges" },
  {
    fault: "expired session before the upload",
    at: "esx",
    rule: { soapOp: "MakeDirectory", skip: 2, action: "expire-session", when: "after" },
    outcome: "converges",
  },
  { fault: "reads reset (3 times)", at: "esx", rule: { soapOp: "RetrievePropertiesEx", action: "reset", times: 3 }, outcome: "converges" },
];

let n = 0;

/** Whether the rule has fired (at least once) by now. */
function firedYet(proxy: FaultProxy, rule: FaultRule): Promise<boolean> {
  return Promise.race([proxy.fired(rule).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 0))]);
}

function proxyOf(c: Case): FaultProxy {
  return c.at === "esx" ? env.esx : env.glanceProxy!;
}

/** The copy under <folder>/<id>/: complete (exact bytes) or absent; no lock directory either way. */
function expectCompleteOrNothing(folder: string, complete: boolean) {
  const files = env.files(folder);
  if (!complete) {
    expect(files).toEqual([]);
    return;
  }
  expect(files).toEqual([imageId, `${imageId}/${imageId}-flat.vmdk`, `${imageId}/${imageId}.vmdk`, `${imageId}/image.json`, `${imageId}/refs.json`].sort());
  const flat = fs.readFileSync(path.join(env.sim.datastores[DS], folder, imageId, `${imageId}-flat.vmdk`));
  expect(flat.equals(data)).toBe(true);
}

describe.each(CREATE)("create: $fault", (c) => {
  test(
    c.outcome,
    async () => {
      const folder = `fimg-${++n}`;
      const inp = { glanceImageId: imageId, datastore: DS, folder };
      const rule = c.rule;
      proxyOf(c).addRule(rule);
      env.esx.clearCalls();
      const r = await p.up("EsxImage", folder, inp).catch((e: Error) => e);
      if (c.at === "glance") expect(await firedYet(proxyOf(c), rule)).toBe(true);
      env.clearRules();
      let made: { id: string; outs: Record<string, any> };
      if (c.outcome === "converges") {
        if (r instanceof Error) throw r;
        made = r;
      } else {
        expect(r).toBeInstanceOf(Error);
        expect((r as Error).message).toMatch(new RegExp(`EsxImage "${imageId}"`));
        expect((r as Error).message).toMatch(FAULT_MESSAGE);
        expectCompleteOrNothing(folder, false);
        made = await p.up("EsxImage", folder, inp);
      }
      expect(made.outs).toMatchObject({ imported: true, capacityBytes: SIZE });
      expectCompleteOrNothing(folder, true);
      await p.plugin.delete(made.id, p.urn("EsxImage", folder), made.outs);
      expectCompleteOrNothing(folder, false);
    },
    120_000,
  );
});

const DELETE: Case[] = [
  { fault: "DeleteVirtualDisk_Task answer lost", at: "esx", rule: { soapOp: "DeleteVirtualDisk_Task", action: "reset", when: "after" }, outcome: "fails" },
  { fault: "DeleteVirtualDisk_Task reset before", at: "esx", rule: { soapOp: "DeleteVirtualDisk_Task", action: "reset" }, outcome: "fails" },
  { fault: "refs.json read 503", at: "esx", rule: { method: "GET", pathPrefix: "/folder/", action: "503" }, outcome: "fails" },
  { fault: "expired session", at: "esx", rule: { soapOp: "DeleteVirtualDisk_Task", action: "expire-session" }, outcome: "converges" },
];

describe.each(DELETE)("delete: $fault", (c) => {
  test(
    c.outcome,
    async () => {
      const folder = `fimg-${++n}`;
      const made = await p.up("EsxImage", folder, { glanceImageId: imageId, datastore: DS, folder });
      proxyOf(c).addRule(c.rule);
      const r = await p.plugin.delete(made.id, p.urn("EsxImage", folder), made.outs).then(
        () => undefined,
        (e: Error) => e,
      );
      env.clearRules();
      if (c.outcome === "converges") {
        if (r) throw r;
      } else {
        expect(r).toBeInstanceOf(Error);
        expect(r!.message).toMatch(FAULT_MESSAGE);
        expect(env.files(folder).filter((f) => f.endsWith(".lock"))).toEqual([]);
        await p.plugin.delete(made.id, p.urn("EsxImage", folder), made.outs);
      }
      expectCompleteOrNothing(folder, false);
    },
    120_000,
  );
});
