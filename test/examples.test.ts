/**
 * examples/quickstart converges on the simulators through the engine-protocol harness: the VMs are powered on
 * with their addresses in machine.id, a second up changes nothing, destroy leaves nothing on the host.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GlanceClient } from "../provider/glance/client";
import { retrieveInventory } from "../provider/vim/property-collector";
import { VimSession } from "../provider/vim/session";
import { decodeMachineId } from "../provider/guest/machine-id";
import { runDestroy, runUp } from "./harness/engine";
import { startPlugin, PluginClient } from "./harness/plugin";
import { EsxSim, startEsxSim } from "./support/esx-sim";
import { GlanceSim, startGlance } from "./support/glance-sim";
import { simConfig } from "./support/esx-plugin";

let esx: EsxSim;
let glance: GlanceSim;
let plugin: PluginClient;
let work: string;

beforeAll(async () => {
  [esx, glance] = await Promise.all([startEsxSim({ tls: true }), startGlance()]);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-esx-examples-"));
});

afterAll(async () => {
  await plugin?.stop();
  await VimSession.closeAll();
  await Promise.allSettled([esx?.stop(), glance?.stop()]);
  fs.rmSync(work, { recursive: true, force: true });
});

test("quickstart: up, no-op second up, destroy", async () => {
  const raw = path.join(work, "d.raw");
  fs.writeFileSync(raw, Buffer.alloc(8 << 20, 7));
  const vmdk = path.join(work, "d.vmdk");
  execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, vmdk]);
  const g = new GlanceClient({ url: glance.url });
  const img = await g.createImage({ name: "qs", disk_format: "vmdk", container_format: "bare" });
  await g.uploadData(img.id, fs.readFileSync(vmdk));

  const config = { ...simConfig(esx, { "esx:glanceUrl": glance.url }), "pulumi-esx-quickstart:glanceImageId": img.id };
  plugin = await startPlugin({ config, secretKeys: ["esx:password"], project: "pulumi-esx-quickstart" });
  await plugin.configure();
  const program = require("../examples/quickstart/index");
  const opts = { plugin, stateFile: path.join(work, "state.json"), project: "pulumi-esx-quickstart", stack: "test", config, secretKeys: ["esx:password"] };

  const first = await runUp(program, opts);
  expect(first.steps.filter((s) => s.op === "create")).toHaveLength(5); // stack + 4 resources
  expect(first.outputs.portGroup).toBe("quickstart-lan");
  const s = VimSession.for({ host: esx.host, username: esx.username, password: esx.password, thumbprint: esx.thumbprintSha256 });
  const vms = (await retrieveInventory(s, { VirtualMachine: ["name", "runtime.powerState", "config.extraConfig"] })).filter((o) => o.ref.type === "VirtualMachine");
  expect(vms.map((v) => v.props.name).sort()).toEqual(["quickstart-web-1", "quickstart-web-2"]);
  const ips: string[] = [];
  for (const vm of vms) {
    expect(vm.props["runtime.powerState"]).toBe("poweredOn");
    const extra = vm.props["config.extraConfig"];
    const opts2: any[] = Array.isArray(extra) ? extra : [].concat(extra?.OptionValue ?? []);
    const mid = decodeMachineId(opts2.find((o) => o.key === "machine.id").value);
    expect(mid.errors).toEqual([]);
    ips.push(mid.nics[0].ip);
    expect(mid.nics[0].gateway).toBe("10.10.10.1");
  }
  expect(ips.sort()).toEqual(["10.10.10.50", "10.10.10.51"]);

  const second = await runUp(program, opts);
  expect(second.steps.filter((st) => st.op !== "same")).toEqual([]);

  await runDestroy(opts);
  const left = (await retrieveInventory(s, { VirtualMachine: ["name"] })).filter((o) => o.ref.type === "VirtualMachine");
  expect(left).toEqual([]);
  const ds = Object.values(esx.datastores)[0];
  expect(fs.readdirSync(ds).filter((f) => !f.startsWith("."))).toEqual(expect.not.arrayContaining(["quickstart-web-1", "quickstart-web-2"]));
  expect(fs.existsSync(path.join(ds, "images", img.id))).toBe(false);
}, 180_000);
