/** `__provider` serialization and URNs, exactly as the Pulumi Node SDK produces them. */
import * as pulumi from "@pulumi/pulumi";

/**
 * The `__provider` string that `new pulumi.dynamic.Resource(provider, ...)` stores: the text of
 * `serializeFunction(() => provider, { allowSecrets: true })` (see @pulumi/pulumi/dynamic/index.js).
 */
export async function serializeProvider(provider: object): Promise<string> {
  const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  return sf.text;
}

/** Type token of a dynamic resource: `pulumi-nodejs:dynamic/<module>:<type>` (module optional). */
export function dynamicType(module?: string, type = "Resource"): string {
  return `pulumi-nodejs:dynamic${module ? `/${module}` : ""}:${type}`;
}

/**
 * URN of a resource: `urn:pulumi:<stack>::<project>::<parentTypes$...type>::<name>`. `type` may already hold a
 * `$`-joined parent type chain (the stack root's type is never part of it).
 */
export function urn(type: string, name: string, stack = "test", project = "test"): string {
  return `urn:pulumi:${stack}::${project}::${type}::${name}`;
}
