/**
 * Where the dynamic-provider plugin enters: the serialized provider shim (sdk/shim.ts) loads this module by name
 * inside the plugin process (`require("pulumi-esx/dist/provider/plugin")`) and asks for a resource kind's
 * handlers, in the shape of a Pulumi dynamic ResourceProvider. The kind -> handlers registry lives here, at the
 * top, so that nothing below (provider/dynamic, the driver) depends on the resources.
 */
import type { CheckFailure } from "./dynamic/check";
import { configure, withHostSlot } from "./dynamic/runtime";
import * as esxImage from "./resources/esx-image";
import * as esxInstance from "./resources/esx-instance";
import * as guestNetwork from "./resources/guest-network";
import type { Kind, ResourceProps } from "./resources/common";

export type { Kind };

interface ResourceHandlers {
  check(olds: ResourceProps, news: ResourceProps): { inputs: ResourceProps; failures: CheckFailure[] };
  diff(id: string, olds: ResourceProps, news: ResourceProps): { changes: boolean; replaces: string[]; deleteBeforeReplace?: boolean };
  create(news: ResourceProps): Promise<{ id: string; outs: unknown }>;
  read(id: string, props: ResourceProps): Promise<{ id?: string; props?: unknown }>;
  update(id: string, olds: ResourceProps, news: ResourceProps): Promise<{ outs: unknown }>;
  remove(id: string, props: ResourceProps): Promise<void>;
}

const registry: Record<Kind, ResourceHandlers> = {
  GuestNetwork: guestNetwork,
  EsxImage: esxImage,
  EsxInstance: esxInstance,
};

export function handlers(kind: Kind) {
  const m = registry[kind];
  if (!m) throw new Error(`unknown pulumi-esx resource kind ${kind}`);
  return {
    async configure(req: { config: { get(key: string): string | undefined } }) {
      configure((k) => req.config.get(k));
    },
    async check(olds: ResourceProps | undefined, news: ResourceProps | undefined) {
      const r = m.check(olds ?? {}, news ?? {});
      return { inputs: r.inputs, failures: r.failures };
    },
    async diff(id: string, olds: ResourceProps | undefined, news: ResourceProps | undefined) {
      return m.diff(id, olds ?? {}, news ?? {});
    },
    create: (news: ResourceProps) => withHostSlot(hostOf(news), () => m.create(news)),
    read: (id: string, props: ResourceProps | undefined) => m.read(id, props ?? {}),
    update: (id: string, olds: ResourceProps, news: ResourceProps) => withHostSlot(hostOf(news), () => m.update(id, olds, news)),
    delete: (id: string, props: ResourceProps | undefined) => withHostSlot(hostOf(props), () => m.remove(id, props ?? {})),
  };
}

function hostOf(props: ResourceProps | undefined): string | undefined {
  return typeof props?.host === "string" ? props.host : undefined;
}
