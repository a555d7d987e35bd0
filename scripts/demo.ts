/**
 * `npm run demo`: the main job on the embedded simulators. Starts the simulated ESX host (HTTPS, pinned
 * thumbprint) and a real Glance, puts a small streamOptimized disk image into Glance, converges
 * examples/quickstart (one GuestNetwork, one EsxImage, two EsxInstances), shows the outputs and the VMs'
 * machine.id on the host, runs `up` again to show nothing changes, then tears everything down.
 *
 * With the Pulumi CLI on PATH it uses it (local file backend, passphrase secrets, no Pulumi Cloud). Without it,
 * it tries the official npm package; where that cannot work (no internet) it says so in one line and drives the
 * same program through the test harness's engine-protocol path: the real dynamic-provider plugin process over
 * gRPC, exactly the calls `pulumi up` makes.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GlanceClient } from "../provider/glance/client";
import { packageRoot } from "../provider/paths";
import { retrieveInventory } from "../test/support/vim-untyped";
import { VimSession } from "../provider/vim/session";
import { runDestroy, runUp } from "../test/harness/engine";
import { startPlugin } from "../test/harness/plugin";
import { startEsxSim } from "./lib/esx-sim";
import { startGlance } from "./lib/glance-sim";

const say = (s = "") => console.log(s);

async function makeImage(glanceUrl: string, dir: string): Promise<string> {
  const raw = path.join(dir, "disk.raw");
  const buf = Buffer.alloc(32 << 20);
  crypto.randomFillSync(buf.subarray(0, 1 << 20)); // a "boot sector" region of data, the rest zeros
  buf.write("pulumi-esx quickstart disk", 4 << 20);
  fs.writeFileSync(raw, buf);
  const vmdk = path.join(dir, "disk.vmdk");
  execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, vmdk]);
  const glance = new GlanceClient({ url: glanceUrl });
  const img = await glance.createImage({
    name: "quickstart-disk",
    disk_format: "vmdk",
    container_format: "bare",
    properties: { vmware_ostype: "otherLinux64Guest", vmware_adaptertype: "lsiLogic", vmware_disktype: "streamOptimized", hw_vif_model: "vmxnet3" },
  });
  await glance.uploadData(img.id, fs.createReadStream(vmdk), fs.statSync(vmdk).size);
  return img.id;
}

function pulumiCli(dir: string): string | undefined {
  const onPath = spawnSync("pulumi", ["version"], { encoding: "utf8" });
  if (onPath.status === 0) return "pulumi";
  const prefix = path.join(dir, "pulumi-cli");
  const r = spawnSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--prefix", prefix, "pulumi"], { encoding: "utf8", timeout: 120_000 });
  const bin = path.join(prefix, "node_modules", ".bin", "pulumi");
  if (r.status === 0 && fs.existsSync(bin) && spawnSync(bin, ["version"]).status === 0) return bin;
  return undefined;
}

async function main(): Promise<void> {
  const root = packageRoot();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-esx-demo-"));
  say("Starting the simulated ESX host (HTTPS) and OpenStack Glance ...");
  const [esx, glance] = await Promise.all([startEsxSim({ tls: true }), startGlance()]);
  const stops: (() => Promise<void>)[] = [() => esx.stop(), () => glance.stop()];
  try {
    say(`  ESX host ${esx.host}  (certificate SHA-256 ${esx.thumbprintSha256})`);
    say(`  Glance   ${glance.url}`);
    const imageId = await makeImage(glance.url, work);
    say(`  Glance image ${imageId} (streamOptimized VMDK, 32 MiB virtual)`);
    const config: Record<string, string> = {
      "esx:host": esx.host,
      "esx:username": esx.username,
      "esx:password": esx.password,
      "esx:thumbprint": esx.thumbprintSha256,
      "esx:glanceUrl": glance.url,
      "pulumi-esx-quickstart:glanceImageId": imageId,
    };
    const cli = pulumiCli(work);
    if (cli) {
      await viaCli(cli, root, work, config);
    } else {
      say(
        "Pulumi CLI not available (its npm installer downloads the CLI from the internet, which this machine cannot reach): running examples/quickstart through the engine-protocol harness instead.",
      );
      await viaHarness(root, work, config);
    }
    const s = VimSession.for({ host: esx.host, username: esx.username, password: esx.password, thumbprint: esx.thumbprintSha256 });
    const left = (await retrieveInventory(s, { VirtualMachine: ["name"] })).filter((o) => o.ref.type === "VirtualMachine");
    say(`After teardown the host has ${left.length} VM(s).`);
    await VimSession.closeAll();
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function showHost(config: Record<string, string>): Promise<void> {
  const s = VimSession.for({
    host: config["esx:host"],
    username: config["esx:username"],
    password: config["esx:password"],
    thumbprint: config["esx:thumbprint"],
  });
  const vms = (await retrieveInventory(s, { VirtualMachine: ["name", "runtime.powerState", "config.extraConfig"] })).filter(
    (o) => o.ref.type === "VirtualMachine",
  );
  say("On the host:");
  for (const vm of vms) {
    const extra = vm.props["config.extraConfig"];
    const opts: any[] = Array.isArray(extra) ? extra : extra?.OptionValue ? [].concat(extra.OptionValue) : [];
    const mid = opts.find((o) => o.key === "machine.id")?.value;
    say(`  ${vm.props.name}: ${vm.props["runtime.powerState"]}, machine.id=${mid}`);
  }
}

async function viaHarness(root: string, work: string, config: Record<string, string>): Promise<void> {
  const plugin = await startPlugin({ config, secretKeys: ["esx:password", "esx:glanceToken"], project: "pulumi-esx-quickstart" });
  try {
    await plugin.configure();
    const program = require(path.join(root, "dist", "examples", "quickstart", "index.js"));
    const opts = { plugin, stateFile: path.join(work, "state.json"), project: "pulumi-esx-quickstart", stack: "demo", config, secretKeys: ["esx:password"] };
    say("\n$ pulumi up   (1st)");
    const first = await runUp(program, opts);
    for (const st of first.steps) say(`  ${st.op.padEnd(7)} ${st.urn.split("::").slice(-2).join("::")}`);
    say("Outputs:");
    say(JSON.stringify(first.outputs, null, 2).replace(/^/gm, "  "));
    await showHost(config);
    say("\n$ pulumi up   (2nd: nothing should change)");
    const second = await runUp(program, opts);
    const changed = second.steps.filter((s) => s.op !== "same");
    say(changed.length === 0 ? `  ${second.steps.length} unchanged, 0 changes` : `  CHANGES: ${JSON.stringify(changed)}`);
    say("\n$ pulumi destroy");
    const down = await runDestroy(opts);
    for (const st of down.steps) say(`  ${st.op.padEnd(7)} ${st.urn.split("::").slice(-2).join("::")}`);
    if (changed.length) throw new Error("the second up was not a no-op");
  } finally {
    await plugin.stop();
  }
}

async function viaCli(cli: string, root: string, work: string, config: Record<string, string>): Promise<void> {
  const env = { ...process.env, PULUMI_BACKEND_URL: `file://${work}/state`, PULUMI_CONFIG_PASSPHRASE: "pulumi-esx-demo", PULUMI_SKIP_UPDATE_CHECK: "true" };
  fs.mkdirSync(path.join(work, "state"), { recursive: true });
  const run = (args: string[]) => {
    say(`\n$ pulumi ${args.join(" ")}`);
    const r = spawnSync(cli, args, { cwd: root, env, stdio: "inherit" });
    if (r.status !== 0) throw new Error(`pulumi ${args[0]} failed`);
  };
  run(["stack", "init", "demo"]);
  for (const [k, v] of Object.entries(config)) run(["config", "set", ...(k.endsWith("password") ? ["--secret"] : []), k, v]);
  run(["up", "--yes", "--skip-preview"]);
  await showHost(config);
  run(["up", "--yes", "--expect-no-changes"]);
  run(["destroy", "--yes"]);
}

main().catch((e) => {
  console.error(`demo failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
