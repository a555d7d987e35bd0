/**
 * `npm run demo`: the main job, with the real Pulumi CLI on the embedded simulators. Starts the simulated ESX
 * host (HTTPS, pinned thumbprint) and a real OpenStack Glance, puts a small streamOptimized disk image into
 * Glance, installs pulumi-esx from its packed tarball next to a copy of examples/quickstart (as a user's
 * program has it), and runs on a local file backend (no Pulumi Cloud):
 *
 *   pulumi stack init demo
 *   pulumi config set esx:host/esx:thumbprint/esx:glanceUrl/glanceImageId ...; pulumi config set --secret esx:password
 *   pulumi preview
 *   pulumi up --yes
 *   pulumi up --yes --expect-no-changes
 *   pulumi refresh --yes
 *   pulumi destroy --yes
 *
 * printing what pulumi prints (the image import's progress included). The CLI is .cli/bin/pulumi (built by
 * scripts/setup.sh) or a pulumi 3.248.x on PATH. The program-running commands go through the Automation API's
 * inline program (scripts/lib/pulumi-runner.ts: the Go module proxy refuses the Node.js language host module, so the CLI
 * cannot start a Node program itself); the others run the pulumi binary directly. At the end it checks that no
 * process it started is left.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GlanceClient } from "../provider/glance/client";
import { hostContext } from "../provider/esx/host";
import { listVms, readVm } from "../provider/driver/vm-state";
import { VimSession } from "../provider/vim/session";
import { changes, Program, processesIn, processTree, REPO, RunnerResult, Workspace } from "./lib/pulumi";
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

/** Runs `pulumi <args>` on the binary, showing the command (secret values masked) and what pulumi printed. */
function cli(prog: Program, args: string[], shown = args): void {
  say(`\n$ pulumi ${shown.join(" ")}`);
  const r = prog.exec(args);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.code !== 0) throw new Error(`pulumi ${args[0]} ${args[1] ?? ""} exited ${r.code}`);
}

/** Runs a program-running command through the Automation API runner; pulumi's output is shown as it comes. */
async function run(
  prog: Program,
  op: "preview" | "up" | "refresh" | "destroy",
  shown: string,
  opts: { expectNoChanges?: boolean } = {},
): Promise<RunnerResult> {
  say(`\n$ pulumi ${shown}`);
  const r = await prog.op(op, "demo", { ...opts, echo: true }, {});
  return r;
}

async function showHost(esx: { host: string; username: string; password: string; thumbprintSha256: string }): Promise<void> {
  const s = VimSession.for({ host: esx.host, username: esx.username, password: esx.password, thumbprint: esx.thumbprintSha256 });
  const vms = await listVms(await hostContext(s));
  say(`\nOn the host: ${vms.length} VM(s)`);
  for (const vm of vms) {
    const state = await readVm(await hostContext(s), vm.ref);
    say(`  ${vm.name}: ${state?.powerState ?? "gone"}, machine.id=${vm.extraConfig["machine.id"]}`);
  }
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-esx-demo-"));
  say("Starting the simulated ESX host (HTTPS) and OpenStack Glance ...");
  const [esx, glance] = await Promise.all([startEsxSim({ tls: true }), startGlance()]);
  let ws: Workspace | undefined;
  let programDir: string | undefined;
  try {
    say(`  ESX host ${esx.host}  (certificate SHA-256 ${esx.thumbprintSha256})`);
    say(`  Glance   ${glance.url}`);
    const imageId = await makeImage(glance.url, work);
    say(`  Glance image ${imageId} (streamOptimized VMDK, 32 MiB virtual)`);

    ws = new Workspace({ passphrase: crypto.randomBytes(12).toString("hex") });
    say(
      `\nPulumi CLI ${ws.cli.version} (${path.relative(REPO, ws.cli.bin).startsWith("..") ? ws.cli.bin : path.relative(REPO, ws.cli.bin)}); local file backend, passphrase secrets`,
    );
    say("Installing pulumi-esx from its packed tarball next to a copy of examples/quickstart ...");
    const prog = ws.program({ example: path.join(REPO, "examples", "quickstart") }, "quickstart");
    say(`  program directory ${prog.dir}`);
    programDir = prog.dir;

    cli(prog, ["stack", "init", "demo"]);
    const plain = {
      "esx:host": esx.host,
      "esx:username": esx.username,
      "esx:thumbprint": esx.thumbprintSha256,
      "esx:glanceUrl": glance.url,
      glanceImageId: imageId,
    };
    for (const [k, v] of Object.entries(plain)) cli(prog, ["config", "set", "--stack", "demo", k, v]);
    cli(
      prog,
      ["config", "set", "--stack", "demo", "--secret", "esx:password", esx.password],
      ["config", "set", "--stack", "demo", "--secret", "esx:password", "********"],
    );

    await run(prog, "preview", "preview");
    await run(prog, "up", "up --yes");
    await showHost(esx);
    const second = await run(prog, "up", "up --yes --expect-no-changes", { expectNoChanges: true });
    if (Object.keys(changes(second)).length) throw new Error(`the second up changed ${JSON.stringify(changes(second))}`);
    await run(prog, "refresh", "refresh --yes");
    await run(prog, "destroy", "destroy --yes");
    await showHost(esx);
  } finally {
    await VimSession.closeAll();
    await Promise.allSettled([esx.stop(), glance.stop()]);
    ws?.remove();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const left = [
    ...processTree(process.pid)
      .filter((p) => p !== process.pid)
      .map(String),
    ...(programDir ? processesIn(programDir).map((p) => `${p.pid} ${p.cmd}`) : []),
  ];
  if (left.length) throw new Error(`processes left behind: ${left.join("; ")}`);
  say("\nNo process left behind.");
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`demo failed: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  },
);
