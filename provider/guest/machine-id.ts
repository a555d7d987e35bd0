/**
 * The `machine.id` extraConfig value (the 2011 Nova ESX driver's IP injection format), read in the guest by
 * `vmware-rpctool machine.id.get`. Per NIC six `;`-separated fields, each record followed by `#`:
 *
 *   mac;ip;netmask;gateway;broadcast;dns1,dns2#mac;...#
 *
 * MAC lower-case with colons; gateway and DNS may be empty. encodeMachineId() validates every value strictly so
 * that nothing can smuggle `;`, `#`, quotes, newlines or anything else into the VM configuration.
 *
 * decodeMachineId() is tolerant: it also accepts
 *  - a single record without the trailing `#` (the single-NIC format before multi-NIC support), and
 *  - the 4-field records of the first release (`mac;ip;netmask;gateway`): broadcast is derived from ip/netmask
 *    and DNS is empty. This costs nothing and lets the guest tool serve VMs configured by that release.
 * Malformed records are reported in `errors` and skipped; the others are returned.
 */
import * as ipaddr from "ipaddr.js";
import { isIpv4, prefixFromNetmask } from "../net/addressing";

export interface MachineIdNic {
  /** MAC address, six hex pairs separated by colons (encoded lower-case). */
  mac: string;
  ip: string;
  /** Contiguous dotted-quad netmask, e.g. 255.255.255.0. */
  netmask: string;
  /** Empty or absent when the NIC has no gateway. */
  gateway?: string;
  /** Must equal the broadcast address of ip/netmask; computed when absent. */
  broadcast?: string;
  dns?: string[];
}

export interface MachineIdDecodeError {
  /** Zero-based position of the record in the value. */
  index: number;
  record: string;
  message: string;
}

const MAC_RE = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;

/** Broadcast address of ip/netmask (both already validated). */
function broadcastOf(ip: string, mask: string): string {
  return ipaddr.IPv4.broadcastAddressFromCIDR(`${ip}/${prefixFromNetmask(mask)}`).toString();
}

/** Returns the problem with one NIC (message names the field), or undefined. */
function nicError(n: MachineIdNic, where: string): string | undefined {
  const show = (v: unknown) => JSON.stringify(v);
  if (typeof n !== "object" || n === null) return `${where}: must be an object`;
  if (typeof n.mac !== "string" || !MAC_RE.test(n.mac)) return `${where}.mac: ${show(n.mac)} is not a MAC address (six hex pairs separated by colons)`;
  if (!isIpv4(n.ip)) return `${where}.ip: ${show(n.ip)} is not a dotted-quad IPv4 address`;
  if (!isIpv4(n.netmask) || prefixFromNetmask(n.netmask) === undefined) return `${where}.netmask: ${show(n.netmask)} is not a contiguous dotted-quad netmask`;
  if (n.gateway !== undefined && n.gateway !== "" && !isIpv4(n.gateway)) return `${where}.gateway: ${show(n.gateway)} is not a dotted-quad IPv4 address`;
  const bc = broadcastOf(n.ip, n.netmask);
  if (n.broadcast !== undefined) {
    if (!isIpv4(n.broadcast)) return `${where}.broadcast: ${show(n.broadcast)} is not a dotted-quad IPv4 address`;
    if (n.broadcast !== bc) return `${where}.broadcast: ${n.broadcast} is not the broadcast address of ${n.ip}/${n.netmask} (${bc})`;
  }
  if (n.dns !== undefined && !Array.isArray(n.dns)) return `${where}.dns: must be a list of IPv4 addresses`;
  for (const [i, d] of (n.dns ?? []).entries()) if (!isIpv4(d)) return `${where}.dns[${i}]: ${show(d)} is not a dotted-quad IPv4 address`;
  return undefined;
}

/** Encodes NICs as a machine.id value. Throws an Error naming the field (e.g. "nics[1].gateway") on bad input. */
export function encodeMachineId(nics: MachineIdNic[]): string {
  if (!Array.isArray(nics)) throw new Error("nics: must be a list");
  const seen = new Map<string, number>();
  return nics
    .map((n, i) => {
      const err = nicError(n, `nics[${i}]`);
      if (err) throw new Error(err);
      const mac = n.mac.toLowerCase();
      if (seen.has(mac)) throw new Error(`nics[${i}].mac: ${mac} is also the MAC of nics[${seen.get(mac)}]`);
      seen.set(mac, i);
      const fields = [n.mac.toLowerCase(), n.ip, n.netmask, n.gateway ?? "", n.broadcast ?? broadcastOf(n.ip, n.netmask), (n.dns ?? []).join(",")];
      return fields.join(";") + "#";
    })
    .join("");
}

/** Decodes one record; throws with a message on a malformed one. */
function decodeRecord(rec: string): MachineIdNic {
  const f = rec.split(";").map((x) => x.trim());
  if (f.length !== 6 && f.length !== 4) throw new Error(`expected 6 fields (or 4 of the first release), got ${f.length}`);
  const [mac, ip, netmask, gateway] = f;
  const broadcast = f.length === 6 ? f[4] : undefined;
  const dns = f.length === 6 && f[5] !== "" ? f[5].split(",").map((d) => d.trim()) : [];
  const nic: MachineIdNic = { mac, ip, netmask, gateway, broadcast, dns };
  const err = nicError(nic, "record");
  if (err) throw new Error(err);
  return { mac: mac.toLowerCase(), ip, netmask, gateway, broadcast: broadcast ?? broadcastOf(ip, netmask), dns };
}

/**
 * Decodes a machine.id value; malformed records are reported in `errors` and skipped. Decoded NICs always have
 * every field: `gateway` is "" when none, `broadcast` is set, `dns` is [] when none.
 */
export function decodeMachineId(s: string): { nics: MachineIdNic[]; errors: MachineIdDecodeError[] } {
  const nics: MachineIdNic[] = [];
  const errors: MachineIdDecodeError[] = [];
  const text = (s ?? "").trim();
  if (text === "") return { nics, errors };
  const records = text.split("#");
  if (records.length > 1 && records[records.length - 1].trim() === "") records.pop();
  records.forEach((record, index) => {
    try {
      nics.push(decodeRecord(record));
    } catch (e) {
      errors.push({ index, record, message: (e as Error).message });
    }
  });
  return { nics, errors };
}

/**
 * The machine.id NIC for an address given as ip + prefix (the form the provider and buildGuestinfo() use):
 * netmask and broadcast are derived. Throws like encodeMachineId() on invalid values.
 */
export function machineIdNicFromPrefix(n: { mac: string; ip: string; prefix: number; gateway?: string; dns?: string[] }): MachineIdNic {
  if (!Number.isInteger(n.prefix) || n.prefix < 0 || n.prefix > 32) throw new Error(`prefix: ${JSON.stringify(n.prefix)} must be an integer 0-32`);
  const nic: MachineIdNic = {
    mac: n.mac,
    ip: n.ip,
    netmask: ipaddr.IPv4.subnetMaskFromPrefixLength(n.prefix).toString(),
    gateway: n.gateway ?? "",
    dns: n.dns ?? [],
  };
  const err = nicError(nic, "nic");
  if (err) throw new Error(err);
  return { ...nic, mac: n.mac.toLowerCase(), broadcast: broadcastOf(n.ip, nic.netmask) };
}
