/** docs/reference.md: a readable reference generated from schema.json. */
import { PackageSchema, PropertySpec } from "./json-schema";

function typeOf(p: PropertySpec): string {
  if (p.$ref) return p.$ref.split(":").pop() ?? p.$ref;
  if (p.type === "array") return `${typeOf(p.items ?? {})}[]`;
  return p.type ?? "any";
}

function table(props: Record<string, PropertySpec>, required: string[], showReplace: boolean): string {
  const rows = Object.entries(props).map(([k, p]) => {
    const flags = [
      required.includes(k) ? "required" : "",
      p.default !== undefined ? `default ${JSON.stringify(p.default)}` : "",
      showReplace ? (p.replaceOnChanges ? "replaces" : "updates in place") : "",
    ]
      .filter(Boolean)
      .join(", ");
    return `| \`${k}\` | ${typeOf(p)} | ${flags} | ${(p.description ?? "").replace(/\|/g, "\\|")} |`;
  });
  return ["| name | type | | description |", "|---|---|---|---|", ...rows].join("\n");
}

export function renderReference(schema: PackageSchema): string {
  const out = [`# pulumi-esx reference`, "", "Generated from schema.json by `npm run schema`; do not edit.", "", "## Configuration (`esx:`)", ""];
  out.push(table(schema.config.variables, [], false), "");
  for (const [token, r] of Object.entries(schema.resources)) {
    const name = token.split(":").pop();
    out.push(
      `## ${name}`,
      "",
      r.description,
      "",
      "### Inputs",
      "",
      table(r.inputProperties, r.requiredInputs, true),
      "",
      "### Outputs",
      "",
      table(r.properties, r.required, false),
      "",
    );
  }
  for (const [token, t] of Object.entries(schema.types)) {
    out.push(`### type ${token.split(":").pop()}`, "", table(t.properties, t.required ?? [], false), "");
  }
  return out.join("\n");
}
