/**
 * The serialized provider (`__provider`) of every pulumi-esx resource: a thin shim holding only the resource
 * kind. Inside the plugin process it loads this package's compiled provider by module name, so state holds
 * neither the driver's code nor any credential (those come from stack config through `configure`).
 */
import * as pulumi from "@pulumi/pulumi";
import type { Kind } from "../provider/resources/common";

export type { Kind };

export function providerShim(kind: Kind): pulumi.dynamic.ResourceProvider {
  const load = () => require("pulumi-esx/dist/provider/plugin").handlers(kind);
  return {
    configure: (req) => load().configure(req),
    check: (olds, news) => load().check(olds, news),
    diff: (id, olds, news) => load().diff(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read(id, props),
    update: (id, olds, news) => load().update(id, olds, news),
    delete: (id, props) => load().delete(id, props),
  };
}
