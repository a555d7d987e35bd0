/**
 * What an instance's NICs and guest data resolve to: MACs (fixed, kept, or generated deterministically in VMware's
 * static range), addresses (static, kept, allocated, or DHCP), and the extraConfig keys this provider owns:
 * machine.id (2011 format), cloud-init guestinfo.* and the crash-safety marker.
 */
import { createHash } from "node:crypto";
import { buildGuestinfo } from "../../guest/cloudinit";
import { decodeMachineId, encodeMachineId, machineIdNicFromPrefix } from "../../guest/machine-id";
import { DEFAULT_NIC, NicType } from "../../hardware";
import { netmask, normaliseCidr, prefix } from "../../net/addressing";
import { AddressAllocator, AddressLease } from "../addresses";
import { HostNic } from "../devices";
import { InstanceSpec, NicSpec } from "./spec";

export const MARKER_KEY = "pulumi-esx.urn";
/** The extraConfig keys this provider owns; others (VMware Tools' guestinfo.*) are never compared. */
export const OWNED_KEYS = ["machine.id", "guestinfo.metadata", "guestinfo.metadata.encoding", "guestinfo.userdata", "guestinfo.userdata.encoding", MARKER_KEY];

export interface ResolvedNic {
  portGroup: string;
  mac: string;
  nicType: NicType;
  ip: string | null;
  prefix: number | null;
  netmask: string | null;
  gateway: string | null;
  dns: string[];
  input: NicSpec;
}

/** The NIC type of a NIC: its own, else the image's, else vmxnet3. */
export function effectiveNicType(n: NicSpec, spec: Pick<InstanceSpec, "image">): NicType {
  return n.nicType ?? spec.image.nicType ?? DEFAULT_NIC;
}

/** Deterministic MAC in 00:50:56:00:00:00-00:50:56:3f:ff:ff for (VM name, NIC index, attempt). */
export function generatedMac(vmName: string, index: number, attempt = 0): string {
  const h = createHash("sha256").update(`${vmName}\0${index}\0${attempt}`).digest();
  const b = [h[0] & 0x3f, h[1], h[2]];
  return ["00", "50", "56", ...b.map((x) => x.toString(16).padStart(2, "0"))].join(":");
}

/** The automatic addresses these NICs hold (to give back to the allocator). */
export function autoLeases(nics: ResolvedNic[]): AddressLease[] {
  return nics.map((n) => ({ ip: n.input.ip === "auto" ? n.ip : null, cidr: n.input.network.cidr }));
}

/**
 * Resolves every NIC. `current` are the VM's NICs on the host (update/adopt/reconcile) and `currentIps` the
 * addresses in its machine.id by MAC: a generated MAC and an allocated address are kept while still valid.
 * Allocation happens synchronously, so concurrent resolutions in this process never share an address.
 */
export function resolveNics(
  spec: InstanceSpec,
  vmName: string,
  used: Set<string>,
  allocator: AddressAllocator,
  current: Pick<HostNic, "mac">[] = [],
  currentIps: Map<string, string> = new Map(),
): ResolvedNic[] {
  const explicit = new Set(spec.networks.map((n) => n.mac?.toLowerCase()).filter((m): m is string => !!m));
  const taken = new Set<string>();
  const macs = spec.networks.map((n, i) => {
    if (n.mac) return n.mac.toLowerCase();
    const keep = current[i]?.mac;
    if (keep && !explicit.has(keep) && !taken.has(keep)) return keep;
    for (let a = 0; ; a++) {
      const m = generatedMac(vmName, i, a);
      if (!explicit.has(m) && !taken.has(m)) return m;
    }
  });
  macs.forEach((m) => taken.add(m));
  const ownStatic = new Set(spec.networks.map((n) => n.ip).filter((ip): ip is string => !!ip && ip !== "auto"));
  const allocatedHere: AddressLease[] = [];
  try {
    return spec.networks.map((n, i) => {
      const net = n.network;
      const cidr = net.cidr ? normaliseCidr(net.cidr) : null;
      let ip: string | null = null;
      if (n.ip && n.ip !== "auto") ip = n.ip;
      else if (n.ip === "auto") {
        if (!cidr || !net.allocationRange)
          throw new Error(`networks[${i}].ip: "auto" needs a network with cidr and allocationRange (port group ${net.portGroup})`);
        const range = net.allocationRange;
        const excluded = [...ownStatic, ...(net.gateway ? [net.gateway] : [])];
        const kept = currentIps.get(macs[i]);
        const got = allocator.allocate(cidr, range, used, excluded, kept && !ownStatic.has(kept) ? kept : undefined);
        if (!got) throw new Error(`networks[${i}].ip: the allocation range ${range.start}-${range.end} of ${net.portGroup} is exhausted`);
        ip = got.ip;
        if (got.fresh) allocatedHere.push({ ip, cidr });
      }
      return {
        portGroup: net.portGroup,
        mac: macs[i],
        nicType: effectiveNicType(n, spec),
        ip,
        prefix: ip && cidr ? prefix(cidr) : null,
        netmask: ip && cidr ? netmask(cidr) : null,
        gateway: ip ? (net.gateway ?? null) : null,
        dns: net.dnsServers ?? [],
        input: n,
      };
    });
  } catch (e) {
    allocator.release(allocatedHere);
    throw e;
  }
}

/** A host name for cloud-init's local-hostname from a VM name. */
export function hostnameOf(vmName: string): string {
  const h = vmName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return h || "vm";
}

/** The extraConfig values we own for these NICs (absent keys = not set; "" = remove on reconfigure). */
export function guestConfig(vmName: string, nics: ResolvedNic[], userData: string | undefined, urn: string | undefined): Record<string, string> {
  const statics = nics.filter((n) => n.ip && n.prefix !== null);
  const out: Record<string, string> = {};
  if (statics.length) {
    out["machine.id"] = encodeMachineId(
      statics.map((n) => machineIdNicFromPrefix({ mac: n.mac, ip: n.ip!, prefix: n.prefix!, gateway: n.gateway ?? undefined, dns: n.dns })),
    );
  }
  Object.assign(
    out,
    buildGuestinfo({
      instanceId: vmName,
      hostname: hostnameOf(vmName),
      nics: nics.map((n) => ({
        mac: n.mac,
        ip: n.ip ?? undefined,
        prefix: n.prefix ?? undefined,
        gateway: n.gateway ?? undefined,
        dns: n.dns.length ? n.dns : undefined,
      })),
      userData,
    }),
  );
  if (urn) out[MARKER_KEY] = urn;
  return out;
}

/** extraConfig changes turning `current` into `wanted` for the keys we own ("" deletes a key). */
export function extraConfigChanges(current: Record<string, string>, wanted: Record<string, string>): { key: string; value: string }[] {
  const changes: { key: string; value: string }[] = [];
  for (const k of OWNED_KEYS) {
    const w = wanted[k] ?? "";
    if ((current[k] ?? "") !== w) changes.push({ key: k, value: w });
  }
  return changes;
}

/** Addresses in a machine.id value by MAC. */
export function machineIdIps(value: string | undefined): Map<string, string> {
  return new Map(decodeMachineId(value ?? "").nics.map((n) => [n.mac.toLowerCase(), n.ip]));
}

/** extraConfig as vim25 OptionValues. */
export function optionValues(values: Record<string, string>): { key: string; value: string }[] {
  return Object.entries(values).map(([key, value]) => ({ key, value }));
}
