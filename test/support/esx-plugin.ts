/**
 * A pulumi-esx provider plugin (the real @pulumi/pulumi dynamic-provider process) configured for a simulated
 * host, with helpers that run a resource through the engine's call sequence.
 */
import { providerShim, Kind } from "../../sdk/shim";
import { PluginClient, startPlugin } from "../harness/plugin";
import { dynamicType, serializeProvider, urn } from "../harness/serialize";
import { EsxSim } from "../../scripts/lib/esx-sim";

export interface EsxPlugin {
  plugin: PluginClient;
  provider: Record<Kind, string>;
  urn(kind: Kind, name: string): string;
  /** check + create with the serialized provider; throws with the failures if check fails. */
  up(kind: Kind, name: string, inputs: Record<string, any>): Promise<{ id: string; outs: Record<string, any> }>;
  /** check + diff + update. */
  change(kind: Kind, name: string, id: string, olds: Record<string, any>, inputs: Record<string, any>): Promise<{ diff: any; outs: Record<string, any> }>;
}

export function simConfig(sim: EsxSim, extra: Record<string, string> = {}): Record<string, string> {
  return { "esx:host": sim.host, "esx:username": sim.username, "esx:password": sim.password, "esx:thumbprint": sim.thumbprintSha256, ...extra };
}

export async function startEsxPlugin(config: Record<string, string>): Promise<EsxPlugin> {
  const plugin = await startPlugin({ config, secretKeys: ["esx:password", "esx:glanceToken"] });
  await plugin.configure();
  const provider = {
    GuestNetwork: await serializeProvider(providerShim("GuestNetwork")),
    EsxImage: await serializeProvider(providerShim("EsxImage")),
    EsxInstance: await serializeProvider(providerShim("EsxInstance")),
  };
  const u = (kind: Kind, name: string) => urn(dynamicType("esx", kind), name);
  return {
    plugin,
    provider,
    urn: u,
    async up(kind, name, inputs) {
      const news = { ...inputs, __provider: provider[kind] };
      const c = await plugin.check(u(kind, name), {}, news);
      if (c.failures.length) throw new Error(`check failed: ${c.failures.map((f) => f.reason).join("; ")}`);
      const r = await plugin.create(u(kind, name), c.inputs);
      return { id: r.id, outs: r.properties };
    },
    async change(kind, name, id, olds, inputs) {
      const news = { ...inputs, __provider: provider[kind] };
      const c = await plugin.check(u(kind, name), olds, news);
      if (c.failures.length) throw new Error(`check failed: ${c.failures.map((f) => f.reason).join("; ")}`);
      const diff = await plugin.diff(id, u(kind, name), { ...olds, __provider: provider[kind] }, c.inputs);
      if (diff.changes !== "some") return { diff, outs: olds };
      const r = await plugin.update(id, u(kind, name), { ...olds, __provider: provider[kind] }, c.inputs);
      return { diff, outs: r.properties };
    },
  };
}
