/**
 * The Pulumi package schema (schema.json) generated from the zod schemas the provider validates with: one source
 * of truth for inputs, descriptions, defaults and which inputs force replacement. `npm run schema` writes it;
 * test/schema.test.ts fails when the committed file is stale.
 */
import { JsonSchema, jsonSchemaOf, ObjectTypeSpec, PackageSchema, PropertySpec, ResourceSchemaSpec } from "./json-schema";
import { resourceSpecs, ResourceSpec } from "./resources";
import { SECRET_OUTPUTS } from "./secrets";

const CONFIG: Record<string, PropertySpec> = {
  host: { type: "string", description: "ESX host name or address, optionally with :port (https). An http:// URL is refused unless allowHttp is set." },
  username: { type: "string", description: "User to log in as.", default: "root" },
  password: { type: "string", description: "Password of that user. Set it as a secret.", secret: true },
  thumbprint: { type: "string", description: "SHA-256 or SHA-1 thumbprint of the host's certificate (hex, colons optional) to pin a self-signed certificate." },
  insecure: { type: "boolean", description: "Skip certificate verification (explicit opt-out; a warning is logged).", default: false },
  allowHttp: {
    type: "boolean",
    description: "Accept an http:// host (no TLS: the password crosses the network in clear), for simulators and test proxies; a warning is logged.",
    default: false,
  },
  hosts: {
    type: "string",
    description:
      "JSON object alias -> {host, username, password, thumbprint, insecure} for programs that manage several hosts; resources pick one with their host input.",
  },
  glanceUrl: { type: "string", description: "Base URL of the OpenStack Glance image service (Images API v2)." },
  glanceToken: { type: "string", description: "Keystone token for Glance (X-Auth-Token). Set it as a secret.", secret: true },
  maxConcurrentOperations: {
    type: "integer",
    description: "Concurrent operations (create, update, delete) per host and provider process; the others wait their turn. Lower it for a small host.",
    default: 64,
  },
  glanceTimeoutMs: { type: "integer", description: "Connect/idle timeout of Glance requests and image data transfers, in milliseconds.", default: 30000 },
  keystoneUrl: {
    type: "string",
    description:
      "Keystone v3 identity endpoint (e.g. http://keystone:5000/v3) that issues tokens for Glance. Without glanceUrl, Glance is the public image endpoint of the token's service catalog. Overrides glanceToken.",
  },
  keystoneUsername: { type: "string", description: "Keystone user for password authentication." },
  keystonePassword: { type: "string", description: "Password of the Keystone user. Set it as a secret.", secret: true },
  keystoneUserDomain: { type: "string", description: "Domain (name) of the Keystone user.", default: "Default" },
  keystoneProject: { type: "string", description: "Project (name) the Keystone token is scoped to; default: the user's default project." },
  keystoneProjectDomain: { type: "string", description: "Domain (name) of the Keystone project.", default: "Default" },
  keystoneApplicationCredentialId: { type: "string", description: "Keystone application credential id (instead of user and password)." },
  keystoneApplicationCredentialSecret: { type: "string", description: "Secret of the Keystone application credential. Set it as a secret.", secret: true },
  keystoneRegion: { type: "string", description: "Region of the Glance endpoint to use from the Keystone catalog." },
};

function typeName(resource: string, path: string[]): string {
  return `esx:index:${resource}${path.map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("")}`;
}

function property(js: JsonSchema, resource: string, path: string[], types: Record<string, ObjectTypeSpec>): PropertySpec {
  const out: PropertySpec = {};
  if (js.description) out.description = js.description;
  if (js.default !== undefined) out.default = js.default;
  const t = js.anyOf ? (js.anyOf.find((x) => x.type !== "null") ?? js.anyOf[0]) : js;
  if (t.type === "array") {
    out.type = "array";
    const items = property(t.items ?? {}, resource, path, types);
    delete items.description;
    out.items = items;
  } else if (t.type === "object" && t.properties) {
    const name = typeName(resource, path);
    types[name] = objectType(t, resource, path, types);
    out.$ref = `#/types/${name}`;
  } else if (t.type === "object") {
    out.type = "object";
    out.additionalProperties = { type: "string" };
  } else if (t.type === "integer") out.type = "integer";
  else if (t.type === "number") out.type = "number";
  else if (t.type === "boolean") out.type = "boolean";
  else out.type = "string";
  if (t.enum) out.description = `${out.description ? out.description + " " : ""}One of: ${t.enum.join(", ")}.`;
  return out;
}

function objectType(js: JsonSchema, resource: string, path: string[], types: Record<string, ObjectTypeSpec>): ObjectTypeSpec {
  const properties: Record<string, PropertySpec> = {};
  for (const [k, v] of Object.entries(js.properties ?? {})) properties[k] = property(v, resource, [...path, k], types);
  return { type: "object", properties, required: (js.required ?? []).filter((r) => !properties[r]?.default) };
}

function resourceSchema(spec: ResourceSpec, types: Record<string, ObjectTypeSpec>): ResourceSchemaSpec {
  const input = jsonSchemaOf(spec.inputs, "input");
  const output = jsonSchemaOf(spec.outputs, "output");
  const inputProperties: Record<string, PropertySpec> = {};
  for (const [k, v] of Object.entries(input.properties ?? {})) {
    if (spec.hiddenInputs?.includes(k)) continue;
    inputProperties[k] = property(v, spec.name, [k], types);
    if (spec.replaceOnChanges.includes(k)) inputProperties[k].replaceOnChanges = true;
  }
  const properties: Record<string, PropertySpec> = {};
  for (const [k, v] of Object.entries(output.properties ?? {})) {
    if (spec.hiddenInputs?.includes(k)) continue;
    properties[k] = property(v, spec.name, [k], types);
  }
  for (const k of SECRET_OUTPUTS[spec.name] ?? []) {
    if (properties[k]) properties[k].secret = true;
    if (inputProperties[k]) inputProperties[k].secret = true;
  }
  return {
    description: spec.description,
    properties,
    required: Object.keys(properties).filter((k) => (output.required ?? []).includes(k)),
    inputProperties,
    requiredInputs: (input.required ?? []).filter((k) => inputProperties[k] && inputProperties[k].default === undefined),
  };
}

export function buildPackageSchema(): PackageSchema {
  const types: Record<string, ObjectTypeSpec> = {};
  const resources: Record<string, ResourceSchemaSpec> = {};
  for (const spec of resourceSpecs()) resources[`esx:index:${spec.name}`] = resourceSchema(spec, types);
  return {
    name: "esx",
    displayName: "pulumi-esx",
    description:
      "Manage standalone VMware ESX/ESXi hosts from Pulumi programs, with disk images from OpenStack Glance. " +
      "A Pulumi dynamic provider: resources are implemented in the pulumi-esx npm package; their type tokens at run " +
      "time are pulumi-nodejs:dynamic/esx:<Resource>.",
    license: "Apache-2.0",
    keywords: ["pulumi", "vmware", "esx", "esxi", "glance", "category/infrastructure", "kind/native"],
    language: { nodejs: { packageName: "pulumi-esx" } },
    config: { variables: CONFIG },
    types,
    resources,
  };
}
