/**
 * Every example under examples/ (discovered: a new directory with Pulumi.yaml + index.ts is included) run with
 * the real Pulumi CLI (scripts/lib/pulumi.ts: local file backend, passphrase secrets, the package installed from
 * its packed tarball) against simulated ESX hosts and a real Glance. Each stack is its Pulumi.<stack>.yaml with
 * the hosts pointed at the simulators through `pulumi config set-all` (password and Glance token --secret).
 * For each example:
 *   - all its stacks are brought up at once (`pulumi up` of every stack concurrently: examples/teams puts two
 *     stacks on one host at the same time); what each stack's `pulumi stack export` says is on the hosts (port
 *     groups + VLAN, image disks, VMs + power state);
 *   - a second `pulumi up --expect-no-changes` of every stack, after all were deployed, changes nothing;
 *   - image import progress is what pulumi printed (ephemeral info diagnostics of the EsxImage, up to 100%);
 *   - destroying a stack leaves the other stacks' resources intact; after all destroys the hosts hold exactly
 *     what they held before (port groups, VMs, datastore files; only the empty shared image folder stays).
 *   - the password and a Glance token (both set with --secret) appear nowhere in what pulumi printed or in the
 *     backend's files.
 * Example-specific checks (addresses in machine.id, one VM per host, ...) are in EXTRA below. The examples'
 * index.ts are type-checked against the installed package's declarations when their programs are compiled.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GlanceClient } from "../provider/glance/client";
import { decodeMachineId } from "../provider/guest/machine-id";
import { retrieveInventory } from "./support/vim-untyped";
import { VimSession } from "../provider/vim/session";
import { discoverExamples, effectProblems, Example, hostAliases, initExampleStack, simSession, SimStack, snapshot, stackFileConfig } from "./cli/examples";
import {
  changes,
  compilePrograms,
  diagnostics,
  EXAMPLE_PASSPHRASE,
  makeProgramDir,
  Program,
  resourcesOf,
  RunnerResult,
  Workspace,
} from "../scripts/lib/pulumi";
import { findSecrets, findSecretsInFiles } from "./cli/scan";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { GlanceSim, startGlance } from "../scripts/lib/glance-sim";

const examples = discoverExamples();
let glance: GlanceSim;
let imageId: string;
let work: string;
let ws: Workspace;
const programs = new Map<string, Program>();

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-esx-examples-"));
  ws = new Workspace({ passphrase: EXAMPLE_PASSPHRASE });
  // One TypeScript program for all examples: each index.ts type-checked against the installed package.
  const dirs = examples.map((e) => makeProgramDir({ example: e.dir }, e.name));
  compilePrograms(dirs);
  examples.forEach((e, i) => programs.set(e.name, new Program(ws, dirs[i])));

  glance = await startGlance();
  const raw = path.join(work, "d.raw");
  fs.writeFileSync(raw, Buffer.alloc(8 << 20, 7));
  const vmdk = path.join(work, "d.vmdk");
  execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, vmdk]);
  const g = new GlanceClient({ url: glance.url });
  const img = await g.createImage({ name: "examples", disk_format: "vmdk", container_format: "bare" });
  await g.uploadData(img.id, fs.readFileSync(vmdk));
  imageId = img.id;
}, 300_000);

afterAll(async () => {
  await glance?.stop();
  ws?.remove();
  fs.rmSync(work, { recursive: true, force: true });
});

test("the examples are discovered; the teams stack files hold the password as a secure value the CLI decrypts", () => {
  const names = examples.map((e) => e.name);
  expect(names).toEqual(expect.arrayContaining(["golden-image", "multi-host", "quickstart", "teams"]));
  for (const e of examples) {
    expect(fs.existsSync(path.join(e.dir, "package.json"))).toBe(true);
    expect(e.project).toMatch(/^pulumi-esx-/);
  }
  const teams = examples.find((e) => e.name === "teams")!;
  expect(teams.stacks).toEqual(["team-a", "team-b"]);
  // A scratch workspace: `pulumi config` of the shipped stack files, as a user who cloned the example sees it.
  const scratch = new Workspace({ passphrase: EXAMPLE_PASSPHRASE });
  try {
    const prog = new Program(scratch, makeProgramDir({ example: teams.dir }, "teams-config"));
    for (const s of teams.stacks) {
      expect(fs.readFileSync(path.join(teams.dir, `Pulumi.${s}.yaml`), "utf8")).toMatch(/esx:password:\n\s+secure: v1:/);
      // (the CLI refuses to show a stack's config while a required project key, glanceImageId, is unset)
      prog.initStack(s, { plain: { glanceImageId: "not-used" } });
      const cfg = JSON.parse(prog.run(["config", "--json", "--show-secrets", "--stack", s]));
      expect(cfg["esx:password"]).toEqual({ value: "change-me", secret: true });
      expect(JSON.parse(prog.run(["config", "--json", "--stack", s]))["esx:password"]).toEqual({ secret: true });
    }
    const wrong = prog.exec(["config", "--json", "--show-secrets", "--stack", "team-a"], { env: { PULUMI_CONFIG_PASSPHRASE: "wrong passphrase" } });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/incorrect passphrase/);
  } finally {
    scratch.remove();
  }
});

interface Ran {
  st: SimStack;
  first: RunnerResult;
}
type Extra = (prog: Program, ran: Ran[], sims: EsxSim[]) => Promise<void>;

async function vmExtraConfig(sim: EsxSim): Promise<{ name: string; machineId: ReturnType<typeof decodeMachineId> }[]> {
  const vms = (await retrieveInventory(simSession(sim), { VirtualMachine: ["name", "config.extraConfig"] })).filter((o) => o.ref.type === "VirtualMachine");
  return vms.map((vm) => {
    const extra = vm.props["config.extraConfig"];
    const opts: any[] = Array.isArray(extra) ? extra : [].concat(extra?.OptionValue ?? []);
    return { name: String(vm.props.name), machineId: decodeMachineId(opts.find((o) => o.key === "machine.id").value) };
  });
}

const outputs = (r: Ran) => Object.fromEntries(Object.entries(r.first.outputs ?? {}).map(([k, v]) => [k, v.value])) as Record<string, any>;

/** Checks beyond the generic ones, by example directory name. */
const EXTRA: Record<string, Extra> = {
  async quickstart(_prog, [qs], [sim]) {
    expect(outputs(qs).portGroup).toBe("quickstart-lan");
    const vms = await vmExtraConfig(sim);
    expect(vms.map((v) => v.name).sort()).toEqual(["quickstart-web-1", "quickstart-web-2"]);
    for (const v of vms) {
      expect(v.machineId.errors).toEqual([]);
      expect(v.machineId.nics[0].gateway).toBe("10.10.10.1");
    }
    expect(vms.map((v) => v.machineId.nics[0].ip).sort()).toEqual(["10.10.10.50", "10.10.10.51"]);
  },
  async teams(prog, ran, [sim]) {
    const [a, b] = ran.map(outputs);
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
    // the image directory holds one copy, however many stacks use it; both stacks' EsxImages reference it
    expect(snap.files.filter((f) => f.endsWith("-flat.vmdk") && f.includes(`images/${imageId}/`))).toHaveLength(1);
    const refsFile = path.join(sim.datastores.LocalDS_0, "images", imageId, "refs.json");
    const refs = Object.keys(JSON.parse(fs.readFileSync(refsFile, "utf8")).refs).sort();
    expect(refs).toEqual(ran.map((r) => resourcesOf(prog.export(r.st.stack), "EsxImage")[0].id).sort());
    // exactly one of the two concurrent imports moved the bytes, the other adopted the finished copy
    expect(ran.map((r) => resourcesOf(prog.export(r.st.stack), "EsxImage")[0].outputs!.imported).sort()).toEqual([false, true]);
  },
  async "multi-host"(_prog, [dev], sims) {
    expect(sims).toHaveLength(2);
    const hosts = outputs(dev).hosts as { host: string; vm: string; ip: string; imagePath: string }[];
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
  async "golden-image"(prog, [st]) {
    const o = outputs(st);
    expect(o.goldenImageId).toMatch(/^[0-9a-f-]{36}$/);
    const img = (await (await fetch(`${glance.url}/v2/images/${o.goldenImageId}`)).json()) as any;
    expect([img.status, img.name, img.disk_format, img.os_distro]).toEqual(["active", "golden-v1", "vmdk", "ubuntu"]);
    expect(o.goldenDiskPath).toContain(`images/${o.goldenImageId}/`);
    expect(o.web.powerState).toBe("on");
    expect(resourcesOf(prog.export(st.st.stack), "EsxImage").map((r) => r.outputs!.glanceImageId)).toContain(o.goldenImageId);
  },
};

function hostsNeeded(e: Example): number {
  return Math.max(...e.stacks.map((s) => hostAliases(stackFileConfig(e, s)).length));
}

describe.each(examples.map((e) => [e.name, e] as const))("example %s", (name, ex) => {
  test("all stacks up at once converge, a second up changes nothing, stacks do not disturb each other, destroy leaves the hosts as before", async () => {
    const prog = programs.get(name)!;
    const password = `sim-${crypto.randomBytes(6).toString("hex")}`;
    const glanceToken = `tok-${crypto.randomBytes(6).toString("hex")}`;
    const results: RunnerResult[] = [];
    const sims = await Promise.all(Array.from({ length: hostsNeeded(ex) }, () => startEsxSim({ tls: true, password })));
    try {
      const before = await Promise.all(sims.map(snapshot));
      const stacks = ex.stacks.map((s) => initExampleStack(prog, ex, s, { sims, glanceUrl: glance.url, provided: { glanceImageId: imageId }, glanceToken }));

      // every stack at once (teams: two stacks on one host at the same time)
      const firsts = await Promise.all(stacks.map((st) => prog.up(st.stack)));
      const ran: Ran[] = stacks.map((st, i) => ({ st, first: firsts[i] }));
      results.push(...firsts);
      for (const r of ran) {
        const ops = Object.values(changes(r.first)).flat();
        expect(ops.length).toBeGreaterThan(1);
        expect(new Set(ops)).toEqual(new Set(["create"]));
        expect(r.first.summary?.resourceChanges).toEqual({ create: ops.length + 1 }); // + the stack itself
        expect(await effectProblems(resourcesOf(prog.export(r.st.stack)), r.st)).toEqual([]);
      }
      // every stack again, after all were deployed: nothing changed for any of them
      for (const r of ran) {
        const again = await prog.up(r.st.stack, { expectNoChanges: true });
        results.push(again);
        expect(changes(again)).toEqual({});
        expect(again.stdout).toMatch(/Resources:\s+\d+ unchanged/);
        expect(await effectProblems(resourcesOf(prog.export(r.st.stack)), r.st)).toEqual([]);
      }
      await EXTRA[name]?.(prog, ran, sims);

      // progress of image imports is what pulumi printed: ephemeral info diagnostics of the EsxImage, up to 100%
      for (const r of ran) {
        for (const img of resourcesOf(prog.export(r.st.stack), "EsxImage").filter((e) => e.outputs!.imported === true)) {
          const progress = diagnostics(r.first).filter((d) => d.urn === img.urn && /: \d+% \(/.test(d.message));
          expect(progress.length).toBeGreaterThan(0);
          expect(progress.every((d) => d.severity === "info" && d.ephemeral === true)).toBe(true);
          expect(progress.map((d) => d.message)).toContainEqual(expect.stringMatching(/: 100% \(/));
          expect(r.first.stdout).toMatch(new RegExp(`EsxImage ${img.outputs!.glanceImageId}: 100% \\(`));
        }
      }

      // EsxImage folders (e.g. images/) are shared between images and stacks: they stay, empty, after destroy
      const imageFolders = new Set(ran.flatMap((r) => resourcesOf(prog.export(r.st.stack), "EsxImage").map((e) => `${e.outputs!.folder}/`)));

      // destroy in reverse order; the stacks still up keep everything
      for (let i = ran.length - 1; i >= 0; i--) {
        const d = await prog.destroy(ran[i].st.stack);
        results.push(d);
        expect(new Set(Object.values(changes(d)).flat())).toEqual(new Set(["delete"]));
        expect(resourcesOf(prog.export(ran[i].st.stack))).toEqual([]);
        for (const other of ran.slice(0, i)) expect(await effectProblems(resourcesOf(prog.export(other.st.stack)), other.st)).toEqual([]);
      }
      const after = (await Promise.all(sims.map(snapshot))).map((h) => ({
        ...h,
        files: h.files.filter((f) => !imageFolders.has(f.replace(/^\[[^\]]+\] /, ""))),
      }));
      expect(after).toEqual(before);

      const secrets = { password, glanceToken };
      const hits = results.flatMap((r, i) => findSecrets(secrets, `result ${i}`, JSON.stringify(r)));
      expect([...hits, ...findSecretsInFiles(secrets, ws.backendDir)]).toEqual([]);
    } finally {
      await VimSession.closeAll();
      await Promise.allSettled(sims.map((s) => s.stop()));
    }
  }, 600_000);
});
