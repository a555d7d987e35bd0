/**
 * Entry point the serialized provider shim loads by module name inside the plugin process
 * (`require("pulumi-esx/dist/provider/dynamic/handlers")`). Maps a resource kind to its handlers in the
 * shape of a Pulumi dynamic ResourceProvider.
 */
import * as guestNetwork from "../resources/guest-network";
import { configure, withHostSlot } from "./runtime";

export type Kind = "GuestNetwork" | "EsxImage" | "EsxInstance";

interface ResourceModule {
  check(olds: any, news: any): { inputs: any; failures: { property: string; reason: string }[] };
  diff(id: string, olds: any, news: any): { changes: boolean; replaces: string[]; deleteBeforeReplace?: boolean };
  create(news: any): Promise<{ id: string; outs: any }>;
  read(id: string, props: any): Promise<{ id?: string; props?: any }>;
  update(id: string, olds: any, news: any): Promise<{ outs: any }>;
  remove(id: string, props: any): Promise<void>;
}

const modules: Record<string, () => ResourceModule> = {
  GuestNetwork: () => guestNetwork,
  EsxImage: () => require("../resources/esx-image"),
  EsxInstance: () => require("../resources/esx-instance"),
};

export function handlers(kind: Kind) {
  const m = modules[kind]?.();
  if (!m) throw new Error(`unknown pulumi-esx resource kind ${kind}`);
  return {
    async configure(req: { config: { get(key: string): string | undefined } }) {
      configure((k) => req.config.get(k));
    },
    async check(olds: any, news: any) {
      const r = m.check(olds ?? {}, news ?? {});
      return { inputs: r.inputs, failures: r.failures };
    },
    async diff(id: string, olds: any, news: any) {
      return m.diff(id, olds ?? {}, news ?? {});
    },
    create: (news: any) => withHostSlot(news?.host, () => m.create(news)),
    read: (id: string, props: any) => m.read(id, props ?? {}),
    update: (id: string, olds: any, news: any) => withHostSlot(news?.host, () => m.update(id, olds, news)),
    delete: (id: string, props: any) => withHostSlot(props?.host, () => m.remove(id, props ?? {})),
  };
}
