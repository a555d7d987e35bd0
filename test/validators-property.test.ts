/**
 * Property-based tests of the three resources' validators (check): generated valid inputs pass and round-trip
 * (checking the checked inputs again gives the same inputs, the given values are kept), and a name field holding
 * a forbidden character anywhere is rejected naming that field. Many runs in-process, and a sample through the
 * real plugin's Check over gRPC (the plugin is configured with an unreachable host: check never needs it).
 * machine.id encoding properties are in test/guest-machine-id.test.ts.
 *
 * Plugin protocol (test/harness/plugin.ts): a sample of generated inputs goes to Check on its own.
 */
import fc from "fast-check";
import * as guestNetwork from "../provider/resources/guest-network";
import * as esxImage from "../provider/resources/esx-image";
import * as esxInstance from "../provider/resources/esx-instance";
import { inputsOf, Kind, VALID } from "./fixtures/bad-inputs";
import { EsxPlugin, startEsxPlugin } from "./support/esx-plugin";

const checkers: Record<Kind, (olds: any, news: any) => { inputs: any; failures: { property: string; reason: string }[] }> = {
  GuestNetwork: guestNetwork.check,
  EsxImage: esxImage.check,
  EsxInstance: esxInstance.check,
};

// ------------------------------------------------------------------------------------------------ generators

const SAFE_UNITS = [..."abcxyzABCXYZ0123456789 -_.:+=@,()!~%&$*?{}", "é", "ü", "日", "ß"];
const safeName = (max: number) => fc.string({ unit: fc.constantFrom(...SAFE_UNITS), minLength: 1, maxLength: max }).filter((s) => s !== "." && s !== "..");
const FORBIDDEN = ['"', "'", "`", "\\", "/", "[", "]", "#", ";", "<", ">", "|", "\n", "\r", "\t", "\u0000", "\u001b", "\u007f"];

const octet = fc.integer({ min: 0, max: 255 });
const ip4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));
const toNum = (s: string) => s.split(".").reduce((a, o) => a * 256 + Number(o), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((b) => (n >>> b) & 255).join(".");

/** A subnet (prefix 8-28) with a gateway, up to 3 DNS servers and an allocation range inside it. */
const subnet = fc
  .record({ base: ip4, prefix: fc.integer({ min: 8, max: 28 }), dns: fc.array(ip4, { maxLength: 3 }), a: fc.nat(), b: fc.nat() })
  .map(({ base, prefix, dns, a, b }) => {
    const size = 2 ** (32 - prefix);
    const net = Math.floor(toNum(base) / size) * size;
    const hosts = size - 2; // net+1 .. net+size-2
    const gw = net + 1;
    const [s, e] = [2 + (a % (hosts - 1)), 2 + (b % (hosts - 1))].sort((x, y) => x - y);
    return { cidr: `${toIp(net)}/${prefix}`, gateway: toIp(gw), dnsServers: dns, allocationRange: { start: toIp(net + s), end: toIp(net + e) } };
  });

const guestNetworkInputs = fc
  .record({
    portGroup: safeName(59),
    vswitch: safeName(32),
    vlanId: fc.integer({ min: 0, max: 4095 }),
    adopt: fc.boolean(),
    net: fc.option(subnet, { nil: undefined }),
  })
  .map(({ net, ...rest }) => ({ ...rest, ...(net ?? {}) }));

const idChars = fc.constantFrom(..."abcdefABCDEF0123456789-_");
const esxImageInputs = fc.record({
  glanceImageId: fc.string({ unit: idChars, minLength: 1, maxLength: 64 }),
  datastore: safeName(80),
  folder: fc
    .array(
      fc.string({ unit: fc.constantFrom(..."abcXYZ019_.-"), minLength: 1, maxLength: 12 }).filter((p) => p !== "." && p !== ".."),
      { minLength: 1, maxLength: 4 },
    )
    .map((p) => p.join("/")),
  diskType: fc.constantFrom("thin", "thick", "eagerZeroedThick"),
});

const GiB = 1024 ** 3;
const staticMac = fc
  .tuple(fc.integer({ min: 0, max: 0x3f }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
  .map((b) => `00:50:56:${b.map((x) => x.toString(16).padStart(2, "0")).join(":")}`);
const esxInstanceInputs = fc
  .record({
    name: safeName(80),
    ds: safeName(80),
    cpus: fc.integer({ min: 1, max: 128 }),
    memoryMb: fc.integer({ min: 1, max: 65536 }).map((m) => m * 4),
    cloneMode: fc.constantFrom("linked", "full"),
    extraGb: fc.integer({ min: 0, max: 100 }),
    guestId: fc.option(fc.constantFrom("ubuntu64Guest", "rhel7_64Guest", "windows9Server64Guest", "otherGuest64"), { nil: undefined }),
    powerState: fc.constantFrom("on", "off", "suspended"),
    nics: fc.uniqueArray(fc.record({ pg: safeName(59), net: subnet, mac: fc.option(staticMac, { nil: undefined }), auto: fc.boolean() }), {
      maxLength: 4,
      selector: (n) => n.mac ?? Math.random(),
    }),
  })
  .map((r) => ({
    name: r.name,
    image: {
      datastorePath: `[${r.ds}] images/i/i.vmdk`,
      datastore: r.ds,
      capacityBytes: GiB,
      adapterType: "lsilogic",
      guestId: "ubuntu64Guest",
      nicType: "vmxnet3",
    },
    cpus: r.cpus,
    memoryMb: r.memoryMb,
    cloneMode: r.cloneMode,
    ...(r.cloneMode === "full" ? { diskGb: 1 + r.extraGb } : {}),
    ...(r.guestId ? { guestId: r.guestId } : {}),
    powerState: r.powerState,
    networks: r.nics.map((n) => ({ network: { portGroup: n.pg, ...n.net }, ...(n.auto ? { ip: "auto" } : {}), ...(n.mac ? { mac: n.mac } : {}) })),
  }));

const validInputs: Record<Kind, fc.Arbitrary<Record<string, any>>> = {
  GuestNetwork: guestNetworkInputs,
  EsxImage: esxImageInputs,
  EsxInstance: esxInstanceInputs,
};

/** Name-like fields, the longest value they take, and the characters they must refuse. */
const NAME_FIELDS: { kind: Kind; field: string; max: number; forbidden: string[] }[] = [
  { kind: "GuestNetwork", field: "portGroup", max: 59, forbidden: FORBIDDEN },
  { kind: "GuestNetwork", field: "vswitch", max: 32, forbidden: FORBIDDEN },
  { kind: "EsxImage", field: "datastore", max: 80, forbidden: FORBIDDEN },
  { kind: "EsxImage", field: "folder", max: 128, forbidden: FORBIDDEN.filter((c) => c !== "/") },
  { kind: "EsxImage", field: "glanceImageId", max: 64, forbidden: [...FORBIDDEN, " ", ".", "%"] },
  { kind: "EsxInstance", field: "name", max: 80, forbidden: FORBIDDEN },
  { kind: "EsxInstance", field: "guestId", max: 64, forbidden: [...FORBIDDEN, " ", "-", "."] },
  { kind: "EsxInstance", field: "image.datastore", max: 80, forbidden: FORBIDDEN },
  { kind: "EsxInstance", field: "networks[0].network.portGroup", max: 59, forbidden: FORBIDDEN },
];

/** A value for the field with one forbidden character somewhere, within the field's length limit. */
const withForbidden = (max: number, forbidden: string[]) =>
  fc
    .tuple(
      fc.string({ unit: fc.constantFrom(..."abcXYZ019_"), maxLength: Math.floor((max - 1) / 2) }),
      fc.constantFrom(...forbidden),
      fc.string({ unit: fc.constantFrom(..."abcXYZ019_"), maxLength: Math.floor((max - 1) / 2) }),
    )
    .map(([a, c, b]) => a + c + b);

const withField = (kind: Kind, field: string, value: unknown) => inputsOf({ kind, what: "", field, set: { [field]: value } });

// ------------------------------------------------------------------------------------------------ in-process

describe.each(["GuestNetwork", "EsxImage", "EsxInstance"] as const)("%s", (kind) => {
  test("generated valid inputs pass check; checking the checked inputs again changes nothing; given values are kept", () => {
    fc.assert(
      fc.property(validInputs[kind], (inp) => {
        const r = checkers[kind]({}, inp);
        expect(r.failures).toEqual([]);
        const again = checkers[kind]({}, r.inputs);
        expect(again.failures).toEqual([]);
        expect(again.inputs).toEqual(r.inputs);
        expect(JSON.parse(JSON.stringify(r.inputs))).toEqual(r.inputs); // JSON-clean: survives the wire
        expect(r.inputs).toMatchObject(inp);
      }),
      { numRuns: 400 },
    );
  });
});

describe.each(NAME_FIELDS.map((f) => [`${f.kind}.${f.field}`, f] as const))("%s", (_label, f) => {
  test("a forbidden character anywhere is rejected, naming the field", () => {
    fc.assert(
      fc.property(withForbidden(f.max, f.forbidden), (value) => {
        const r = checkers[f.kind]({}, withField(f.kind, f.field, value));
        expect(r.failures.map((x) => x.property)).toEqual([f.field]);
        expect(r.failures[0].reason.startsWith(`${f.field}: `)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

// ------------------------------------------------------------------------------------------------ through the plugin

describe("through the plugin's Check", () => {
  let p: EsxPlugin;
  beforeAll(async () => {
    p = await startEsxPlugin({ "esx:host": "127.0.0.1:1", "esx:username": "root", "esx:password": "unused" });
  }, 60_000);
  afterAll(async () => {
    await p?.plugin.stop();
  });

  test.each(["GuestNetwork", "EsxImage", "EsxInstance"] as const)("%s: valid inputs pass and come back as check() gives them", async (kind) => {
    await fc.assert(
      fc.asyncProperty(validInputs[kind], async (inp) => {
        const r = await p.plugin.check(p.urn(kind, "prop"), {}, { ...inp, __provider: p.provider[kind] });
        expect(r.failures).toEqual([]);
        const { __provider, ...back } = r.inputs;
        expect(__provider).toBe(p.provider[kind]);
        expect(back).toEqual(checkers[kind]({}, inp).inputs);
      }),
      { numRuns: 40 },
    );
  });

  test("forbidden characters in every name field are rejected naming the field", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...NAME_FIELDS), fc.nat(), fc.nat(), async (f, k, pos) => {
        const c = f.forbidden[k % f.forbidden.length];
        const base = "abc";
        const value = base.slice(0, pos % 4) + c + base.slice(pos % 4);
        const r = await p.plugin.check(p.urn(f.kind, "prop"), {}, { ...withField(f.kind, f.field, value), __provider: p.provider[f.kind] });
        expect(r.failures.map((x) => x.property)).toEqual([f.field]);
      }),
      { numRuns: 150 },
    );
  });

  test("the valid bases of the bad input corpus pass", async () => {
    for (const kind of ["GuestNetwork", "EsxImage", "EsxInstance"] as const) {
      const r = await p.plugin.check(p.urn(kind, "base"), {}, { ...VALID[kind], __provider: p.provider[kind] });
      expect(r.failures).toEqual([]);
    }
  });
});
