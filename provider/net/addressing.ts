/**
 * IPv4 addressing rules used by the provider's check() and diff(): pure functions, no I/O, deterministic
 * messages. Parsing and subnet maths are done by ipaddr.js; only strict dotted-quad forms are accepted
 * ("010.0.0.1" would be octal to ipaddr.js's parse, so it is rejected, as are hex and shortened forms).
 */
import * as ipaddr from "ipaddr.js";

/** One validation failure: `field` is the input path (e.g. "allocationRange.start", "dnsServers[1]"). */
export interface AddressingIssue {
  field: string;
  message: string;
}

/** A parsed IPv4 subnet. `cidr` is the normalised form (network address / prefix). */
export interface Ipv4Subnet {
  cidr: string;
  network: string;
  prefix: number;
  netmask: string;
  broadcast: string;
}

export interface AllocationRange {
  start: string;
  end: string;
}

export interface NetworkAddressing {
  cidr: string;
  gateway?: string;
  dnsServers?: string[];
  allocationRange?: AllocationRange;
}

/** True when `s` is a strict IPv4 dotted quad: four decimal octets 0-255, no leading zeros, no spaces. */
export function isIpv4(s: unknown): s is string {
  return typeof s === "string" && ipaddr.IPv4.isValidFourPartDecimal(s);
}

function parseIp(s: string): ipaddr.IPv4 {
  return ipaddr.IPv4.parse(s);
}

/** Converts a strict dotted quad to its 32-bit value (used for ordering and allocation). */
export function ipv4ToNumber(s: string): number {
  const o = parseIp(s).octets;
  return ((o[0] * 256 + o[1]) * 256 + o[2]) * 256 + o[3];
}

/** Converts a 32-bit value back to a dotted quad. */
export function numberToIpv4(n: number): string {
  return ipaddr.fromByteArray([Math.floor(n / 2 ** 24) % 256, Math.floor(n / 2 ** 16) % 256, Math.floor(n / 256) % 256, n % 256]).toString();
}

const PREFIX_RE = /^(?:0|[1-9][0-9]?)$/;

/** Why `s` is not an IPv4 CIDR ("a.b.c.d/n"), or undefined when it is one (host bits are allowed here). */
function cidrSyntaxError(s: unknown): string | undefined {
  if (typeof s !== "string") return `must be a string in CIDR form a.b.c.d/n, got ${typeof s}`;
  const slash = s.indexOf("/");
  if (slash < 0) return `${JSON.stringify(s)} is not in CIDR form a.b.c.d/n (prefix length missing)`;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!isIpv4(addr)) return `${JSON.stringify(s)} is not an IPv4 CIDR: ${JSON.stringify(addr)} is not a dotted-quad IPv4 address`;
  if (!PREFIX_RE.test(len) || Number(len) > 32) return `${JSON.stringify(s)} is not an IPv4 CIDR: prefix length ${JSON.stringify(len)} must be an integer 0-32`;
  return undefined;
}

/**
 * Parses an IPv4 CIDR, tolerating host bits ("10.10.10.5/24" gives the 10.10.10.0/24 subnet).
 * Throws an Error naming the problem when `s` is not a CIDR.
 */
export function parseCidr(s: string): Ipv4Subnet {
  const err = cidrSyntaxError(s);
  if (err) throw new Error(err);
  const [, prefix] = ipaddr.IPv4.parseCIDR(s);
  const network = ipaddr.IPv4.networkAddressFromCIDR(s).toString();
  return {
    cidr: `${network}/${prefix}`,
    network,
    prefix,
    netmask: ipaddr.IPv4.subnetMaskFromPrefixLength(prefix).toString(),
    broadcast: ipaddr.IPv4.broadcastAddressFromCIDR(s).toString(),
  };
}

/** The normalised form of a CIDR ("10.10.10.5/24" -> "10.10.10.0/24"); diff() compares these. Throws if invalid. */
export function normaliseCidr(s: string): string {
  return parseCidr(s).cidr;
}

/** True when both are valid CIDRs naming the same subnet (host bits ignored); false otherwise. */
export function sameCidr(a: string, b: string): boolean {
  try {
    return normaliseCidr(a) === normaliseCidr(b);
  } catch {
    return a === b;
  }
}

/** check() rule for a CIDR input: must be a CIDR and have no host bits set. */
export function checkCidr(s: unknown, field = "cidr"): AddressingIssue[] {
  const err = cidrSyntaxError(s);
  if (err) return [{ field, message: `${field}: ${err}` }];
  const norm = normaliseCidr(s as string);
  if (norm !== s) return [{ field, message: `${field}: ${s} has host bits set: did you mean ${norm}?` }];
  return [];
}

export function netmask(cidr: string): string {
  return parseCidr(cidr).netmask;
}
export function broadcast(cidr: string): string {
  return parseCidr(cidr).broadcast;
}
export function prefix(cidr: string): number {
  return parseCidr(cidr).prefix;
}
export function networkAddress(cidr: string): string {
  return parseCidr(cidr).network;
}

/** Prefix length of a contiguous dotted-quad netmask ("255.255.255.0" -> 24), undefined when not one. */
export function prefixFromNetmask(mask: string): number | undefined {
  if (!isIpv4(mask)) return undefined;
  const p = parseIp(mask).prefixLengthFromSubnetMask();
  return p === null ? undefined : p;
}

/** True when `ip` (a strict dotted quad) lies inside `cidr`. Throws if `cidr` is invalid; false for a non-IPv4 `ip`. */
export function contains(cidr: string, ip: string): boolean {
  const net = parseCidr(cidr);
  if (!isIpv4(ip)) return false;
  return parseIp(ip).match(parseIp(net.network), net.prefix);
}

/**
 * Whether `ip` is the subnet's network or broadcast address. In /31 (RFC 3021) and /32 subnets every address
 * is a host address, so neither rule applies there.
 */
function specialAddress(net: Ipv4Subnet, ip: string): "network" | "broadcast" | undefined {
  if (net.prefix >= 31) return undefined;
  if (ip === net.network) return "network";
  if (ip === net.broadcast) return "broadcast";
  return undefined;
}

/** Checks that `ip` is a usable host address of `net`; issues name `field`. */
function checkHostAddress(net: Ipv4Subnet, ip: unknown, field: string): AddressingIssue[] {
  if (!isIpv4(ip)) return [{ field, message: `${field}: ${JSON.stringify(ip)} is not a dotted-quad IPv4 address` }];
  if (!contains(net.cidr, ip)) return [{ field, message: `${field}: ${ip} is outside the subnet ${net.cidr}` }];
  const special = specialAddress(net, ip);
  if (special) return [{ field, message: `${field}: ${ip} is the ${special} address of ${net.cidr}` }];
  return [];
}

/**
 * Validates a network's addressing: cidr (no host bits), gateway and allocation range inside the subnet and not
 * its network/broadcast address, range not reversed, DNS servers valid IPv4 (they may be outside the subnet).
 * `fieldPrefix` (e.g. "addressing.") is prepended to every field name. Returns [] when all is well.
 */
export function validateNetworkAddressing(a: NetworkAddressing, fieldPrefix = ""): AddressingIssue[] {
  const f = (name: string) => fieldPrefix + name;
  const issues: AddressingIssue[] = [];
  issues.push(...checkCidr(a.cidr, f("cidr")));
  const dns = a.dnsServers ?? [];
  if (!Array.isArray(dns)) issues.push({ field: f("dnsServers"), message: `${f("dnsServers")}: must be a list of IPv4 addresses` });
  else
    dns.forEach((d, i) => {
      if (!isIpv4(d))
        issues.push({ field: f(`dnsServers[${i}]`), message: `${f(`dnsServers[${i}]`)}: ${JSON.stringify(d)} is not a dotted-quad IPv4 address` });
    });
  if (issues.some((i) => i.field === f("cidr"))) {
    // Without a valid subnet, only the syntax of the remaining addresses can be checked.
    const rest: [string, unknown][] = [];
    if (a.gateway !== undefined) rest.push([f("gateway"), a.gateway]);
    if (a.allocationRange) rest.push([f("allocationRange.start"), a.allocationRange.start], [f("allocationRange.end"), a.allocationRange.end]);
    for (const [field, v] of rest) if (!isIpv4(v)) issues.push({ field, message: `${field}: ${JSON.stringify(v)} is not a dotted-quad IPv4 address` });
    return issues;
  }
  const net = parseCidr(a.cidr);
  if (a.gateway !== undefined) issues.push(...checkHostAddress(net, a.gateway, f("gateway")));
  if (a.allocationRange) {
    const { start, end } = a.allocationRange;
    const s = checkHostAddress(net, start, f("allocationRange.start"));
    const e = checkHostAddress(net, end, f("allocationRange.end"));
    issues.push(...s, ...e);
    if (s.length === 0 && e.length === 0 && ipv4ToNumber(start) > ipv4ToNumber(end))
      issues.push({ field: f("allocationRange"), message: `${f("allocationRange")}: start ${start} is after end ${end}` });
  }
  return issues;
}

/**
 * Validates a static instance address against its network: inside the cidr, not the network address, not the
 * broadcast address, not the gateway. An invalid network cidr yields one issue on `field`.
 */
export function validateInstanceAddress(ip: unknown, network: { cidr: string; gateway?: string }, field = "ipAddress"): AddressingIssue[] {
  let net: Ipv4Subnet;
  try {
    net = parseCidr(network.cidr);
  } catch (e) {
    return [{ field, message: `${field}: cannot check against the network's cidr: ${(e as Error).message}` }];
  }
  const issues = checkHostAddress(net, ip, field);
  if (issues.length === 0 && network.gateway !== undefined && ip === network.gateway)
    issues.push({ field, message: `${field}: ${ip} is the gateway of ${net.cidr}` });
  return issues;
}

/**
 * The lowest address of `range` (inclusive) that is in neither `used` nor `reserved`, or undefined when the
 * range is exhausted. Entries of `used`/`reserved` that are not IPv4 dotted quads are ignored (they cannot
 * collide). Throws when the range bounds are not IPv4 addresses. Runs in O(n log n) of the used entries,
 * independent of the range size.
 */
export function allocate(range: AllocationRange, used: Iterable<string>, reserved: Iterable<string>): string | undefined {
  for (const [k, v] of Object.entries({ start: range.start, end: range.end }))
    if (!isIpv4(v)) throw new Error(`allocationRange.${k}: ${JSON.stringify(v)} is not a dotted-quad IPv4 address`);
  const lo = ipv4ToNumber(range.start);
  const hi = ipv4ToNumber(range.end);
  const taken: number[] = [];
  for (const src of [used, reserved])
    for (const ip of src) {
      if (!isIpv4(ip)) continue;
      const n = ipv4ToNumber(ip);
      if (n >= lo && n <= hi) taken.push(n);
    }
  taken.sort((x, y) => x - y);
  let candidate = lo;
  for (const n of taken) {
    if (n > candidate) break;
    if (n === candidate) candidate++;
  }
  return candidate <= hi ? numberToIpv4(candidate) : undefined;
}
