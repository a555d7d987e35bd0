import * as fc from "fast-check";
import {
  allocate,
  broadcast,
  checkCidr,
  contains,
  isIpv4,
  netmask,
  networkAddress,
  normaliseCidr,
  parseCidr,
  prefix,
  prefixFromNetmask,
  sameCidr,
  validateInstanceAddress,
  validateNetworkAddressing,
} from "../provider/net/addressing";

describe("CIDR parsing", () => {
  test("netmask, broadcast, prefix, network", () => {
    expect(parseCidr("10.10.10.0/24")).toEqual({
      cidr: "10.10.10.0/24",
      network: "10.10.10.0",
      prefix: 24,
      netmask: "255.255.255.0",
      broadcast: "10.10.10.255",
    });
    expect(netmask("172.16.0.0/12")).toBe("255.240.0.0");
    expect(broadcast("172.16.0.0/12")).toBe("172.31.255.255");
    expect(prefix("0.0.0.0/0")).toBe(0);
    expect(networkAddress("192.168.1.77/26")).toBe("192.168.1.64");
    expect(broadcast("192.168.1.77/32")).toBe("192.168.1.77");
  });

  test("normalise and compare with host bits", () => {
    expect(normaliseCidr("10.10.10.5/24")).toBe("10.10.10.0/24");
    expect(sameCidr("10.10.10.5/24", "10.10.10.0/24")).toBe(true);
    expect(sameCidr("10.10.10.0/24", "10.10.10.0/25")).toBe(false);
    expect(sameCidr("garbage", "garbage")).toBe(true);
    expect(sameCidr("garbage", "10.0.0.0/8")).toBe(false);
  });

  test.each([
    ["10.0.0.0", 'cidr: "10.0.0.0" is not in CIDR form a.b.c.d/n (prefix length missing)'],
    ["10.0.0.0/33", 'cidr: "10.0.0.0/33" is not an IPv4 CIDR: prefix length "33" must be an integer 0-32'],
    ["10.0.0.0/024", 'cidr: "10.0.0.0/024" is not an IPv4 CIDR: prefix length "024" must be an integer 0-32'],
    ["10.0.0.0/", 'cidr: "10.0.0.0/" is not an IPv4 CIDR: prefix length "" must be an integer 0-32'],
    ["010.0.0.0/8", 'cidr: "010.0.0.0/8" is not an IPv4 CIDR: "010.0.0.0" is not a dotted-quad IPv4 address'],
    ["10.1/16", 'cidr: "10.1/16" is not an IPv4 CIDR: "10.1" is not a dotted-quad IPv4 address'],
    [" 10.0.0.0/8", 'cidr: " 10.0.0.0/8" is not an IPv4 CIDR: " 10.0.0.0" is not a dotted-quad IPv4 address'],
    ["fd00::/64", 'cidr: "fd00::/64" is not an IPv4 CIDR: "fd00::" is not a dotted-quad IPv4 address'],
    ["10.10.10.5/24", "cidr: 10.10.10.5/24 has host bits set: did you mean 10.10.10.0/24?"],
  ])("checkCidr rejects %j", (input, message) => {
    expect(checkCidr(input)).toEqual([{ field: "cidr", message }]);
  });

  test("checkCidr with a non-string and a custom field", () => {
    expect(checkCidr(42, "spec.cidr")).toEqual([{ field: "spec.cidr", message: "spec.cidr: must be a string in CIDR form a.b.c.d/n, got number" }]);
    expect(checkCidr("10.0.0.0/8")).toEqual([]);
  });

  test("parseCidr throws on invalid input", () => {
    expect(() => parseCidr("10.0.0.0/40")).toThrow('"10.0.0.0/40" is not an IPv4 CIDR');
  });

  test("strict dotted quads", () => {
    expect(isIpv4("1.2.3.4")).toBe(true);
    for (const bad of ["01.2.3.4", "1.2.3", "1.2.3.4\n", "0x1.2.3.4", "256.0.0.1", "", "1.2.3.4;"]) expect(isIpv4(bad)).toBe(false);
  });

  test("prefixFromNetmask", () => {
    expect(prefixFromNetmask("255.255.255.0")).toBe(24);
    expect(prefixFromNetmask("0.0.0.0")).toBe(0);
    expect(prefixFromNetmask("255.0.255.0")).toBeUndefined();
    expect(prefixFromNetmask("255.255.255")).toBeUndefined();
  });

  test("contains", () => {
    expect(contains("10.0.0.0/24", "10.0.0.255")).toBe(true);
    expect(contains("10.0.0.0/24", "10.0.1.0")).toBe(false);
    expect(contains("0.0.0.0/0", "8.8.8.8")).toBe(true);
    expect(contains("10.0.0.0/24", "not-an-ip")).toBe(false);
  });

  test("property: contains agrees with network/broadcast bounds", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.ipV4(), (a, p, ip) => {
        const net = parseCidr(`${a}/${p}`);
        const n = (s: string) => s.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
        const inside = n(ip) >= n(net.network) && n(ip) <= n(net.broadcast);
        expect(contains(net.cidr, ip)).toBe(inside);
        expect(contains(net.cidr, a)).toBe(true);
      }),
    );
  });
});

describe("validateNetworkAddressing", () => {
  const ok = { cidr: "10.0.0.0/24", gateway: "10.0.0.1", dnsServers: ["8.8.8.8", "10.0.0.2"], allocationRange: { start: "10.0.0.10", end: "10.0.0.200" } };

  test("a good network has no issues (DNS may be outside the subnet)", () => {
    expect(validateNetworkAddressing(ok)).toEqual([]);
    expect(validateNetworkAddressing({ cidr: "10.0.0.0/24" })).toEqual([]);
  });

  test.each([
    [{ gateway: "10.0.1.1" }, "gateway", "gateway: 10.0.1.1 is outside the subnet 10.0.0.0/24"],
    [{ gateway: "10.0.0.0" }, "gateway", "gateway: 10.0.0.0 is the network address of 10.0.0.0/24"],
    [{ gateway: "10.0.0.255" }, "gateway", "gateway: 10.0.0.255 is the broadcast address of 10.0.0.0/24"],
    [{ gateway: "10.0.0.1 " }, "gateway", 'gateway: "10.0.0.1 " is not a dotted-quad IPv4 address'],
    [{ dnsServers: ["8.8.8.8", "dns.example"] }, "dnsServers[1]", 'dnsServers[1]: "dns.example" is not a dotted-quad IPv4 address'],
    [
      { allocationRange: { start: "10.0.0.0", end: "10.0.0.9" } },
      "allocationRange.start",
      "allocationRange.start: 10.0.0.0 is the network address of 10.0.0.0/24",
    ],
    [
      { allocationRange: { start: "10.0.0.5", end: "10.0.0.255" } },
      "allocationRange.end",
      "allocationRange.end: 10.0.0.255 is the broadcast address of 10.0.0.0/24",
    ],
    [{ allocationRange: { start: "10.0.0.5", end: "10.0.2.9" } }, "allocationRange.end", "allocationRange.end: 10.0.2.9 is outside the subnet 10.0.0.0/24"],
    [{ allocationRange: { start: "10.0.0.50", end: "10.0.0.9" } }, "allocationRange", "allocationRange: start 10.0.0.50 is after end 10.0.0.9"],
    [{ cidr: "10.0.0.7/24" }, "cidr", "cidr: 10.0.0.7/24 has host bits set: did you mean 10.0.0.0/24?"],
  ])("%j -> %s", (patch, field, message) => {
    expect(validateNetworkAddressing({ ...ok, ...patch })).toEqual([{ field, message }]);
  });

  test("with an invalid cidr, other addresses are only syntax-checked; prefix applies", () => {
    expect(
      validateNetworkAddressing({ cidr: "nope", gateway: "1.2.3", dnsServers: ["1.1.1.1"], allocationRange: { start: "9.9.9.9", end: "x" } }, "addressing."),
    ).toEqual([
      { field: "addressing.cidr", message: 'addressing.cidr: "nope" is not in CIDR form a.b.c.d/n (prefix length missing)' },
      { field: "addressing.gateway", message: 'addressing.gateway: "1.2.3" is not a dotted-quad IPv4 address' },
      { field: "addressing.allocationRange.end", message: 'addressing.allocationRange.end: "x" is not a dotted-quad IPv4 address' },
    ]);
  });

  test("/31 and /32 have no network or broadcast address", () => {
    expect(validateNetworkAddressing({ cidr: "10.0.0.0/31", gateway: "10.0.0.0", allocationRange: { start: "10.0.0.1", end: "10.0.0.1" } })).toEqual([]);
  });
});

describe("validateInstanceAddress", () => {
  const net = { cidr: "192.168.5.0/24", gateway: "192.168.5.1" };
  test("good address", () => expect(validateInstanceAddress("192.168.5.20", net)).toEqual([]));
  test.each([
    ["192.168.6.20", "ipAddress: 192.168.6.20 is outside the subnet 192.168.5.0/24"],
    ["192.168.5.0", "ipAddress: 192.168.5.0 is the network address of 192.168.5.0/24"],
    ["192.168.5.255", "ipAddress: 192.168.5.255 is the broadcast address of 192.168.5.0/24"],
    ["192.168.5.1", "ipAddress: 192.168.5.1 is the gateway of 192.168.5.0/24"],
    ["192.168.5.1\n", 'ipAddress: "192.168.5.1\\n" is not a dotted-quad IPv4 address'],
  ])("%j", (ip, message) => expect(validateInstanceAddress(ip, net)).toEqual([{ field: "ipAddress", message }]));
  test("invalid network cidr", () =>
    expect(validateInstanceAddress("1.2.3.4", { cidr: "x/1" }, "nics[0].ip")).toEqual([
      {
        field: "nics[0].ip",
        message: 'nics[0].ip: cannot check against the network\'s cidr: "x/1" is not an IPv4 CIDR: "x" is not a dotted-quad IPv4 address',
      },
    ]));
});

describe("allocate", () => {
  const range = { start: "10.0.0.10", end: "10.0.0.13" };
  test("lowest free address", () => {
    expect(allocate(range, [], [])).toBe("10.0.0.10");
    expect(allocate(range, ["10.0.0.10", "10.0.0.12"], ["10.0.0.11"])).toBe("10.0.0.13");
    expect(allocate(range, new Set(["10.0.0.11"]), [])).toBe("10.0.0.10");
    expect(allocate(range, ["10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.13"], [])).toBeUndefined();
    expect(allocate(range, ["10.0.0.9", "fd00::1", "junk", "10.0.0.10"], ["10.0.0.10"])).toBe("10.0.0.11");
  });
  test("crosses octet boundaries and handles a huge range quickly", () => {
    expect(allocate({ start: "10.0.0.255", end: "10.0.1.2" }, ["10.0.0.255"], [])).toBe("10.0.1.0");
    expect(allocate({ start: "10.0.0.1", end: "10.255.255.254" }, ["10.0.0.1", "10.0.0.2"], [])).toBe("10.0.0.3");
  });
  test("reversed range yields nothing; invalid bounds throw", () => {
    expect(allocate({ start: "10.0.0.5", end: "10.0.0.4" }, [], [])).toBeUndefined();
    expect(() => allocate({ start: "10.0.0.5", end: "x" }, [], [])).toThrow('allocationRange.end: "x" is not a dotted-quad IPv4 address');
  });
  test("property: result is in range, free, and every lower address is taken", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.array(fc.integer({ min: 0, max: 25 })), fc.array(fc.integer({ min: 0, max: 25 })), (len, u, r) => {
        const ip = (i: number) => `172.16.${Math.floor(i / 256)}.${i % 256}`;
        const used = u.map(ip);
        const reserved = r.map(ip);
        const got = allocate({ start: ip(0), end: ip(len) }, used, reserved);
        const taken = new Set([...used, ...reserved]);
        const expected = Array.from({ length: len + 1 }, (_, i) => ip(i)).find((a) => !taken.has(a));
        expect(got).toBe(expected);
      }),
    );
  });
});
