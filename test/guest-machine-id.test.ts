import * as fc from "fast-check";
import { decodeMachineId, encodeMachineId, MachineIdNic } from "../provider/guest/machine-id";

const nic1: MachineIdNic = { mac: "00:50:56:AB:CD:01", ip: "10.0.0.5", netmask: "255.255.255.0", gateway: "10.0.0.1", dns: ["8.8.8.8", "1.1.1.1"] };
const nic2: MachineIdNic = { mac: "00:50:56:ab:cd:02", ip: "192.168.7.9", netmask: "255.255.254.0", broadcast: "192.168.7.255" };

describe("encodeMachineId", () => {
  test("six fields per NIC, each record followed by #", () => {
    expect(encodeMachineId([nic1, nic2])).toBe(
      "00:50:56:ab:cd:01;10.0.0.5;255.255.255.0;10.0.0.1;10.0.0.255;8.8.8.8,1.1.1.1#" + "00:50:56:ab:cd:02;192.168.7.9;255.255.254.0;;192.168.7.255;#",
    );
    expect(encodeMachineId([])).toBe("");
  });

  test.each<[Partial<MachineIdNic>, string]>([
    [{ mac: "00:50:56:ab:cd" }, 'nics[0].mac: "00:50:56:ab:cd" is not a MAC address (six hex pairs separated by colons)'],
    [{ mac: "00-50-56-ab-cd-01" }, 'nics[0].mac: "00-50-56-ab-cd-01" is not a MAC address (six hex pairs separated by colons)'],
    [{ ip: "10.0.0.5;x" }, 'nics[0].ip: "10.0.0.5;x" is not a dotted-quad IPv4 address'],
    [{ netmask: "255.0.255.0" }, 'nics[0].netmask: "255.0.255.0" is not a contiguous dotted-quad netmask'],
    [{ netmask: "24" }, 'nics[0].netmask: "24" is not a contiguous dotted-quad netmask'],
    [{ gateway: "10.0.0.1#" }, 'nics[0].gateway: "10.0.0.1#" is not a dotted-quad IPv4 address'],
    [{ broadcast: "10.0.0.254" }, "nics[0].broadcast: 10.0.0.254 is not the broadcast address of 10.0.0.5/255.255.255.0 (10.0.0.255)"],
    [{ broadcast: 'x"' }, 'nics[0].broadcast: "x\\"" is not a dotted-quad IPv4 address'],
    [{ dns: ["8.8.8.8", "8.8.4.4\n"] }, 'nics[0].dns[1]: "8.8.4.4\\n" is not a dotted-quad IPv4 address'],
    [{ dns: "8.8.8.8" as unknown as string[] }, "nics[0].dns: must be a list of IPv4 addresses"],
  ])("rejects %j", (patch, message) => {
    expect(() => encodeMachineId([{ ...nic1, ...patch }])).toThrow(new Error(message));
  });

  test("names the NIC index and rejects duplicate MACs", () => {
    expect(() => encodeMachineId([nic1, { ...nic2, ip: "1.2.3" }])).toThrow(new Error('nics[1].ip: "1.2.3" is not a dotted-quad IPv4 address'));
    expect(() => encodeMachineId([nic1, { ...nic2, mac: "00:50:56:ab:cd:01" }])).toThrow(
      new Error("nics[1].mac: 00:50:56:ab:cd:01 is also the MAC of nics[0]"),
    );
    expect(() => encodeMachineId([null as unknown as MachineIdNic])).toThrow(new Error("nics[0]: must be an object"));
  });
});

describe("decodeMachineId", () => {
  test("decodes what encode wrote", () => {
    expect(decodeMachineId(encodeMachineId([nic1, nic2]))).toEqual({
      nics: [
        { mac: "00:50:56:ab:cd:01", ip: "10.0.0.5", netmask: "255.255.255.0", gateway: "10.0.0.1", broadcast: "10.0.0.255", dns: ["8.8.8.8", "1.1.1.1"] },
        { mac: "00:50:56:ab:cd:02", ip: "192.168.7.9", netmask: "255.255.254.0", gateway: "", broadcast: "192.168.7.255", dns: [] },
      ],
      errors: [],
    });
  });

  test("empty, whitespace and trailing newline (vmtoolsd output)", () => {
    expect(decodeMachineId("")).toEqual({ nics: [], errors: [] });
    expect(decodeMachineId(" \n")).toEqual({ nics: [], errors: [] });
    expect(decodeMachineId(encodeMachineId([nic2]) + "\n").nics).toHaveLength(1);
  });

  test("single record without # and the 4-field first release", () => {
    expect(decodeMachineId("00:50:56:AB:CD:01;10.0.0.5;255.255.255.0;10.0.0.1;10.0.0.255;8.8.8.8").nics).toEqual([
      { mac: "00:50:56:ab:cd:01", ip: "10.0.0.5", netmask: "255.255.255.0", gateway: "10.0.0.1", broadcast: "10.0.0.255", dns: ["8.8.8.8"] },
    ]);
    expect(decodeMachineId("00:50:56:ab:cd:01;10.0.0.5;255.255.255.0;10.0.0.1").nics).toEqual([
      { mac: "00:50:56:ab:cd:01", ip: "10.0.0.5", netmask: "255.255.255.0", gateway: "10.0.0.1", broadcast: "10.0.0.255", dns: [] },
    ]);
  });

  test("a malformed record is reported and skipped, others returned", () => {
    const good = encodeMachineId([nic2]);
    const out = decodeMachineId(`00:50:56:ab:cd:01;10.0.0.5;255.255.255.0#${good}zz;1;2;3;4;5#00:50:56:ab:cd:03;10.0.0.300;255.0.0.0;;10.255.255.255;#`);
    expect(out.nics.map((n) => n.mac)).toEqual(["00:50:56:ab:cd:02"]);
    expect(out.errors).toEqual([
      { index: 0, record: "00:50:56:ab:cd:01;10.0.0.5;255.255.255.0", message: "expected 6 fields (or 4 of the first release), got 3" },
      { index: 2, record: "zz;1;2;3;4;5", message: 'record.mac: "zz" is not a MAC address (six hex pairs separated by colons)' },
      { index: 3, record: "00:50:56:ab:cd:03;10.0.0.300;255.0.0.0;;10.255.255.255;", message: 'record.ip: "10.0.0.300" is not a dotted-quad IPv4 address' },
    ]);
  });
});

const hex2 = fc.integer({ min: 0, max: 255 }).map((n) => n.toString(16).padStart(2, "0"));
const arbMac = fc.array(hex2, { minLength: 6, maxLength: 6 }).map((a) => a.join(":"));
const arbNic: fc.Arbitrary<MachineIdNic> = fc
  .record({
    mac: arbMac,
    ip: fc.ipV4(),
    prefix: fc.integer({ min: 0, max: 32 }),
    gateway: fc.option(fc.ipV4(), { nil: undefined }),
    dns: fc.array(fc.ipV4(), { maxLength: 3 }),
    upper: fc.boolean(),
  })
  .map(({ mac, ip, prefix, gateway, dns, upper }) => {
    const mask =
      prefix === 0
        ? "0.0.0.0"
        : [0, 1, 2, 3]
            .map((i) => 256 - 2 ** (8 - Math.max(0, Math.min(8, prefix - 8 * i))))
            .map((x) => x % 256)
            .join(".");
    return { mac: upper ? mac.toUpperCase() : mac, ip, netmask: mask, gateway, dns };
  });
const arbNics = fc.uniqueArray(arbNic, { maxLength: 5, selector: (n) => n.mac.toLowerCase() });

describe("properties", () => {
  test("encode -> decode round trip", () => {
    fc.assert(
      fc.property(arbNics, (nics) => {
        const out = decodeMachineId(encodeMachineId(nics));
        expect(out.errors).toEqual([]);
        expect(out.nics.map(({ mac, ip, netmask, gateway, dns }) => ({ mac, ip, netmask, gateway, dns }))).toEqual(
          nics.map((n) => ({ mac: n.mac.toLowerCase(), ip: n.ip, netmask: n.netmask, gateway: n.gateway ?? "", dns: n.dns })),
        );
      }),
    );
  });

  test("arbitrary strings injected into any field: encode throws or the output has no stray separators", () => {
    const fields = ["mac", "ip", "netmask", "gateway", "broadcast", "dns"] as const;
    const evil = fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(";", "#", '"', "\n", ",", ".", "1", "0", "a", ":", " ", "2", "5") }));
    fc.assert(
      fc.property(
        arbNics.filter((n) => n.length > 0),
        fc.nat(),
        fc.constantFrom(...fields),
        evil,
        (nics, k, field, value) => {
          const target = { ...nics[k % nics.length] } as Record<string, unknown>;
          target[field] = field === "dns" ? ["8.8.8.8", value] : value;
          const input = nics.map((n, i) => (i === k % nics.length ? (target as unknown as MachineIdNic) : n));
          let out: string;
          try {
            out = encodeMachineId(input);
          } catch {
            return;
          }
          expect(out).not.toMatch(/[\n"'\r\\\s]/);
          expect(out.split("#").length - 1).toBe(nics.length);
          for (const rec of out.split("#").slice(0, -1)) expect(rec.split(";")).toHaveLength(6);
          expect(out).toMatch(/^[0-9a-f:.;,#]*$/);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
