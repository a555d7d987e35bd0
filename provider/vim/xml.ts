/**
 * vim25 XML <-> JS values, driven by the WSDL's type model (schema.ts).
 *
 * JS conventions: a ManagedObjectReference is `{ type, value }`; a data object is a plain object whose keys are
 * vim25 element names, with `_type` naming its vim25 type where it is a subtype of the declared one (it becomes
 * `xsi:type`); arrays are JS arrays; `xsd:anyType` values are strings, numbers, booleans or typed objects.
 * Requests are written in the WSDL's element order (real ESX rejects out-of-order elements); a key the type does
 * not declare is an error, so nothing unsent is silently dropped.
 */
import { XMLParser } from "fast-xml-parser";
import { FieldDef, VimSchema } from "./schema";
import type { ManagedObjectReference } from "./types.generated";

/** A managed object reference, `{ type, value }`; `T` narrows its type ("VirtualMachine", "Folder", ...). */
export type MoRef<T extends string = string> = ManagedObjectReference<T>;

/** A parsed XML element as fast-xml-parser returns it: text, or attributes ("@name"), "#text" and children. */
export type XmlNode = string | XmlElement | undefined;
export interface XmlElement {
  [key: string]: XmlNode | XmlNode[];
}

const XSD_SCALARS = new Set(["string", "boolean", "int", "long", "short", "byte", "float", "double", "dateTime", "base64Binary", "anyURI"]);

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}

/** The body element of an operation: `<Op xmlns="urn:vim25"><_this type=..>..</_this>...</Op>`. */
export function serializeRequest(schema: VimSchema, op: string, self: MoRef, args: Record<string, unknown>): string {
  if (!schema.operations.has(op)) throw new Error(`vim25 operation ${op} is not in the WSDL`);
  const fields = schema.allFields(`${op}RequestType`);
  const out: string[] = [`<${op} xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">`];
  writeFields(schema, out, `${op}RequestType`, fields, { _this: self, ...args });
  out.push(`</${op}>`);
  return out.join("");
}

function writeFields(schema: VimSchema, out: string[], typeName: string, fields: FieldDef[], obj: Record<string, unknown>): void {
  const known = new Set(fields.map((f) => f.name));
  for (const k of Object.keys(obj)) {
    if (k !== "_type" && !known.has(k) && obj[k] !== undefined) throw new Error(`field ${k} is not in vim25 type ${typeName}`);
  }
  for (const f of fields) {
    const v = obj[f.name];
    if (v === undefined || v === null) {
      if (!f.optional && !f.array) throw new Error(`vim25 ${typeName}.${f.name} is required`);
      continue;
    }
    if (Array.isArray(v)) {
      if (!f.array) throw new Error(`vim25 ${typeName}.${f.name} is not an array`);
      for (const item of v) writeValue(schema, out, f.name, f.type, item);
    } else writeValue(schema, out, f.name, f.type, v);
  }
}

function writeValue(schema: VimSchema, out: string[], name: string, declared: string, v: unknown): void {
  if (declared === "ManagedObjectReference") {
    const r = v as MoRef;
    out.push(`<${name} type="${escapeXml(r.type)}">${escapeXml(r.value)}</${name}>`);
    return;
  }
  if (declared === "anyType") {
    if (typeof v === "string") return void out.push(`<${name} xsi:type="xsd:string">${escapeXml(v)}</${name}>`);
    if (typeof v === "boolean") return void out.push(`<${name} xsi:type="xsd:boolean">${v}</${name}>`);
    if (typeof v === "number") return void out.push(`<${name} xsi:type="xsd:${Number.isInteger(v) ? "long" : "double"}">${v}</${name}>`);
  }
  if (XSD_SCALARS.has(declared)) {
    out.push(`<${name}>${escapeXml(scalarText(v))}</${name}>`);
    return;
  }
  const allowed = schema.enums.get(declared);
  if (allowed) {
    if (typeof v !== "string" || !allowed.includes(v)) throw new Error(`vim25 ${declared} (element ${name}) is one of ${allowed.join(", ")}, not ${String(v)}`);
    out.push(`<${name}>${escapeXml(v)}</${name}>`);
    return;
  }
  const obj = v as Record<string, unknown>;
  const actual = (obj._type as string | undefined) ?? declared;
  if (actual === "anyType") throw new Error(`vim25 ${name}: an anyType value needs a _type`);
  if (declared !== "anyType" && !schema.isA(actual, declared)) throw new Error(`vim25 ${actual} is not a ${declared} (element ${name})`);
  if (actual === "ManagedObjectReference") {
    const r = v as MoRef;
    out.push(`<${name} xsi:type="ManagedObjectReference" type="${escapeXml(r.type)}">${escapeXml(r.value)}</${name}>`);
    return;
  }
  out.push(actual === declared ? `<${name}>` : `<${name} xsi:type="${actual}">`);
  writeFields(schema, out, actual, schema.allFields(actual), obj);
  out.push(`</${name}>`);
}

function scalarText(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "boolean" || typeof v === "number" || typeof v === "bigint") return String(v);
  if (typeof v === "string") return v;
  throw new Error(`expected a scalar, got ${typeof v}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  textNodeName: "#text",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  removeNSPrefix: false,
});

export interface ParsedEnvelope {
  body: XmlElement;
  xsiPrefixes: Set<string>;
}

/** Parses a SOAP envelope; returns the Body's children with element prefixes removed. */
export function parseEnvelope(xml: string): ParsedEnvelope {
  const xsiPrefixes = new Set<string>();
  for (const m of xml.matchAll(/xmlns:([\w.-]+)="http:\/\/www\.w3\.org\/2001\/XMLSchema-instance"/g)) xsiPrefixes.add(m[1]);
  const doc = stripElementPrefixes(parser.parse(xml) as XmlNode);
  const env = isElement(doc) ? doc.Envelope : undefined;
  if (!isElement(env) || !isElement(env.Body)) throw new Error("not a SOAP envelope");
  return { body: env.Body, xsiPrefixes };
}

export function isElement(node: XmlNode | XmlNode[]): node is XmlElement {
  return node !== null && typeof node === "object" && !Array.isArray(node);
}

function localName(n: string): string {
  const i = n.indexOf(":");
  return i >= 0 ? n.slice(i + 1) : n;
}

function stripElementPrefixes<T extends XmlNode | XmlNode[]>(node: T): T {
  if (Array.isArray(node)) return node.map((n) => stripElementPrefixes(n)) as T;
  if (!isElement(node)) return node;
  const out: XmlElement = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith("@") || k === "#text") out[k] = v;
    else out[localName(k)] = stripElementPrefixes(v);
  }
  return out as T;
}

export function xsiTypeOf(node: XmlNode, xsiPrefixes: Set<string>): string | undefined {
  if (!isElement(node)) return undefined;
  for (const p of xsiPrefixes) {
    const t = node[`@${p}:type`];
    if (typeof t === "string") return localName(t);
  }
  return undefined;
}

function textOf(node: XmlNode): string {
  if (node === null || node === undefined) return "";
  if (!isElement(node)) return String(node);
  const t = node["#text"];
  return t === undefined ? "" : String(t);
}

/** The child elements of a node (attributes and text left out), each with its name. */
function children(node: XmlElement): [string, XmlNode | XmlNode[]][] {
  return Object.entries(node).filter(([k]) => !k.startsWith("@") && k !== "#text");
}

/**
 * Converts a parsed element to a JS value of the declared vim25 type (or its xsi:type). The result has the shape
 * of the generated declaration of that type (types.generated.ts); callers that know the declared type cast to it.
 */
export function decodeValue(schema: VimSchema, declared: string, node: XmlNode, xsi: Set<string>): unknown {
  const xt = xsiTypeOf(node, xsi);
  const actual = xt ?? declared;
  if (XSD_SCALARS.has(actual)) return scalar(actual, textOf(node));
  if (schema.enums.has(actual)) return textOf(node);
  if (actual === "ManagedObjectReference") return { type: isElement(node) ? String(node["@type"] ?? "") : "", value: textOf(node) };
  if (actual.startsWith("ArrayOf")) {
    const item = actual.slice("ArrayOf".length);
    const itemType = XSD_SCALARS.has(lowerFirst(item)) ? lowerFirst(item) : item;
    const all: unknown[] = [];
    for (const [, v] of isElement(node) ? children(node) : []) for (const x of Array.isArray(v) ? v : [v]) all.push(decodeValue(schema, itemType, x, xsi));
    return all;
  }
  if (!isElement(node)) {
    // An element without children: an empty data object, or text of a type this WSDL does not describe.
    return schema.has(actual) ? withType({}, xt) : textOf(node);
  }
  if (!schema.has(actual)) return withType(decodeGeneric(schema, node, xsi), xt);
  const fields = schema.allFields(actual);
  const out: Record<string, unknown> = {};
  const known = new Set<string>();
  for (const f of fields) {
    known.add(f.name);
    const v = node[f.name];
    if (v === undefined) {
      if (f.array) out[f.name] = [];
      continue;
    }
    const items = Array.isArray(v) ? v : [v];
    const decoded = items.map((x) => decodeValue(schema, f.type, x, xsi));
    out[f.name] = f.array ? decoded : decoded[decoded.length - 1];
  }
  for (const [k, v] of children(node)) {
    if (known.has(k)) continue;
    out[k] = Array.isArray(v) ? v.map((x) => decodeValue(schema, "anyType", x, xsi)) : decodeValue(schema, "anyType", v, xsi);
  }
  return withType(out, xt);
}

function decodeGeneric(schema: VimSchema, node: XmlElement, xsi: Set<string>): unknown {
  const out: Record<string, unknown> = {};
  for (const [k, v] of children(node)) {
    out[k] = Array.isArray(v) ? v.map((x) => decodeValue(schema, "anyType", x, xsi)) : decodeValue(schema, "anyType", v, xsi);
  }
  if (Object.keys(out).length === 0 && node["@type"] !== undefined) return { type: String(node["@type"]), value: textOf(node) };
  if (Object.keys(out).length === 0) return textOf(node);
  return out;
}

function withType(o: unknown, xt: string | undefined): unknown {
  if (xt && o && typeof o === "object" && !Array.isArray(o)) (o as { _type?: string })._type = xt;
  return o;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function scalar(type: string, text: string): string | number | boolean {
  switch (type) {
    case "boolean":
      return text === "true" || text === "1";
    case "int":
    case "short":
    case "byte":
    case "float":
    case "double":
      return Number(text);
    case "long":
      return Number(text); // sizes in KB/bytes stay below 2^53 for any disk or memory a host has
    default:
      return text;
  }
}
