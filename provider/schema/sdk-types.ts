/**
 * sdk/args.generated.ts from the zod schemas (the same ones check() validates with and schema.json comes from):
 * per resource an `<Resource>Args` interface (every field a pulumi.Input, nested objects as `...Args`
 * interfaces) and an abstract `<Resource>Outputs` class extending pulumi.dynamic.Resource that declares every
 * output as pulumi.Output (so preview shows them as unknown), each field with TSDoc from its `.describe()`
 * text. `npm run schema` writes it; test/schema.test.ts fails when it is stale.
 */
import { JsonSchema, jsonSchemaOf } from "./json-schema";
import { resourceSpecs, ResourceSpec } from "./resources";
import { SECRET_NOTE, SECRET_OUTPUTS } from "./secrets";

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function doc(description: string | undefined, indent: string, extra: string[] = []): string {
  const lines = [...(description ? description.split("\n") : []), ...extra].map((l) => l.replace(/\*\//g, "*\\/"));
  if (!lines.length) return "";
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l}`.trimEnd()).join("\n")}\n${indent} */\n`;
}

/**
 * Inputs the sdk widens beyond the schema: a resource may be passed where the schema has the plain object the
 * sdk maps it to (sdk/esx-instance.ts imageInput/networkInput, sdk/esx-image.ts captureInput). Interface name -> field -> extra union member
 * (types from sdk/resource-like.ts).
 */
const WIDEN: Record<string, Record<string, string>> = {
  EsxInstanceArgs: { image: "EsxImageLike" },
  EsxInstanceNetworksArgs: { network: "GuestNetworkLike" },
  EsxImageArgs: { captureFrom: "EsxInstanceLike" },
};

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (k: string) => (IDENT.test(k) ? k : JSON.stringify(k));

class Renderer {
  readonly decls: string[] = [];
  private readonly names = new Set<string>();

  /** `input`: fields wrapped in pulumi.Input and nested interfaces named ...Args. */
  constructor(private readonly input: boolean) {}

  type(js: JsonSchema, name: string): string {
    const union = js.anyOf ?? js.oneOf;
    if (union) {
      const parts = union.map((x, i) => this.type(x, i === 0 ? name : `${name}${i}`));
      return [...new Set(parts)].join(" | ");
    }
    if (js.const !== undefined) return JSON.stringify(js.const);
    if (js.enum) return js.enum.map((v) => JSON.stringify(v)).join(" | ");
    if (Array.isArray(js.type)) return js.type.map((t) => this.type({ ...js, type: t }, name)).join(" | ");
    switch (js.type) {
      case "string":
        return "string";
      case "integer":
      case "number":
        return "number";
      case "boolean":
        return "boolean";
      case "null":
        return "null";
      case "array": {
        const item = this.type(js.items ?? {}, name);
        const wrapped = this.input ? `pulumi.Input<${item}>` : item.includes(" ") ? `(${item})` : item;
        return `${wrapped}[]`;
      }
      case "object":
        if (js.properties) return this.object(js, name);
        return `Record<string, ${js.additionalProperties && js.additionalProperties !== true ? this.type(js.additionalProperties, `${name}Value`) : "unknown"}>`;
      default:
        return "unknown";
    }
  }

  /** A named interface for a nested object; returns its name. */
  object(js: JsonSchema, name: string): string {
    const iname = this.input ? `${name}Args` : name;
    if (this.names.has(iname)) return iname;
    this.names.add(iname);
    this.decls.push(`${doc(js.description, "")}export interface ${iname} {\n${this.fields(js, name, "  ", [], undefined, iname)}}\n`);
    return iname;
  }

  fields(
    js: JsonSchema,
    name: string,
    indent: string,
    hidden: string[],
    declare?: (k: string, t: string, optional: boolean) => string,
    owner = "",
    secrets: string[] = [],
  ): string {
    const required = new Set<string>(js.required ?? []);
    let out = "";
    for (const [k, p] of Object.entries(js.properties ?? {})) {
      if (hidden.includes(k)) continue;
      const t = this.type(p, `${name}${cap(k)}`);
      const extra = [
        ...(p.default !== undefined && this.input ? [`Default: ${JSON.stringify(p.default)}.`] : []),
        ...(secrets.includes(k) ? [SECRET_NOTE] : []),
      ];
      out += doc(p.description, indent, extra);
      const widen = WIDEN[owner]?.[k];
      const ft = this.input ? `${widen ? `${widen} | ` : ""}pulumi.Input<${t}>` : t;
      out += declare ? declare(k, t, !required.has(k)) : `${indent}${key(k)}${required.has(k) ? "" : "?"}: ${ft};\n`;
    }
    return out;
  }
}

function resourceTypes(spec: ResourceSpec): string {
  const inJs = jsonSchemaOf(spec.inputs, "input");
  const outJs = jsonSchemaOf(spec.outputs, "output");
  const hidden = spec.hiddenInputs ?? [];
  const ins = new Renderer(true);
  const secrets = SECRET_OUTPUTS[spec.name] ?? [];
  const argsBody = ins.fields(inJs, spec.name, "  ", hidden, undefined, `${spec.name}Args`, secrets);
  const outs = new Renderer(false);
  const outBody = outs.fields(outJs, spec.name, "  ", hidden, (k, t) => `  public readonly ${key(k)}!: pulumi.Output<${t}>;\n`, "", secrets);
  return [
    `// ---- ${spec.name} ----\n`,
    ...ins.decls,
    `/** Arguments of ${spec.name}: ${spec.description} */\nexport interface ${spec.name}Args {\n${argsBody}}\n`,
    ...outs.decls,
    `/** The outputs of ${spec.name}, declared so that preview shows them as unknown (the class itself is in sdk/). */\n` +
      `export abstract class ${spec.name}Outputs extends pulumi.dynamic.Resource {\n${outBody}}\n`,
  ].join("\n");
}

export function renderSdkTypes(): string {
  const header =
    "/**\n * GENERATED by `npm run schema` (provider/schema/sdk-types.ts) from the zod schemas in provider/resources/*.schema.ts.\n" +
    " * Do not edit: change the schema's .describe() text and regenerate. test/schema.test.ts fails when this file is stale.\n */\n" +
    'import * as pulumi from "@pulumi/pulumi";\n' +
    'import type { EsxImageLike, EsxInstanceLike, GuestNetworkLike } from "./resource-like";\n';
  return [header, ...resourceSpecs().map(resourceTypes)].join("\n");
}
