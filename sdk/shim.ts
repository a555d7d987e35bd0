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

/**
 * The URN the engine will give a pulumi-esx resource, as `pulumi.createUrn` builds it: under a parent, the parent's
 * URN up to its name, `$`, the type token (so a resource inside ComponentResources carries their type chain,
 * `my:Region$my:Site$pulumi-nodejs:dynamic/esx:EsxInstance::vm`), and without one (or directly under the stack)
 * `urn:pulumi:<stack>::<project>::<type>::<name>`. (pulumi-esx resources use neither aliases nor `opts.urn`.)
 *
 * Under a parent the value is a plain Promise of the parent's URN, not the parent's `urn` Output: an Output of a
 * ComponentResource makes the resource depend on the component, and the SDK resolves such a dependency by waiting
 * for every child of the component, this resource included, so its registration would never start.
 */
export function resourceUrnOf(name: string, kind: Kind, opts?: pulumi.CustomResourceOptions): pulumi.Input<string> {
  const type = `pulumi-nodejs:dynamic/esx:${kind}`;
  const root = `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::`;
  const parent = opts?.parent;
  if (!parent) return `${root}${type}::${name}`;
  return new Promise<string>((resolve) =>
    parent.urn.apply((p) => {
      const prefix = p.substring(0, p.lastIndexOf("::")) + "$";
      resolve(`${prefix.endsWith("::pulumi:pulumi:Stack$") ? root : prefix}${type}::${name}`);
    }),
  );
}
