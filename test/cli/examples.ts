/**
 * The example projects under examples/ as the CLI tests run them, and what is on the simulated hosts.
 *
 * A stack's config is its Pulumi.<stack>.yaml as shipped, with the host connections pointed at the simulators
 * and the values only a test environment has (the Glance image id) set with `pulumi config set-all` (the
 * password and the Glance token as secrets), as a user would on their own hosts.
 *
 * Host mapping: a stack's hosts are its `esx:host` (alias "default") or its `esx:hosts` aliases in order; the
 * n-th host of a stack is the n-th simulator. All stacks of an example share the simulators (teams on one host
 * must not disturb each other).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { hostContext } from "../../provider/esx/host";
import { readNetworkInfo } from "../../provider/driver/network/port-group";
import { retrieveInventory } from "../../provider/vim/property-collector";
import { VimSession } from "../../provider/vim/session";
import type { EsxSim } from "../../scripts/lib/esx-sim";
import { REPO, Program, StateResource } from "../../scripts/lib/pulumi";

export const EXAMPLES_DIR = path.join(REPO, "examples");

export interface Example {
  dir: string;
  /** Directory name (quickstart, teams, ...). */
  name: string;
  /** Project name from Pulumi.yaml. */
  project: string;
  /** Stacks: the example's Pulumi.<stack>.yaml files, or one stack "test" when it has none. */
  stacks: string[];
  /** Project config declarations (Pulumi.yaml `config:`). */
  declared: Record<string, { default?: unknown }>;
}

/** Every example: a directory under examples/ with a Pulumi.yaml and an index.ts. */
export function discoverExamples(): Example[] {
  return fs
    .readdirSync(EXAMPLES_DIR)
    .map((d) => path.join(EXAMPLES_DIR, d))
    .filter((d) => fs.existsSync(path.join(d, "Pulumi.yaml")) && fs.existsSync(path.join(d, "index.ts")))
    .sort()
    .map((dir) => {
      const project = YAML.parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"));
      const stacks = fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
        .filter((s): s is string => !!s)
        .sort();
      const declared: Example["declared"] = {};
      for (const [k, v] of Object.entries<any>(project.config ?? {})) declared[k] = v && typeof v === "object" ? v : { default: v };
      return { dir, name: path.basename(dir), project: project.name, stacks: stacks.length ? stacks : ["test"], declared };
    });
}

/** The config of a stack file as written (secure values stay encrypted), keys as in the file. */
export function stackFileConfig(ex: Example, stack: string): Record<string, any> {
  const f = path.join(ex.dir, `Pulumi.${stack}.yaml`);
  return fs.existsSync(f) ? (YAML.parse(fs.readFileSync(f, "utf8"))?.config ?? {}) : {};
}

/** Host aliases of a stack, in the order they map to simulators. */
export function hostAliases(config: Record<string, any>): string[] {
  const hosts = config["esx:hosts"];
  const aliases = hosts && typeof hosts === "object" ? Object.keys(hosts) : [];
  return config["esx:host"] !== undefined || aliases.length === 0 ? ["default", ...aliases] : aliases;
}

export interface TestEnv {
  sims: EsxSim[];
  glanceUrl: string;
  /** Values of project config keys that only the test environment can give (e.g. glanceImageId). */
  provided: Record<string, string>;
  /** Set as esx:glanceToken (secret) when given. */
  glanceToken?: string;
}

export interface SimStack {
  stack: string;
  /** Host alias -> the simulator it is. */
  hosts: Record<string, EsxSim>;
}

/**
 * `pulumi stack init` of an example stack, then `pulumi config set-all` pointing it at the simulators:
 * esx:host/esx:thumbprint (or esx:hosts.<alias>.host/thumbprint), esx:username, esx:password (--secret),
 * esx:glanceUrl, esx:glanceToken (--secret) and the project config the environment provides.
 */
export function initExampleStack(prog: Program, ex: Example, stack: string, env: TestEnv): SimStack {
  const file = stackFileConfig(ex, stack);
  const aliases = hostAliases(file);
  if (aliases.length > env.sims.length) throw new Error(`${ex.name}/${stack} needs ${aliases.length} hosts, the test started ${env.sims.length}`);
  const hosts: Record<string, EsxSim> = {};
  aliases.forEach((a, i) => (hosts[a] = env.sims[i]));
  const first = env.sims[0];
  const plain: Record<string, string> = { "esx:username": first.username, "esx:glanceUrl": env.glanceUrl };
  const secret: Record<string, string> = { "esx:password": first.password };
  const paths: Record<string, string> = {};
  if (aliases[0] === "default") {
    plain["esx:host"] = first.host;
    plain["esx:thumbprint"] = first.thumbprintSha256;
  }
  for (const [a, h] of Object.entries<any>(file["esx:hosts"] ?? {})) {
    paths[`esx:hosts.${a}.host`] = hosts[a].host;
    paths[`esx:hosts.${a}.thumbprint`] = hosts[a].thumbprintSha256;
    if (h.password !== undefined) throw new Error(`${ex.name}/${stack}: per-host passwords are not mapped to simulators`);
  }
  if (env.glanceToken !== undefined) secret["esx:glanceToken"] = env.glanceToken;
  for (const [k, d] of Object.entries(ex.declared)) {
    if (file[k] !== undefined || file[`${ex.project}:${k}`] !== undefined) continue;
    if (env.provided[k] !== undefined) plain[k] = env.provided[k];
    else if (d.default === undefined) throw new Error(`${ex.name}/${stack}: config ${k} is required and the test environment has no value for it`);
  }
  prog.initStack(stack, { plain, secret, paths });
  return { stack, hosts };
}

/** What is on a simulated host: port groups, VMs, datastore files (relative paths, dot-files excluded). */
export interface HostSnapshot {
  portGroups: { name: string; vlanId: number }[];
  vms: { name: string; powerState: string }[];
  files: string[];
}

export function simSession(sim: EsxSim): VimSession {
  return VimSession.for({ host: sim.host, username: sim.username, password: sim.password, thumbprint: sim.thumbprintSha256 });
}

function listFiles(root: string, dir = ""): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    if (e.name.startsWith(".")) continue;
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(`${rel}/`, ...listFiles(root, rel));
    else out.push(rel);
  }
  return out;
}

export async function snapshot(sim: EsxSim): Promise<HostSnapshot> {
  const s = simSession(sim);
  const net = await readNetworkInfo(await hostContext(s));
  const vms = (await retrieveInventory(s, { VirtualMachine: ["name", "runtime.powerState"] }))
    .filter((o) => o.ref.type === "VirtualMachine")
    .map((o) => ({ name: String(o.props.name), powerState: String(o.props["runtime.powerState"]) }));
  const files = Object.entries(sim.datastores).flatMap(([ds, dir]) => listFiles(dir).map((f) => `[${ds}] ${f}`));
  return {
    portGroups: net.portGroups.map((g) => ({ name: g.name, vlanId: g.vlanId })).sort((a, b) => a.name.localeCompare(b.name)),
    vms: vms.sort((a, b) => a.name.localeCompare(b.name)),
    files: files.sort(),
  };
}

/** "[ds] a/b.vmdk" -> the file in the simulator's datastore directory. */
export function datastoreFile(sim: EsxSim, dsPath: string): string {
  const m = /^\[([^\]]+)\] (.*)$/.exec(dsPath);
  if (!m || !sim.datastores[m[1]]) throw new Error(`not a datastore path of this host: ${dsPath}`);
  return path.join(sim.datastores[m[1]], m[2]);
}

/** The simulator a resource's `host` output (an alias, or null for the default host) refers to. */
export function simOf(st: SimStack, alias: string | null | undefined): EsxSim {
  const keys = Object.keys(st.hosts);
  const a = alias || (st.hosts.default ? "default" : keys.length === 1 ? keys[0] : "");
  const sim = st.hosts[a];
  if (!sim) throw new Error(`${st.stack}: no simulator for host alias ${JSON.stringify(alias)}`);
  return sim;
}

/**
 * Checks that every resource in a stack's state (`pulumi stack export`) exists on its host as the state says:
 * port groups with their VLAN, image disks (descriptor and flat file), VMs with their power state and .vmx.
 * Returns the problems.
 */
export async function effectProblems(resources: StateResource[], st: SimStack): Promise<string[]> {
  const problems: string[] = [];
  const snaps = new Map<EsxSim, HostSnapshot>();
  const snap = async (sim: EsxSim) => {
    if (!snaps.has(sim)) snaps.set(sim, await snapshot(sim));
    return snaps.get(sim)!;
  };
  for (const r of resources) {
    const kind = r.type.split(":").pop();
    const o = r.outputs ?? {};
    if (kind === "GuestNetwork") {
      const pg = (await snap(simOf(st, o.host))).portGroups.find((g) => g.name === o.portGroup);
      if (!pg) problems.push(`${r.urn}: port group ${o.portGroup} missing`);
      else if (pg.vlanId !== o.vlanId) problems.push(`${r.urn}: port group ${o.portGroup} has VLAN ${pg.vlanId}, state says ${o.vlanId}`);
    } else if (kind === "EsxImage" && o.datastorePath) {
      // (a capture, captureFrom, has no datastorePath: its result is a Glance image, nothing on the host)
      const sim = simOf(st, o.host);
      const desc = datastoreFile(sim, o.datastorePath);
      if (!fs.existsSync(desc)) problems.push(`${r.urn}: image descriptor ${o.datastorePath} missing`);
      else if (!fs.readdirSync(path.dirname(desc)).some((f) => f.endsWith("-flat.vmdk"))) problems.push(`${r.urn}: no flat extent next to ${o.datastorePath}`);
    } else if (kind === "EsxInstance") {
      const sim = simOf(st, o.host);
      const vm = (await snap(sim)).vms.find((v) => v.name === o.name);
      const want = { on: "poweredOn", off: "poweredOff", suspended: "suspended" }[o.powerState as string];
      if (!vm) problems.push(`${r.urn}: VM ${o.name} missing`);
      else if (vm.powerState !== want) problems.push(`${r.urn}: VM ${o.name} is ${vm.powerState}, state says ${o.powerState}`);
      if (o.vmxPath && !fs.existsSync(datastoreFile(sim, o.vmxPath))) problems.push(`${r.urn}: ${o.vmxPath} missing`);
    }
  }
  return problems;
}
