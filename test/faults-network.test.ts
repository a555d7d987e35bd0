/**
 * GuestNetwork create/update/delete through the real plugin with a fault proxy between plugin and host. Every
 * run either converges or fails with an error naming the fault; either way the host holds exactly the port
 * groups Pulumi knows about, and a call that changes the host is never repeated blindly (the proxy log shows
 * it once; after a lost answer the provider reads what the host did).
 *
 * Plugin protocol (test/harness/plugin.ts): one operation per fault, its exact error, and the host calls it made.
 */
import { readNetworkInfo } from "../provider/driver/network/port-group";
import { FaultRule } from "./support/fault-proxy";
import { FaultEnv, startFaultEnv } from "./support/fault-env";
import { EsxPlugin } from "./support/esx-plugin";

let env: FaultEnv;
let p: EsxPlugin;

beforeAll(async () => {
  env = await startFaultEnv();
  p = await env.plugin();
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

afterEach(() => env.clearRules());

const FAULT_MESSAGE = /transport error|ECONNRESET|socket hang up|503|NotAuthenticated/;

type Outcome = "converges" | "fails";
interface Case {
  fault: string;
  rule: Omit<FaultRule, "soapOp">;
  /** What the run must do (a fault before the host acted may fail; after it acted, the provider must notice). */
  outcome: Outcome;
}

const WRITE_FAULTS: Case[] = [
  { fault: "connection reset before the host acts", rule: { action: "reset" }, outcome: "fails" },
  { fault: "connection reset after the host acted", rule: { action: "reset", when: "after" }, outcome: "converges" },
  { fault: "503 before", rule: { action: "503" }, outcome: "fails" },
  { fault: "503 after the host acted", rule: { action: "503", when: "after" }, outcome: "converges" },
  { fault: "response cut in the middle", rule: { action: "cut-response", cutAfterBytes: 40 }, outcome: "converges" },
  { fault: "latency 1.5 s", rule: { action: { delayMs: 1500 } }, outcome: "converges" },
  { fault: "expired session", rule: { action: "expire-session" }, outcome: "converges" },
];

const READ_FAULTS: Case[] = [
  { fault: "reset of reads (twice)", rule: { action: "reset", times: 2 }, outcome: "converges" },
  { fault: "503 of reads (twice)", rule: { action: "503", times: 2 }, outcome: "converges" },
  { fault: "expired session on a read", rule: { action: "expire-session" }, outcome: "converges" },
];

function inputs(pg: string, vlanId = 0) {
  return { portGroup: pg, vlanId, cidr: "10.40.0.0/24", gateway: "10.40.0.1" };
}

let n = 0;

describe.each([...WRITE_FAULTS.map((c) => ({ ...c, op: "AddPortGroup" })), ...READ_FAULTS.map((c) => ({ ...c, op: "RetrievePropertiesEx" }))])(
  "create under $fault on $op",
  (c) => {
    test(`${c.outcome}`, async () => {
      const pg = `fault-net-${++n}`;
      env.esx.clearCalls();
      env.esx.addRule({ ...c.rule, soapOp: c.op });
      const r = await p.up("GuestNetwork", pg, inputs(pg)).catch((e: Error) => e);
      env.clearRules();
      const adds = env.esx.soapOps().filter((o) => o === "AddPortGroup").length;
      if (c.outcome === "converges") {
        if (r instanceof Error) throw r;
        expect(r.outs).toMatchObject({ portGroup: pg, created: true });
        expect(await env.portGroups()).toContain(pg);
        // AddPortGroup is sent once, or twice only when the host refused the first for the expired session.
        expect(adds).toBe(c.rule.action === "expire-session" && c.op === "AddPortGroup" ? 2 : 1);
        await p.plugin.delete(r.id, p.urn("GuestNetwork", pg), r.outs);
      } else {
        expect(r).toBeInstanceOf(Error);
        expect((r as Error).message).toMatch(/GuestNetwork "fault-net-\d+"/);
        expect((r as Error).message).toMatch(FAULT_MESSAGE);
        expect(adds).toBe(1);
        expect(await env.portGroups()).not.toContain(pg);
        // The rerun converges.
        const again = await p.up("GuestNetwork", pg, inputs(pg));
        expect(await env.portGroups()).toContain(pg);
        await p.plugin.delete(again.id, p.urn("GuestNetwork", pg), again.outs);
      }
      expect(await env.portGroups()).not.toContain(pg);
    }, 90_000);
  },
);

describe.each(WRITE_FAULTS.map((c) => ({ ...c, op: "UpdatePortGroup" })))("update under $fault on $op", (c) => {
  test(`${c.outcome}`, async () => {
    const pg = `fault-net-${++n}`;
    const made = await p.up("GuestNetwork", pg, inputs(pg));
    env.esx.addRule({ ...c.rule, soapOp: c.op });
    const r = await p.change("GuestNetwork", pg, made.id, made.outs, inputs(pg, 42)).catch((e: Error) => e);
    env.clearRules();
    const vlan = async () => (await readNetworkInfo(await env.ctx())).portGroups.find((x) => x.name === pg)?.vlanId;
    let outs: Record<string, any>;
    if (c.outcome === "converges") {
      if (r instanceof Error) throw r;
      expect(r.outs.vlanId).toBe(42);
      expect(await vlan()).toBe(42);
      outs = r.outs;
    } else {
      expect(r).toBeInstanceOf(Error);
      expect((r as Error).message).toMatch(FAULT_MESSAGE);
      expect(await vlan()).toBe(0);
      outs = (await p.change("GuestNetwork", pg, made.id, made.outs, inputs(pg, 42))).outs;
      expect(await vlan()).toBe(42);
    }
    await p.plugin.delete(made.id, p.urn("GuestNetwork", pg), outs);
    expect(await env.portGroups()).not.toContain(pg);
  }, 90_000);
});

describe.each(WRITE_FAULTS.map((c) => ({ ...c, op: "RemovePortGroup" })))("delete under $fault on $op", (c) => {
  test(`${c.outcome}`, async () => {
    const pg = `fault-net-${++n}`;
    const made = await p.up("GuestNetwork", pg, inputs(pg));
    env.esx.clearCalls();
    env.esx.addRule({ ...c.rule, soapOp: c.op });
    const r = await p.plugin.delete(made.id, p.urn("GuestNetwork", pg), made.outs).then(
      () => undefined,
      (e: Error) => e,
    );
    env.clearRules();
    if (c.outcome === "converges") {
      if (r) throw r;
    } else {
      expect(r).toBeInstanceOf(Error);
      expect(r!.message).toMatch(FAULT_MESSAGE);
      expect(await env.portGroups()).toContain(pg);
      await p.plugin.delete(made.id, p.urn("GuestNetwork", pg), made.outs);
    }
    expect(await env.portGroups()).not.toContain(pg);
  }, 90_000);
});
