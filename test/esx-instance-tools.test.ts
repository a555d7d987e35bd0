/**
 * The VMware Tools branches of EsxInstance, against esxsim's guest emulation (ESXSIM_TOOLS=1: a powered-on VM
 * reports tools running and its machine.id addresses): waitForIp returns the address the guest reports, a
 * rebootTrigger change reboots through RebootGuest (not a reset), and delete shuts the guest down with
 * ShutdownGuest instead of a hard power-off. The proxy between plugin and host shows which calls were made.
 *
 * Plugin protocol (test/harness/plugin.ts): single Create/Update/Delete calls and the host calls each one made.
 */
import { readVm, vmRef } from "../provider/driver/vm-state";
import { DS, FaultEnv, makeBaseDisk, smallInstanceInputs, startFaultEnv } from "./support/fault-env";
import { EsxPlugin } from "./support/esx-plugin";

const BASE = `[${DS}] images/tbase/tbase.vmdk`;
let env: FaultEnv;
let p: EsxPlugin;
let lan: Record<string, any>;

beforeAll(async () => {
  env = await startFaultEnv({ sim: { tools: true } });
  p = await env.plugin();
  lan = (await p.up("GuestNetwork", "tlan", { portGroup: "tools-lan", cidr: "10.33.0.0/24", gateway: "10.33.0.1" })).outs;
  await makeBaseDisk(env, BASE);
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

test("waitForIp, RebootGuest and ShutdownGuest when VMware Tools run", async () => {
  const inputs = smallInstanceInputs(p, "tools-vm", BASE, lan, {
    networks: [{ network: lan, ip: "10.33.0.20" }],
    waitForIp: { timeoutSeconds: 30 },
    shutdownTimeoutSeconds: 30,
    rebootTrigger: "v1",
  });
  const { id, outs } = await p.up("EsxInstance", "tools-vm", inputs);
  expect(outs.powerState).toBe("on");
  expect(outs.guestIpAddresses).toEqual(["10.33.0.20"]);

  const ctx = await env.ctx();
  const before = await readVm(ctx, vmRef(id));
  expect(before?.toolsRunning).toBe(true);
  env.esx.clearCalls();
  const r = await p.change("EsxInstance", "tools-vm", id, outs, { ...inputs, rebootTrigger: "v2" });
  expect(r.diff.changes).toBe("some");
  expect(env.esx.soapOps()).toContain("RebootGuest");
  expect(env.esx.soapOps()).not.toContain("ResetVM_Task");
  expect(env.esx.soapOps()).not.toContain("PowerOffVM_Task");
  expect((await readVm(ctx, vmRef(id)))?.powerState).toBe("on");

  env.esx.clearCalls();
  await p.plugin.delete(id, p.urn("EsxInstance", "tools-vm"), { ...r.outs, __provider: p.provider.EsxInstance });
  const ops = env.esx.soapOps();
  expect(ops).toContain("ShutdownGuest");
  expect(ops).not.toContain("PowerOffVM_Task"); // the guest shut down by itself: no hard power-off
  expect(ops).toContain("Destroy_Task");
  expect((await env.vms()).filter((v) => v.name === "tools-vm")).toHaveLength(0);
}, 120_000);

test("a powered-off VM reports no tools and no address; its delete sends no ShutdownGuest", async () => {
  const inputs = smallInstanceInputs(p, "notools-vm", BASE, lan, { powerState: "off", shutdownTimeoutSeconds: 30 });
  const { id, outs } = await p.up("EsxInstance", "notools-vm", inputs);
  const ctx = await env.ctx();
  expect((await readVm(ctx, vmRef(id)))?.toolsRunning).toBe(false);
  expect(outs.guestIpAddresses).toEqual([]);
  env.esx.clearCalls();
  await p.plugin.delete(id, p.urn("EsxInstance", "notools-vm"), { ...outs, __provider: p.provider.EsxInstance });
  expect(env.esx.soapOps()).not.toContain("ShutdownGuest");
  expect((await env.vms()).filter((v) => v.name === "notools-vm")).toHaveLength(0);
}, 120_000);
