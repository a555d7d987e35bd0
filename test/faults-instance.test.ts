/**
 * EsxInstance create (linked and full clone), update and delete through the real plugin with a fault proxy
 * between plugin and host. Every run either converges or fails with an error naming the fault; in both cases
 * the host holds no half-made VM (every VM carries its marker and is tracked, or is gone with its folder), and a
 * call that changes the host is never repeated blindly: after a lost answer the provider reads what the host
 * did (the proxy log counts each call).
 *
 * Plugin protocol (test/harness/plugin.ts): one operation per fault, its exact error or partial state, and the
 * host calls it made.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readVm } from "../provider/driver/vm-state";
import { FaultRule } from "./support/fault-proxy";
import { DS, FaultEnv, makeBaseDisk, smallInstanceInputs, startFaultEnv } from "./support/fault-env";
import { EsxPlugin } from "./support/esx-plugin";

const BASE = `[${DS}] images/fbase/fbase.vmdk`;
let env: FaultEnv;
let p: EsxPlugin;
let lan: Record<string, any>;

beforeAll(async () => {
  env = await startFaultEnv();
  p = await env.plugin();
  lan = (await p.up("GuestNetwork", "flan", { portGroup: "fault-lan", cidr: "10.31.0.0/24", gateway: "10.31.0.1" })).outs;
  await makeBaseDisk(env, BASE);
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

afterEach(() => env.clearRules());

function inputs(name: string, over: Record<string, any> = {}) {
  return smallInstanceInputs(p, name, BASE, lan, over);
}

const FAULT_MESSAGE = /transport error|ECONNRESET|socket hang up|503/;

async function vmsNamed(name: string) {
  return (await env.vms()).filter((v) => v.name === name);
}

function folderExists(name: string): boolean {
  return fs.existsSync(path.join(env.sim.datastores[DS], name));
}

/** The host holds exactly one finished, marked VM of this name, powered on, on the port group. */
async function expectFinished(name: string, id: string) {
  const vms = await vmsNamed(name);
  expect(vms.map((v) => v.ref.value)).toEqual([id]);
  expect(vms[0].extraConfig["pulumi-esx.urn"]).toBe(p.urn("EsxInstance", name));
  const vm = (await readVm(await env.ctx(), vms[0].ref))!;
  expect(vm.powerState).toBe("on");
  expect(vm.devices.disks).toHaveLength(1);
  expect(vm.devices.nics.map((n) => n.portGroup)).toEqual(["fault-lan"]);
}

async function expectGone(name: string) {
  expect(await vmsNamed(name)).toHaveLength(0);
  expect(folderExists(name)).toBe(false);
}

function count(op: string): number {
  return env.esx.soapOps().filter((o) => o === op).length;
}

interface Case {
  fault: string;
  op: string;
  rule: Omit<FaultRule, "soapOp">;
  outcome: "converges" | "fails";
  /** Times the op reaches the proxy (default 1). */
  sent?: number;
  full?: boolean;
}

const reset = { action: "reset" } as const;
const resetAfter = { action: "reset", when: "after" } as const;

const CREATE: Case[] = [
  { fault: "reset before", op: "CreateVM_Task", rule: reset, outcome: "fails" },
  { fault: "reset after (VM made, answer lost)", op: "CreateVM_Task", rule: resetAfter, outcome: "converges" },
  { fault: "503 after", op: "CreateVM_Task", rule: { action: "503", when: "after" }, outcome: "converges" },
  { fault: "503 before", op: "CreateVM_Task", rule: { action: "503" }, outcome: "fails" },
  { fault: "cut response", op: "CreateVM_Task", rule: { action: "cut-response", cutAfterBytes: 60 }, outcome: "converges" },
  { fault: "latency 1.5 s", op: "CreateVM_Task", rule: { action: { delayMs: 1500 } }, outcome: "converges" },
  { fault: "expired session", op: "CreateVM_Task", rule: { action: "expire-session" }, outcome: "converges", sent: 2 },
  { fault: "reset after", op: "PowerOnVM_Task", rule: resetAfter, outcome: "converges" },
  { fault: "reset before (checked, sent again)", op: "PowerOnVM_Task", rule: reset, outcome: "converges", sent: 2 },
  { fault: "reset of task updates (3 times)", op: "WaitForUpdatesEx", rule: { action: "reset", times: 3 }, outcome: "converges", sent: 0 },
  { fault: "503 of reads (3 times)", op: "RetrievePropertiesEx", rule: { action: "503", times: 3 }, outcome: "converges", sent: 0 },
  { fault: "reset after", op: "MakeDirectory", rule: resetAfter, outcome: "converges", full: true, sent: 2 },
  { fault: "reset before", op: "CopyVirtualDisk_Task", rule: reset, outcome: "fails", full: true },
  { fault: "reset after (copy made, answer lost)", op: "CopyVirtualDisk_Task", rule: resetAfter, outcome: "fails", full: true },
  { fault: "reset after", op: "CreateVM_Task", rule: resetAfter, outcome: "converges", full: true },
];

let n = 0;

describe.each(CREATE)("create ($op: $fault)", (c) => {
  test(`${c.outcome}${c.full ? " (full clone)" : ""}`, async () => {
    const name = `fvm-${++n}`;
    const inp = inputs(name, c.full ? { cloneMode: "full" } : {});
    env.esx.clearCalls();
    env.esx.addRule({ ...c.rule, soapOp: c.op });
    const r = await p.up("EsxInstance", name, inp).catch((e: Error) => e);
    env.clearRules();
    if (c.sent !== 0) expect(count(c.op)).toBe(c.sent ?? 1);
    expect(count("CreateVM_Task")).toBeLessThanOrEqual(c.rule.action === "expire-session" ? 2 : 1);
    let made: { id: string; outs: Record<string, any> };
    if (c.outcome === "converges") {
      if (r instanceof Error) throw r;
      made = r;
    } else {
      expect(r).toBeInstanceOf(Error);
      expect((r as Error).message).toMatch(new RegExp(`EsxInstance "${name}"`));
      expect((r as Error).message).toMatch(FAULT_MESSAGE);
      await expectGone(name);
      made = await p.up("EsxInstance", name, inp);
    }
    await expectFinished(name, made.id);
    await p.plugin.delete(made.id, p.urn("EsxInstance", name), made.outs);
    await expectGone(name);
  }, 120_000);
});

const UPDATE: Case[] = [
  { fault: "reset before", op: "ReconfigVM_Task", rule: reset, outcome: "fails" },
  { fault: "reset after (reconfigured, answer lost)", op: "ReconfigVM_Task", rule: resetAfter, outcome: "fails" },
  { fault: "expired session", op: "ReconfigVM_Task", rule: { action: "expire-session" }, outcome: "converges", sent: 2 },
  { fault: "reset after", op: "PowerOffVM_Task", rule: resetAfter, outcome: "converges" },
  { fault: "latency 1 s", op: "ReconfigVM_Task", rule: { action: { delayMs: 1000 } }, outcome: "converges" },
];

describe.each(UPDATE)("update cpus ($op: $fault)", (c) => {
  test(
    c.outcome,
    async () => {
      const name = `fvm-${++n}`;
      const made = await p.up("EsxInstance", name, inputs(name));
      env.esx.clearCalls();
      env.esx.addRule({ ...c.rule, soapOp: c.op });
      const r = await p.change("EsxInstance", name, made.id, made.outs, inputs(name, { cpus: 2 })).catch((e: Error) => e);
      env.clearRules();
      expect(count(c.op)).toBe(c.sent ?? 1);
      let outs: Record<string, any>;
      if (c.outcome === "converges") {
        if (r instanceof Error) throw r;
        outs = r.outs;
      } else {
        expect(r).toBeInstanceOf(Error);
        expect((r as Error).message).toMatch(FAULT_MESSAGE);
        outs = (await p.change("EsxInstance", name, made.id, made.outs, inputs(name, { cpus: 2 }))).outs;
      }
      expect(outs.cpus).toBe(2);
      const vm = (await readVm(await env.ctx(), { type: "VirtualMachine", value: made.id }))!;
      expect(vm.cpus).toBe(2);
      await expectFinished(name, made.id);
      await p.plugin.delete(made.id, p.urn("EsxInstance", name), outs);
      await expectGone(name);
    },
    120_000,
  );
});

const DELETE: Case[] = [
  { fault: "reset after", op: "PowerOffVM_Task", rule: resetAfter, outcome: "converges" },
  { fault: "reset before (checked, sent again)", op: "PowerOffVM_Task", rule: reset, outcome: "converges", sent: 2 },
  { fault: "reset after (disk detached, answer lost)", op: "ReconfigVM_Task", rule: resetAfter, outcome: "converges" },
  { fault: "reset before", op: "ReconfigVM_Task", rule: reset, outcome: "fails" },
  { fault: "reset after (VM destroyed, answer lost)", op: "Destroy_Task", rule: resetAfter, outcome: "converges" },
  { fault: "503 before", op: "Destroy_Task", rule: { action: "503" }, outcome: "fails" },
  { fault: "reset after (folder deleted, answer lost)", op: "DeleteDatastoreFile_Task", rule: resetAfter, outcome: "converges", sent: 2 },
  { fault: "expired session", op: "Destroy_Task", rule: { action: "expire-session" }, outcome: "converges", sent: 2 },
  { fault: "cut response", op: "Destroy_Task", rule: { action: "cut-response", cutAfterBytes: 30 }, outcome: "converges" },
];

describe.each(DELETE)("delete ($op: $fault)", (c) => {
  test(
    c.outcome,
    async () => {
      const name = `fvm-${++n}`;
      const made = await p.up("EsxInstance", name, inputs(name));
      env.esx.clearCalls();
      env.esx.addRule({ ...c.rule, soapOp: c.op });
      const r = await p.plugin.delete(made.id, p.urn("EsxInstance", name), made.outs).then(
        () => undefined,
        (e: Error) => e,
      );
      env.clearRules();
      expect(count(c.op)).toBe(c.sent ?? 1);
      if (c.outcome === "converges") {
        if (r) throw r;
      } else {
        expect(r).toBeInstanceOf(Error);
        expect(r!.message).toMatch(FAULT_MESSAGE);
        // Still there, still marked: Pulumi keeps it in state and the next delete finishes.
        const vms = await vmsNamed(name);
        expect(vms.map((v) => v.extraConfig["pulumi-esx.urn"])).toEqual([p.urn("EsxInstance", name)]);
        await p.plugin.delete(made.id, p.urn("EsxInstance", name), made.outs);
      }
      await expectGone(name);
      // The image's base disk is untouched.
      expect(fs.existsSync(path.join(env.sim.datastores[DS], "images/fbase/fbase.vmdk"))).toBe(true);
    },
    120_000,
  );
});
