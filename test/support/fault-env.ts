/**
 * A simulated ESX host (and optionally a Glance) with a fault proxy in front of each, for fault and crash tests:
 * provider plugins talk to the proxies; the test inspects the host directly (its own session, no proxy) and the
 * datastore's real files.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { hostContext, HostContext } from "../../provider/esx/host";
import { readNetworkInfo } from "../../provider/driver/network/port-group";
import { listVms, VmSummary } from "../../provider/driver/vm-state";
import { VimSession } from "../../provider/vim/session";
import { runTask } from "./vim-untyped";
import { EsxSim, EsxSimOptions, startEsxSim } from "../../scripts/lib/esx-sim";
import { EsxPlugin, startEsxPlugin } from "./esx-plugin";
import { FaultProxy, startFaultProxy } from "./fault-proxy";
import { GlanceSim, startGlance } from "../../scripts/lib/glance-sim";

export interface FaultEnv {
  sim: EsxSim;
  /** Proxy in front of the host (SOAP and /folder). */
  esx: FaultProxy;
  glance?: GlanceSim;
  /** Proxy in front of Glance. */
  glanceProxy?: FaultProxy;
  /** The test's own session to the host, not through the proxy. */
  session: VimSession;
  ctx(): Promise<HostContext>;
  /** A plugin configured for the proxies (stopped by stop()). */
  plugin(): Promise<EsxPlugin>;
  vms(): Promise<VmSummary[]>;
  portGroups(): Promise<string[]>;
  /** Files and directories under a datastore directory, relative, sorted. */
  files(rel?: string, ds?: string): string[];
  clearRules(): void;
  stop(): Promise<void>;
}

export const DS = "LocalDS_0";

export async function startFaultEnv(o: { glance?: boolean; sim?: EsxSimOptions } = {}): Promise<FaultEnv> {
  const [sim, glance] = await Promise.all([startEsxSim({ tls: true, ...o.sim }), o.glance ? startGlance() : Promise.resolve(undefined)]);
  const esx = await startFaultProxy({ target: `https://${sim.host}`, onExpireSession: () => sim.expireSessions() });
  const glanceProxy = glance ? await startFaultProxy({ target: glance.url }) : undefined;
  const session = VimSession.for({ host: sim.host, username: sim.username, password: sim.password, thumbprint: sim.thumbprintSha256 });
  const plugins: EsxPlugin[] = [];
  const config: Record<string, string> = { "esx:host": esx.url, "esx:allowHttp": "true", "esx:username": sim.username, "esx:password": sim.password };
  if (glanceProxy) config["esx:glanceUrl"] = glanceProxy.url;
  const ctx = () => hostContext(session);
  return {
    sim,
    esx,
    glance,
    glanceProxy,
    session,
    ctx,
    async plugin() {
      const p = await startEsxPlugin(config);
      plugins.push(p);
      return p;
    },
    async vms() {
      return listVms(await ctx());
    },
    async portGroups() {
      return (await readNetworkInfo(await ctx())).portGroups.map((p) => p.name).sort();
    },
    files(rel = "", ds = DS) {
      const root = path.join(sim.datastores[ds], rel);
      if (!fs.existsSync(root)) return [];
      return (fs.readdirSync(root, { recursive: true }) as string[]).map(String).sort();
    },
    clearRules() {
      esx.clearRules();
      glanceProxy?.clearRules();
    },
    async stop() {
      for (const p of plugins) await p.plugin.stop().catch(() => undefined);
      await esx.stop();
      await glanceProxy?.stop();
      await session.logout();
      await Promise.all([sim.stop(), glance?.stop()]);
    },
  };
}

/** An 8 MiB thin base disk at `datastorePath`, made directly on the host (not through the proxy). */
export async function makeBaseDisk(env: FaultEnv, datastorePath: string): Promise<void> {
  const ctx = await env.ctx();
  await runTask(env.session, "CreateVirtualDisk_Task", ctx.virtualDiskManager, {
    name: datastorePath,
    datacenter: ctx.datacenter,
    spec: { _type: "FileBackedVirtualDiskSpec", diskType: "thin", adapterType: "lsiLogic", capacityKb: 8 * 1024 },
  });
}

/** EsxInstance inputs for a small VM cloned from a base disk made by makeBaseDisk, with one NIC on `lan`. */
export function smallInstanceInputs(p: EsxPlugin, name: string, base: string, lan: Record<string, any>, over: Record<string, any> = {}): Record<string, any> {
  return {
    name,
    resourceName: name,
    resourceUrn: p.urn("EsxInstance", name),
    image: { datastorePath: base, datastore: DS, capacityBytes: 8 * 1024 * 1024, adapterType: "lsiLogic", guestId: "debian11_64Guest" },
    cpus: 1,
    memoryMb: 128,
    shutdownTimeoutSeconds: 0,
    networks: [{ network: lan }],
    ...over,
  };
}
