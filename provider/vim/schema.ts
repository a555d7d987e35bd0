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

/** The parts of the WSDL's XML (as fast-xml-parser returns it) that this model reads. */
interface XsdElement {
  "@name": string;
  "@type": string;
  "@minOccurs"?: string;
  "@maxOccurs"?: string;
}
interface XsdSequence {
  element?: XsdElement[];
}
interface XsdComplexType {
  "@name": string;
  simpleContent?: unknown;
  complexContent?: { extension: { "@base": string; sequence?: XsdSequence | string } };
  sequence?: XsdSequence | string;
}
interface XsdSimpleType {
  "@name": string;
  restriction?: { enumeration?: { "@value": string }[] };
}
interface XsdTopElement {
  "@name": string;
  complexType?: { sequence?: XsdSequence }[];
}
interface WsdlDocument {
  definitions: {
    types: { schema: { complexType?: XsdComplexType[]; simpleType?: XsdSimpleType[]; element?: XsdTopElement[] } };
    portType: { operation: { "@name": string }[] };
    binding: { operation: { operation?: { "@soapAction"?: string }[] }[] };
  };
}

export interface ReturnDef {
  type: string;
  /** The operation may answer without a returnval (minOccurs 0). */
  optional: boolean;
}

export class VimSchema {
  readonly types = new Map<string, TypeDef>();
  /** Enumerations (xsd:simpleType restrictions of xsd:string): name -> allowed values. Sent and read as text. */
  readonly enums = new Map<string, string[]>();
  readonly operations = new Set<string>();
  /** Operation name -> its returnval (absent for operations that return nothing). */
  readonly returns = new Map<string, ReturnDef>();
  readonly soapAction: string;

  constructor(wsdlText: string) {
    const doc = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: "@",
      removeNSPrefix: true,
      isArray: (n) => ["complexType", "simpleType", "enumeration", "element", "operation", "message"].includes(n),
    }).parse(wsdlText) as WsdlDocument;
    const schema = doc.definitions.types.schema;
    for (const ct of schema.complexType ?? []) this.addType(ct);
    for (const st of schema.simpleType ?? [])
      this.enums.set(
        st["@name"],
        (st.restriction?.enumeration ?? []).map((e) => e["@value"]),
      );
    for (const el of schema.element ?? []) {
      const name = el["@name"];
      const ret = el.complexType?.[0]?.sequence?.element?.[0];
      if (name.endsWith("Response") && ret) {
        const op = name.slice(0, -"Response".length);
        this.returns.set(op, { type: stripPrefix(ret["@type"]), optional: ret["@minOccurs"] === "0" });
      }
    }
    for (const op of doc.definitions.portType.operation) this.operations.add(op["@name"]);
    const action = doc.definitions.binding.operation[0].operation?.[0]?.["@soapAction"];
    this.soapAction = action ?? "urn:vim25/6.5";
  }

  private addType(ct: XsdComplexType): void {
    const name = ct["@name"];
    if (ct.simpleContent) {
      this.types.set(name, { name, fields: [], simpleContent: true });
      return;
    }
    const ext = ct.complexContent?.extension;
    const seq = ext ? ext.sequence : ct.sequence;
    const elems: XsdElement[] = seq && typeof seq === "object" ? (seq.element ?? []) : [];
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

  /** The types deriving from `base` (directly or not), in WSDL order, without `base` itself. */
  subtypes(base: string): string[] {
    return [...this.types.keys()].filter((t) => t !== base && this.isA(t, base));
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
