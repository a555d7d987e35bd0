/**
 * Every example under examples/ (discovered: a new directory with Pulumi.yaml + index.ts is included) runs
 * through the harness engine against simulated ESX hosts and a real Glance, one plugin process per stack, as
 * `pulumi up` would: config from its Pulumi.<stack>.yaml (secure values decrypted with the examples'
 * passphrase) with the hosts pointed at the simulators. For each example:
 *   - every stack converges; what its state says is on the hosts (port groups + VLAN, image disks, VMs + power);
 *   - a second up of every stack changes nothing, also after the other stacks were deployed (stacks sharing a
 *     host do not disturb each other);
 *   - destroying a stack leaves the other stacks' resources intact; after all destroys the hosts hold exactly
 *     what they held before (port groups, VMs, datastore files; only the empty shared image folder stays);
 *   - image import progress reached the engine through its Log RPC (provider/log.ts), not the plugin's stdout.
 * Example-specific checks (addresses in machine.id, one VM per host, ...) are in EXTRA below.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as ts from "typescript";
import { GlanceClient } from "../provider/glance/client";
import { decodeMachineId } from "../provider/guest/machine-id";
import { retrieveInventory } from "./support/vim-untyped";
import { VimSession } from "../provider/vim/session";
import { runDestroy, runUp, UpResult } from "./harness/engine";
import { discoverExamples, effectProblems, EXAMPLE_PASSPHRASE, hostAliases, simSession, SimStack, simStack, snapshot, stacksOf } from "./harness/examples";
import { startPlugin, PluginClient } from "./harness/plugin";
import { loadState } from "./harness/state";
import { readStackConfig, ProjectInfo } from "./harness/stack-config";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { GlanceSim, startGlance } from "../scripts/lib/glance-sim";

const root = path.resolve(__dirname, "..");
const examples = discoverExamples();
let glance: GlanceSim;
let imageId: string;
let work: string;

beforeAll(async () => {
  glance = await startGlance();
  work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-esx-examples-"));
  const raw = path.join(work, "d.raw");
  fs.writeFileSync(raw, Buffer.alloc(8 << 20, 7));
  const vmdk = path.join(work, "d.vmdk");
  execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, vmdk]);
  const g = new GlanceClient({ url: glance.url });
  const img = await g.createImage({ name: "examples", disk_format: "vmdk", container_format: "bare" });
  await g.uploadData(img.id, fs.readFileSync(vmdk));
  imageId = img.id;
});

afterAll(async () => {
  await glance?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

test("the examples are discovered and each is a complete Pulumi project", () => {
  const names = examples.map((e) => path.basename(e.dir));
  expect(names).toEqual(expect.arrayContaining(["multi-host", "quickstart", "teams"]));
  for (const e of examples) {
    expect(fs.existsSync(path.join(e.dir, "package.json"))).toBe(true);
    expect(e.name).toMatch(/^pulumi-esx-/);
  }
  // teams: one stack per team, the password a secure value of the passphrase provider.
  const teams = examples.find((e) => path.basename(e.dir) === "teams")!;
  expect(teams.stacks).toEqual(["team-a", "team-b"]);
  for (const s of teams.stacks) {
    expect(fs.readFileSync(path.join(teams.dir, `Pulumi.${s}.yaml`), "utf8")).toMatch(/esx:password:\n\s+secure: v1:/);
    const c = readStackConfig(teams, s, EXAMPLE_PASSPHRASE);
    expect(c.secretKeys).toEqual(["esx:password"]);
    expect(c.values["esx:password"]).toBe("change-me");
  }
  expect(() => readStackConfig(teams, "team-a", "wrong passphrase")).toThrow(/incorrect passphrase/);
});

test("every example type-checks against the sdk", () => {
  const cfg = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, root);
  const files = examples.map((e) => path.join(e.dir, "index.ts"));
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true, types: ["node"] });
  const errors = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && files.includes(path.resolve(d.file.fileName)))
    .map((d) => `${path.relative(root, d.file!.fileName)}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
  expect(errors).toEqual([]);
}, 120_000);

interface Ran {
  st: SimStack;
  plugin: PluginClient;
  stateFile: string;
  first: UpResult;
}
type Extra = (ran: Ran[], sims: EsxSim[]) => Promise<void>;

async function vmExtraConfig(sim: EsxSim): Promise<{ name: string; machineId: ReturnType<typeof decodeMachineId> }[]> {
  const vms = (await retrieveInventory(simSession(sim), { VirtualMachine: ["name", "config.extraConfig"] })).filter((o) => o.ref.type === "VirtualMachine");
  return vms.map((vm) => {
    const extra = vm.props["config.extraConfig"];
    const opts: any[] = Array.isArray(extra) ? extra : [].concat(extra?.OptionValue ?? []);
    return { name: String(vm.props.name), machineId: decodeMachineId(opts.find((o) => o.key === "machine.id").value) };
  });
}

/** Checks beyond the generic ones, by example directory name. */
const EXTRA: Record<string, Extra> = {
  async quickstart([qs], [sim]) {
    expect(qs.first.outputs.portGroup).toBe("quickstart-lan");
    const vms = await vmExtraConfig(sim);
    expect(vms.map((v) => v.name).sort()).toEqual(["quickstart-web-1", "quickstart-web-2"]);
    for (const v of vms) {
      expect(v.machineId.errors).toEqual([]);
      expect(v.machineId.nics[0].gateway).toBe("10.10.10.1");
    }
    expect(vms.map((v) => v.machineId.nics[0].ip).sort()).toEqual(["10.10.10.50", "10.10.10.51"]);
  },
  async teams(ran, [sim]) {
    const [a, b] = ran.map((r) => r.first.outputs);
    expect([a.team, b.team]).toEqual(["team-a", "team-b"]);
    expect([a.vlanId, b.vlanId]).toEqual([201, 202]);
    expect([a.subnet, b.subnet]).toEqual(["10.20.1.0/24", "10.20.2.0/24"]);
    expect(a.imagePath).toBe(b.imagePath); // one shared copy of the image on the host
    const snap = await snapshot(sim);
    expect(snap.portGroups).toEqual(
      expect.arrayContaining([
        { name: "team-a-lan", vlanId: 201 },
        { name: "team-b-lan", vlanId: 202 },
      ]),
    );
    expect(snap.vms.map((v) => v.name)).toEqual(["team-a-vm-1", "team-a-vm-2", "team-b-vm-1"]);
    const ips = Object.fromEntries((await vmExtraConfig(sim)).map((v) => [v.name, v.machineId.nics[0].ip]));
    expect(ips).toEqual({
      "team-a-vm-1": expect.stringMatching(/^10\.20\.1\./),
      "team-a-vm-2": expect.stringMatching(/^10\.20\.1\./),
      "team-b-vm-1": "10.20.2.50",
    });
    // the image directory holds one copy, however many stacks use it
    expect(snap.files.filter((f) => f.endsWith("-flat.vmdk") && f.includes(`images/${imageId}/`))).toHaveLength(1);
  },
  async "multi-host"([dev], sims) {
    expect(sims).toHaveLength(2);
    const hosts = dev.first.outputs.hosts as { host: string; vm: string; ip: string; imagePath: string }[];
    expect(hosts.map((h) => [h.host, h.vm, h.ip])).toEqual([
      ["east", "app-east", "10.31.0.50"],
      ["west", "app-west", "10.32.0.50"],
    ]);
    const [east, west] = await Promise.all(sims.map(snapshot));
    expect(east.vms.map((v) => v.name)).toEqual(["app-east"]);
    expect(west.vms.map((v) => v.name)).toEqual(["app-west"]);
    expect(east.portGroups).toContainEqual({ name: "app-lan", vlanId: 310 });
    expect(west.portGroups).toContainEqual({ name: "app-lan", vlanId: 320 });
    for (const s of [east, west]) expect(s.files).toContainEqual(expect.stringMatching(new RegExp(`images/${imageId}/${imageId}-flat\\.vmdk$`)));
  },
};

function hostsNeeded(p: ProjectInfo): number {
  return Math.max(...stacksOf(p).map((s) => hostAliases(readStackConfig(p, s, EXAMPLE_PASSPHRASE).values).length));
}

const steps = (r: UpResult) => r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn}`);

describe.each(examples.map((e) => [path.basename(e.dir), e] as const))("example %s", (name, p) => {
  test("each stack converges, a second up changes nothing, stacks do not disturb each other, destroy leaves the hosts as before", async () => {
    const password = `sim-${crypto.randomBytes(6).toString("hex")}`;
    const sims = await Promise.all(Array.from({ length: hostsNeeded(p) }, () => startEsxSim({ tls: true, password })));
    const ran: Ran[] = [];
    try {
      const before = await Promise.all(sims.map(snapshot));
      const program = require(path.join(p.dir, "index"));
      for (const stack of stacksOf(p)) {
        const st = simStack(p, stack, { sims, glanceUrl: glance.url, provided: { glanceImageId: imageId } });
        const plugin = await startPlugin({ config: st.config, secretKeys: st.secretKeys, project: st.project, label: `${name}/${stack} plugin` });
        const opts = { plugin, stateFile: path.join(work, `${name}.${stack}.json`), project: st.project, stack, config: st.config, secretKeys: st.secretKeys };
        const entry: Ran = { st, plugin, stateFile: opts.stateFile, first: undefined as any };
        ran.push(entry);
        await plugin.configure();
        entry.first = await runUp(program, opts);
        expect(entry.first.steps.filter((s) => s.op !== "create")).toEqual([]);
        expect(entry.first.steps.length).toBeGreaterThan(1);
        expect(await effectProblems(loadState(opts.stateFile), st)).toEqual([]);
        expect(steps(await runUp(program, opts))).toEqual([]);
      }
      // every stack again, after all were deployed: nothing changed for any of them
      for (const r of ran) {
        expect(
          steps(
            await runUp(program, {
              plugin: r.plugin,
              stateFile: r.stateFile,
              project: r.st.project,
              stack: r.st.stack,
              config: r.st.config,
              secretKeys: r.st.secretKeys,
            }),
          ),
        ).toEqual([]);
        expect(await effectProblems(loadState(r.stateFile), r.st)).toEqual([]);
      }
      await EXTRA[name]?.(ran, sims);

      // progress of image imports went to the engine (Log RPC), not to the plugin's stdout
      for (const r of ran) {
        const imported = Object.values(loadState(r.stateFile)).filter((e) => e.type.endsWith(":EsxImage") && e.outputs.imported === true);
        for (const img of imported) {
          const progress = r.plugin.logs.filter((l) => l.message.startsWith(`EsxImage ${img.outputs.glanceImageId}: `) && /: \d+% \(/.test(l.message));
          expect(progress.length).toBeGreaterThan(0);
          expect(progress.every((l) => l.source === "engine" && l.severity === "info")).toBe(true);
          expect(progress.map((l) => l.message)).toContainEqual(expect.stringMatching(/: 100% \(/));
        }
      }

      // EsxImage folders (e.g. images/) are shared between images and stacks: they stay, empty, after destroy
      const imageFolders = new Set(
        ran.flatMap((r) =>
          Object.values(loadState(r.stateFile))
            .filter((e) => e.type.endsWith(":EsxImage"))
            .map((e) => `${e.outputs.folder}/`),
        ),
      );

      // destroy in reverse order; the stacks still up keep everything
      for (let i = ran.length - 1; i >= 0; i--) {
        const r = ran[i];
        const d = await runDestroy({ plugin: r.plugin, stateFile: r.stateFile, project: r.st.project, stack: r.st.stack });
        expect(d.steps.every((s) => s.op === "delete")).toBe(true);
        expect(loadState(r.stateFile)).toEqual({});
        for (const other of ran.slice(0, i)) expect(await effectProblems(loadState(other.stateFile), other.st)).toEqual([]);
      }
      const after = (await Promise.all(sims.map(snapshot))).map((h) => ({
        ...h,
        files: h.files.filter((f) => !imageFolders.has(f.replace(/^\[[^\]]+\] /, ""))),
      }));
      expect(after).toEqual(before);
    } finally {
      await Promise.allSettled(ran.map((r) => r.plugin.stop()));
      await VimSession.closeAll();
      await Promise.allSettled(sims.map((s) => s.stop()));
    }
  }, 300_000);
});
