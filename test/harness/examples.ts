/**
 * Runs the example projects under examples/ through the harness engine against simulators, as a user would
 * with `pulumi up` per stack: the stack's config comes from Pulumi.<stack>.yaml (secure values decrypted), with
 * the host connections pointed at the simulators and the values only a test environment has (the Glance image
 * id) filled in. Also reads back what is on the simulated hosts, to assert on real effects.
 *
 * Host mapping: a stack's hosts are its `esx:host` (alias "default") or its `esx:hosts` aliases in order;
 * the n-th host of a stack is the n-th simulator. All stacks of an example share the simulators (teams on
 * one host must not disturb each other).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { hostContext } from "../../provider/esx/host";
import { readNetworkInfo } from "../../provider/driver/network/port-group";
import { retrieveInventory } from "../support/vim-untyped";
import { VimSession } from "../../provider/vim/session";
import type { EsxSim } from "../../scripts/lib/esx-sim";
import { readProject, readStackConfig, stringify, ProjectInfo } from "./stack-config";

export const EXAMPLES_DIR = path.resolve(__dirname, "..", "..", "examples");
/** The passphrase the example stack files' secure values are encrypted with (documented in them). */
export const EXAMPLE_PASSPHRASE = "pulumi-esx-example";

/** Every example: a directory under examples/ with a Pulumi.yaml and an index.ts. */
export function discoverExamples(): ProjectInfo[] {
  return fs
    .readdirSync(EXAMPLES_DIR)
    .map((d) => path.join(EXAMPLES_DIR, d))
    .filter((d) => fs.existsSync(path.join(d, "Pulumi.yaml")) && fs.existsSync(path.join(d, "index.ts")))
    .sort()
    .map(readProject);
}

/** Stacks to run: the example's stack files, or one stack "test" when it has none. */
export function stacksOf(p: ProjectInfo): string[] {
  return p.stacks.length ? p.stacks : ["test"];
}

/** Host aliases of a stack, in the order they map to simulators. */
export function hostAliases(values: Record<string, unknown>): string[] {
  const hosts = values["esx:hosts"];
  const aliases = hosts && typeof hosts === "object" ? Object.keys(hosts) : [];
  return values["esx:host"] !== undefined || aliases.length === 0 ? ["default", ...aliases] : aliases;
}

export interface TestEnv {
  sims: EsxSim[];
  glanceUrl: string;
  /** Values of project config keys that only the test environment can give (e.g. glanceImageId). */
  provided: Record<string, string>;
  /** Sent as esx:glanceToken (secret) when set. */
  glanceToken?: string;
}

export interface SimStack {
  project: string;
  stack: string;
  config: Record<string, string>;
  secretKeys: string[];
  /** Host alias -> the simulator it is. */
  hosts: Record<string, EsxSim>;
}

/** The stack's config with its hosts pointed at the simulators. Throws when a required config key is missing. */
export function simStack(p: ProjectInfo, stack: string, env: TestEnv): SimStack {
  const sc = readStackConfig(p, stack, EXAMPLE_PASSPHRASE);
  const values = { ...sc.values };
  const secret = new Set(sc.secretKeys);
  const aliases = hostAliases(values);
  if (aliases.length > env.sims.length) throw new Error(`${p.name}/${stack} needs ${aliases.length} hosts, the test started ${env.sims.length}`);
  const hosts: Record<string, EsxSim> = {};
  aliases.forEach((a, i) => (hosts[a] = env.sims[i]));
  const first = env.sims[0];
  if (aliases[0] === "default") {
    values["esx:host"] = first.host;
    values["esx:thumbprint"] = first.thumbprintSha256;
  }
  if (values["esx:hosts"]) {
    const many: Record<string, any> = {};
    for (const [a, h] of Object.entries<any>(values["esx:hosts"] as object)) {
      const sim = hosts[a];
      many[a] = {
        ...h,
        host: sim.host,
        thumbprint: sim.thumbprintSha256,
        ...(h.password !== undefined ? { password: sim.password } : {}),
        ...(h.username !== undefined ? { username: sim.username } : {}),
      };
    }
    values["esx:hosts"] = many;
  }
  values["esx:username"] = first.username;
  values["esx:password"] = first.password;
  secret.add("esx:password");
  values["esx:glanceUrl"] = env.glanceUrl;
  if (env.glanceToken !== undefined) {
    values["esx:glanceToken"] = env.glanceToken;
    secret.add("esx:glanceToken");
  }
  for (const [k, d] of Object.entries(p.declared)) {
    const key = `${p.name}:${k}`;
    if (values[key] !== undefined) continue;
    if (env.provided[k] !== undefined) values[key] = env.provided[k];
    else if (d.default === undefined) throw new Error(`${p.name}/${stack}: config ${k} is required and the test environment has no value for it`);
  }
  return { project: p.name, stack, config: stringify(values), secretKeys: [...secret], hosts };
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
 * Checks that every resource in a stack's state exists on its host as the state says: port groups with their
 * VLAN, image disks (descriptor and flat file), VMs with their power state and .vmx. Returns the problems.
 */
export async function effectProblems(state: Record<string, { type: string; outputs: Record<string, any> }>, st: SimStack): Promise<string[]> {
  const problems: string[] = [];
  const snaps = new Map<EsxSim, HostSnapshot>();
  const snap = async (sim: EsxSim) => {
    if (!snaps.has(sim)) snaps.set(sim, await snapshot(sim));
    return snaps.get(sim)!;
  };
  for (const [urn, e] of Object.entries(state)) {
    const kind = e.type.split(":").pop();
    const o = e.outputs;
    if (kind === "GuestNetwork") {
      const pg = (await snap(simOf(st, o.host))).portGroups.find((g) => g.name === o.portGroup);
      if (!pg) problems.push(`${urn}: port group ${o.portGroup} missing`);
      else if (pg.vlanId !== o.vlanId) problems.push(`${urn}: port group ${o.portGroup} has VLAN ${pg.vlanId}, state says ${o.vlanId}`);
    } else if (kind === "EsxImage" && o.datastorePath) {
      // (a capture, captureFrom, has no datastorePath: its result is a Glance image, nothing on the host)
      const sim = simOf(st, o.host);
      const desc = datastoreFile(sim, o.datastorePath);
      if (!fs.existsSync(desc)) problems.push(`${urn}: image descriptor ${o.datastorePath} missing`);
      else if (!fs.readdirSync(path.dirname(desc)).some((f) => f.endsWith("-flat.vmdk"))) problems.push(`${urn}: no flat extent next to ${o.datastorePath}`);
    } else if (kind === "EsxInstance") {
      const sim = simOf(st, o.host);
      const vm = (await snap(sim)).vms.find((v) => v.name === o.name);
      const want = { on: "poweredOn", off: "poweredOff", suspended: "suspended" }[o.powerState as string];
      if (!vm) problems.push(`${urn}: VM ${o.name} missing`);
      else if (vm.powerState !== want) problems.push(`${urn}: VM ${o.name} is ${vm.powerState}, state says ${o.powerState}`);
      if (o.vmxPath && !fs.existsSync(datastoreFile(sim, o.vmxPath))) problems.push(`${urn}: ${o.vmxPath} missing`);
    }
  }
  return problems;
}
