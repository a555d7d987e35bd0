/**
 * Real ESX rejects elements out of schema order inside complex types (the simulator does not). Every type in
 * this package's WSDL must list its elements in vim25's order and extend the same base type; the reference is
 * govmomi's generated bindings (vim25/types/types.go from Debian's golang-github-vmware-govmomi-dev), whose
 * struct fields follow the WSDL's xsd:sequence. The serializer must write that order whatever the JS key order.
 */
import * as fs from "node:fs";
import { vimSchema } from "../provider/vim/schema";
import { serializeRequest } from "../provider/vim/xml";

const TYPES_GO = "/usr/share/gocode/src/github.com/vmware/govmomi/vim25/types/types.go";

interface GoStruct {
  base?: string;
  fields: string[];
}

function goStructs(): Map<string, GoStruct> {
  const src = fs.readFileSync(TYPES_GO, "utf8");
  const out = new Map<string, GoStruct>();
  const lines = src.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const head = /^type (\w+) struct \{$/.exec(lines[i]);
    if (!head) continue;
    const s: GoStruct = { fields: [] };
    const body: string[] = [];
    while (lines[++i] !== "}") body.push(lines[i]);
    for (const line of body) {
      const t = line.trim();
      if (!t) continue;
      const f = /^\w+\s+\S+\s+`xml:"([^,"]+)/.exec(t);
      if (f) s.fields.push(f[1]);
      else if (/^\w+$/.test(t)) s.base = t;
    }
    out.set(head[1], s);
  }
  return out;
}

const schema = vimSchema();
const go = goStructs();

test("every WSDL type has vim25's base type and element order", () => {
  let checked = 0;
  for (const t of schema.types.values()) {
    if (t.simpleContent || t.name.startsWith("ArrayOf")) continue;
    // govmomi names a *_Task operation's request type without the suffix (CreateVM_Task -> CreateVMRequestType).
    const g = go.get(t.name) ?? go.get(t.name.replace(/_TaskRequestType$/, "RequestType"));
    expect({ type: t.name, found: !!g }).toEqual({ type: t.name, found: true });
    if (!g) continue;
    expect({ type: t.name, base: t.base ?? null }).toEqual({ type: t.name, base: g.base ?? null });
    // Our fields must be a subsequence of vim25's, in the same order.
    let i = 0;
    for (const f of t.fields) {
      const at = g.fields.indexOf(f.name, i);
      expect({ type: t.name, field: f.name, inOrder: at >= 0 }).toEqual({ type: t.name, field: f.name, inOrder: true });
      i = at + 1;
    }
    checked++;
  }
  expect(checked).toBeGreaterThan(60);
});

function elementOrder(xml: string, parent: string): string[] {
  const start = xml.search(new RegExp(`<${parent}[ >]`));
  const end = xml.indexOf(`</${parent}>`, start);
  const inner = xml.slice(xml.indexOf(">", start) + 1, end);
  const names: string[] = [];
  let depth = 0;
  for (const m of inner.matchAll(/<(\/?)(\w+)[^>]*?(\/?)>/g)) {
    if (m[1]) depth--;
    else {
      if (depth === 0) names.push(m[2]);
      if (!m[3]) depth++;
    }
  }
  return names;
}

test("requests are serialized in schema order whatever the key order", () => {
  const spec = {
    extraConfig: [{ value: "x", key: "machine.id" }],
    deviceChange: [
      {
        device: {
          _type: "VirtualDisk",
          capacityInKB: 1024,
          unitNumber: 0,
          controllerKey: 1000,
          backing: { _type: "VirtualDiskFlatVer2BackingInfo", thinProvisioned: true, diskMode: "persistent", fileName: "[ds] a/a.vmdk" },
          key: -1,
        },
        fileOperation: "create",
        operation: "add",
      },
    ],
    memoryMB: 512,
    numCPUs: 1,
    files: { vmPathName: "[ds]" },
    guestId: "otherGuest",
    name: "vm1",
  };
  const xml = serializeRequest(schema, "CreateVM_Task", { type: "Folder", value: "f" }, { pool: { type: "ResourcePool", value: "p" }, config: spec });
  expect(elementOrder(xml, "CreateVM_Task")).toEqual(["_this", "config", "pool"]);
  expect(elementOrder(xml, "config")).toEqual(["name", "guestId", "files", "numCPUs", "memoryMB", "deviceChange", "extraConfig"]);
  expect(elementOrder(xml, "deviceChange")).toEqual(["operation", "fileOperation", "device"]);
  expect(elementOrder(xml, "device")).toEqual(["key", "backing", "controllerKey", "unitNumber", "capacityInKB"]);
  expect(elementOrder(xml, "backing")).toEqual(["fileName", "diskMode", "thinProvisioned"]);
  expect(xml).toContain('<device xsi:type="VirtualDisk">');
  expect(xml).toContain('<value xsi:type="xsd:string">x</value>');
});

test("unknown fields and wrong subtypes are refused instead of silently dropped", () => {
  expect(() =>
    serializeRequest(schema, "CreateVM_Task", { type: "Folder", value: "f" }, { pool: { type: "ResourcePool", value: "p" }, config: { nmae: "x" } }),
  ).toThrow(/field nmae is not in vim25 type VirtualMachineConfigSpec/);
  expect(() =>
    serializeRequest(
      schema,
      "ReconfigVM_Task",
      { type: "VirtualMachine", value: "v" },
      { spec: { deviceChange: [{ operation: "add", device: { _type: "OptionValue" } }] } },
    ),
  ).toThrow(/OptionValue is not a VirtualDevice/);
});

test("values are XML-escaped", () => {
  const xml = serializeRequest(schema, "Login", { type: "SessionManager", value: "s" }, { userName: "a<b", password: `p&"'>` });
  expect(xml).toContain("<userName>a&lt;b</userName>");
  expect(xml).toContain("<password>p&amp;&quot;&apos;&gt;</password>");
});
