/**
 * guestinfo extraConfig keys for cloud-init's VMware datasource (DataSourceVMware, "guestinfo" transport):
 * guestinfo.metadata (+ .encoding) holding instance-id, local-hostname and a network config version 2, and
 * optionally guestinfo.userdata (+ .encoding). Pure and deterministic: the same input gives byte-identical
 * values (fixed key order, gzip header with mtime 0 and a fixed OS byte), so diffs do not flap.
 *
 * Default route: written as `routes: [{to: 0.0.0.0/0, via: gw}]`. `to: default` is the modern netplan spelling
 * but cloud-init 22.4 (Debian 12) rejects it ("Address default is not a valid ip address"), and gateway4 is
 * deprecated by netplan; 0.0.0.0/0 works with both.
 */
import * as zlib from "node:zlib";
import { isIpv4 } from "../net/addressing";

export type GuestinfoEncoding = "gzip+base64" | "base64";

export interface GuestinfoNic {
  mac: string;
  /** Static IPv4 address; absent -> DHCP. */
  ip?: string;
  /** Prefix length for `ip` (required with ip). */
  prefix?: number;
  gateway?: string;
  dns?: string[];
  /** Optional interface name to set in the guest (netplan `set-name`). */
  setName?: string;
}

export interface GuestinfoInput {
  instanceId: string;
  hostname: string;
  nics: GuestinfoNic[];
  userData?: string;
  /** Encoding of metadata and userdata values; default gzip+base64. */
  encoding?: GuestinfoEncoding;
}

const MAC_RE = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;
const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

function fail(field: string, message: string): never {
  throw new Error(`${field}: ${message}`);
}

function checkInput(i: GuestinfoInput): void {
  if (typeof i.instanceId !== "string" || i.instanceId.trim() === "") fail("instanceId", "must be a non-empty string");
  if (typeof i.hostname !== "string" || !HOSTNAME_RE.test(i.hostname)) fail("hostname", `${JSON.stringify(i.hostname)} is not a valid host name`);
  if (i.encoding !== undefined && i.encoding !== "gzip+base64" && i.encoding !== "base64") fail("encoding", `must be "gzip+base64" or "base64"`);
  if (i.userData !== undefined && typeof i.userData !== "string") fail("userData", "must be a string");
  if (!Array.isArray(i.nics)) fail("nics", "must be a list");
  const macs = new Map<string, number>();
  i.nics.forEach((n, k) => {
    const f = (x: string) => `nics[${k}].${x}`;
    if (typeof n.mac !== "string" || !MAC_RE.test(n.mac)) fail(f("mac"), `${JSON.stringify(n.mac)} is not a MAC address (six hex pairs separated by colons)`);
    const mac = n.mac.toLowerCase();
    if (macs.has(mac)) fail(f("mac"), `${mac} is also the MAC of nics[${macs.get(mac)}]`);
    macs.set(mac, k);
    if (n.ip !== undefined) {
      if (!isIpv4(n.ip)) fail(f("ip"), `${JSON.stringify(n.ip)} is not a dotted-quad IPv4 address`);
      if (!Number.isInteger(n.prefix) || (n.prefix as number) < 0 || (n.prefix as number) > 32) fail(f("prefix"), `must be an integer 0-32 with ip`);
    } else if (n.prefix !== undefined) fail(f("prefix"), "only allowed with ip");
    if (n.gateway !== undefined && !isIpv4(n.gateway)) fail(f("gateway"), `${JSON.stringify(n.gateway)} is not a dotted-quad IPv4 address`);
    (n.dns ?? []).forEach((d, j) => {
      if (!isIpv4(d)) fail(f(`dns[${j}]`), `${JSON.stringify(d)} is not a dotted-quad IPv4 address`);
    });
    if (n.setName !== undefined && !IFNAME_RE.test(n.setName)) fail(f("setName"), `${JSON.stringify(n.setName)} is not a valid interface name`);
  });
}

/** The network config version 2 document (ethernets "nic0", "nic1", ... in input order). */
export function networkConfigV2(nics: GuestinfoNic[]): Record<string, unknown> {
  const ethernets: Record<string, unknown> = {};
  nics.forEach((n, k) => {
    const e: Record<string, unknown> = { match: { macaddress: n.mac.toLowerCase() } };
    if (n.setName) e["set-name"] = n.setName;
    if (n.ip === undefined) {
      e.dhcp4 = true;
    } else {
      e.dhcp4 = false;
      e.addresses = [`${n.ip}/${n.prefix}`];
      if (n.gateway) e.routes = [{ to: "0.0.0.0/0", via: n.gateway }];
    }
    if (n.dns && n.dns.length > 0) e.nameservers = { addresses: [...n.dns] };
    ethernets[`nic${k}`] = e;
  });
  return { version: 2, ethernets };
}

/** Encodes a guestinfo value deterministically. */
export function encodeGuestinfoValue(text: string, encoding: GuestinfoEncoding): string {
  const raw = Buffer.from(text, "utf8");
  if (encoding === "base64") return raw.toString("base64");
  const gz = zlib.gzipSync(raw, { level: 9 });
  gz.writeUInt32LE(0, 4); // MTIME: none
  gz[8] = 2; // XFL: maximum compression
  gz[9] = 255; // OS: unknown (zlib writes the build platform's code, which differs between Linux and Windows)
  return gz.toString("base64");
}

/** Decodes a guestinfo value (diff() can compare decoded text, independent of the compressor's version). */
export function decodeGuestinfoValue(value: string, encoding: string | undefined): string {
  if (encoding === "gzip+base64" || encoding === "gz+b64") return zlib.gunzipSync(Buffer.from(value, "base64")).toString("utf8");
  if (encoding === "base64" || encoding === "b64") return Buffer.from(value, "base64").toString("utf8");
  return value;
}

/**
 * Builds the guestinfo extraConfig keys for an instance. Throws an Error naming the field on invalid input.
 * Returns keys in a fixed order: guestinfo.metadata, guestinfo.metadata.encoding, then (with userData)
 * guestinfo.userdata, guestinfo.userdata.encoding.
 */
export function buildGuestinfo(input: GuestinfoInput): Record<string, string> {
  checkInput(input);
  const encoding = input.encoding ?? "gzip+base64";
  const metadata = {
    "instance-id": input.instanceId,
    "local-hostname": input.hostname,
    network: networkConfigV2(input.nics),
  };
  const out: Record<string, string> = {
    "guestinfo.metadata": encodeGuestinfoValue(JSON.stringify(metadata), encoding),
    "guestinfo.metadata.encoding": encoding,
  };
  if (input.userData !== undefined) {
    out["guestinfo.userdata"] = encodeGuestinfoValue(input.userData, encoding);
    out["guestinfo.userdata.encoding"] = encoding;
  }
  return out;
}
