/**
 * The type model of this package's compact vim25 WSDL (wsdl/vim25.wsdl): for each complex type its base type
 * and its own elements in schema order, and for each operation its request type. Request serialization and
 * response parsing are both driven by it, so the WSDL is the one place that says what the driver sends.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { XMLParser } from "fast-xml-parser";
import { packageRoot } from "../paths";

export interface FieldDef {
  name: string;
  /** "string" | "boolean" | "int" | "long" | "dateTime" | "anyType" (xsd) or a vim25 complex type name. */
  type: string;
  array: boolean;
  optional: boolean;
}

export interface TypeDef {
  name: string;
  base?: string;
  /** Own elements (without the base type's), in schema order. */
  fields: FieldDef[];
  /** True for ManagedObjectReference-like simple content with a `type` attribute. */
  simpleContent?: boolean;
}

export const wsdlPath = (): string => path.join(packageRoot(), "provider", "vim", "wsdl", "vim25.wsdl");

export class VimSchema {
  readonly types = new Map<string, TypeDef>();
  readonly operations = new Set<string>();
  /** Operation name -> the type of its `returnval` (absent for operations that return nothing). */
  readonly returnTypes = new Map<string, string>();
  readonly soapAction: string;

  constructor(wsdlText: string) {
    const doc = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: "@",
      removeNSPrefix: true,
      isArray: (n) => ["complexType", "element", "operation", "message"].includes(n),
    }).parse(wsdlText);
    const schema = doc.definitions.types.schema;
    for (const ct of schema.complexType ?? []) this.addType(ct);
    for (const el of schema.element ?? []) {
      const name: string = el["@name"];
      const ret = el.complexType?.[0]?.sequence?.element?.[0];
      if (name.endsWith("Response") && ret) this.returnTypes.set(name.slice(0, -"Response".length), stripPrefix(ret["@type"]));
    }
    for (const op of doc.definitions.portType.operation) this.operations.add(op["@name"]);
    const action = doc.definitions.binding.operation[0].operation?.[0]?.["@soapAction"];
    this.soapAction = action ?? "urn:vim25/6.5";
  }

  private addType(ct: any): void {
    const name: string = ct["@name"];
    if (ct.simpleContent) {
      this.types.set(name, { name, fields: [], simpleContent: true });
      return;
    }
    const ext = ct.complexContent?.extension;
    const seq = ext ? ext.sequence : ct.sequence;
    const elems: any[] = seq && typeof seq === "object" ? (seq.element ?? []) : [];
    this.types.set(name, {
      name,
      base: ext ? stripPrefix(ext["@base"]) : undefined,
      fields: elems.map((e) => ({
        name: e["@name"],
        type: stripPrefix(e["@type"]),
        array: e["@maxOccurs"] === "unbounded",
        optional: e["@minOccurs"] === "0",
      })),
    });
  }

  /** All elements of a type in wire order: base type's first (recursively), then its own. */
  allFields(typeName: string): FieldDef[] {
    const t = this.types.get(typeName);
    if (!t) throw new Error(`vim25 type ${typeName} is not in the WSDL`);
    return t.base ? [...this.allFields(t.base), ...t.fields] : t.fields;
  }

  has(typeName: string): boolean {
    return this.types.has(typeName);
  }

  /** True when `sub` is `base` or derives from it. */
  isA(sub: string, base: string): boolean {
    for (let t: string | undefined = sub; t; t = this.types.get(t)?.base) if (t === base) return true;
    return false;
  }
}

function stripPrefix(q: string): string {
  const i = q.indexOf(":");
  return i >= 0 ? q.slice(i + 1) : q;
}

let loaded: VimSchema | undefined;
export function vimSchema(): VimSchema {
  loaded ??= new VimSchema(fs.readFileSync(wsdlPath(), "utf8"));
  return loaded;
}
