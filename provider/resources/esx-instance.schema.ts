/** EsxInstance inputs and outputs: the one definition check() validates with and schema.json / the sdk types come from. */
import { z } from "zod";
import { desiredDiskBytes } from "../driver/instance/plan";
import { ADAPTER_TYPES, DEFAULT_ADAPTER, DEFAULT_NIC, NIC_TYPES, parseAdapterType, parseNicType } from "../hardware";
import { normaliseCidr } from "../net/addressing";
import { cidrString } from "./guest-network.schema";
import { GUEST_ID, hostAlias, ipv4, SAFE_NAME, SAFE_NAME_MESSAGE } from "./common";
import { FieldTable, replaceFields } from "./fields";

/** VM names: no characters that break datastore paths ("[ds] name/name.vmx") or the VM configuration; not . or .. */
export const VM_NAME = SAFE_NAME;
/** Datastore paths of a base disk: "[ds] folder/file.vmdk", no control characters or quotes, no . or .. segments. */
const DATASTORE_PATH = /^\[(?!\.{1,2}\])[^\x00-\x1f\x7f"'`\\/[\]#;<>|]+\] (?!\/)[^\x00-\x1f\x7f"'`\\[\]#;<>|]*\.vmdk$/;
/** VMFS limits: 62 TiB disks, 24 TiB of memory. */
const MAX_DISK_GB = 63488;
const MAX_MEMORY_MB = 24 * 1024 * 1024;
/** VMware's range for static (manual) MACs: 00:50:56:00:00:00 - 00:50:56:3f:ff:ff. */
export const STATIC_MAC = /^00:50:56:[0-3][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/i;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Adapter names as Glance, vmdk descriptors, vim25 and people write them ("lsiLogic", "paraVirtual", ...) -> ours. */
const adapterType = z.preprocess((v) => (typeof v === "string" ? (parseAdapterType(v) ?? v) : v), z.enum(ADAPTER_TYPES));
const nicType = z.enum(NIC_TYPES);

export const instanceImage = z
  .object({
    datastorePath: z
      .string()
      .max(512, "must be at most 512 characters")
      .regex(DATASTORE_PATH, 'must be a datastore path like "[ds] images/x/x.vmdk" (no control characters, quotes, # ; < > |)')
      .refine(
        (s) =>
          !s
            .slice(s.indexOf("] ") + 2)
            .split("/")
            .some((p) => p === "." || p === ".." || p === ""),
        "must not contain empty, . or .. path segments",
      )
      .describe("Datastore path of the image's base disk descriptor."),
    datastore: z.string().min(1).max(80).regex(SAFE_NAME, SAFE_NAME_MESSAGE).describe("Datastore the base disk is on; the VM is created on it."),
    capacityBytes: z.number().int().positive().describe("Capacity of the base disk in bytes."),
    adapterType: adapterType.nullish().describe("Disk controller the image needs (lsilogic, buslogic, lsilogicsas, pvscsi, ide)."),
    guestId: z
      .string()
      .regex(GUEST_ID, "must be a vSphere guest OS id (letters, digits, _)")
      .nullish()
      .describe("vSphere guest OS identifier the image declares, e.g. ubuntu64Guest."),
    nicType: z
      .preprocess((v) => (typeof v === "string" ? (parseNicType(v) ?? v) : v), nicType.nullish())
      .describe("NIC model the image prefers (vmxnet is taken as vmxnet3)."),
    glanceImageId: z.string().nullish().describe("Glance image id the disk came from (informational)."),
  })
  .describe("The EsxImage to boot from (the sdk passes the EsxImage resource's outputs). Changing it replaces the VM.");

export const instanceNetwork = z
  .object({
    portGroup: z.string().min(1).max(59).regex(SAFE_NAME, SAFE_NAME_MESSAGE).describe("Port group the NIC is connected to."),
    cidr: cidrString.nullish().describe("Subnet of the network; needed for static or automatic addresses."),
    gateway: ipv4.nullish().describe("Default gateway given to the guest."),
    dnsServers: z.array(ipv4).nullish().describe("DNS servers given to the guest."),
    allocationRange: z.object({ start: ipv4, end: ipv4 }).nullish().describe("Range ip: auto allocates from."),
  })
  .describe("The GuestNetwork the NIC is on (the sdk passes the GuestNetwork resource's outputs).");

export const instanceNic = z
  .object({
    network: instanceNetwork,
    ip: z
      .union([z.literal("auto"), ipv4])
      .optional()
      .describe('Static IPv4 address in the network\'s cidr, "auto" (allocated from its allocationRange), or omitted for DHCP.'),
    nicType: nicType.optional().describe("NIC model; default: the image's nicType, else vmxnet3. Changing it replaces the NIC (new device, same MAC)."),
    mac: z
      .string()
      .regex(MAC, "must be six hex pairs separated by colons")
      .optional()
      .describe("Fixed MAC in VMware's static range 00:50:56:00:00:00-00:50:56:3f:ff:ff; default: generated from the VM name and NIC index."),
  })
  .strict();

export const esxInstanceInputs = z
  .object({
    host: hostAlias,
    name: z
      .string()
      .min(1, "must not be empty")
      .max(80, "must be at most 80 characters")
      .regex(VM_NAME, SAFE_NAME_MESSAGE)
      .optional()
      .describe("VM name on the host; default: the resource name plus a random suffix. Changing it replaces the VM."),
    resourceName: z.string().optional().describe("Pulumi resource name (set by the sdk) used for the default VM name."),
    resourceUrn: z
      .string()
      .optional()
      .describe("Pulumi URN (set by the sdk), written to the VM as a marker so an interrupted create is finished, not duplicated."),
    image: instanceImage,
    cpus: z
      .number()
      .int("must be an integer")
      .min(1, "must be at least 1")
      .max(128, "must be at most 128")
      .describe("Virtual CPUs. Updated in place (powered off, then back to powerState)."),
    memoryMb: z
      .number()
      .int("must be an integer")
      .min(4, "must be at least 4")
      .max(MAX_MEMORY_MB, `must be at most ${MAX_MEMORY_MB} (24 TiB)`)
      .refine((m) => m % 4 === 0, "must be a multiple of 4 MB")
      .describe("Memory in MB, a multiple of 4. Updated in place (powered off, then back to powerState)."),
    diskGb: z
      .number()
      .positive("must be positive")
      .max(MAX_DISK_GB, `must be at most ${MAX_DISK_GB} (62 TiB, the VMFS limit)`)
      .optional()
      .describe("Root disk size in GiB; never below the image's capacity, never shrunk. Grown in place (full clones)."),
    cloneMode: z
      .enum(["linked", "full"])
      .default("linked")
      .describe("linked: a delta disk on the image's base disk; full: a copy of it. Changing it replaces the VM."),
    networks: z
      .array(instanceNic)
      .max(10, "at most 10 NICs")
      .default([])
      .describe("NICs in order. Port group, address, NIC type and added/removed NICs update in place."),
    guestId: z
      .string()
      .regex(GUEST_ID, "must be a vSphere guest OS id (letters, digits, _)")
      .optional()
      .describe("vSphere guest OS identifier; default: the image's, else otherGuest64. Updated in place (powered off)."),
    adapterType: adapterType.optional().describe("Disk controller; default: the image's, else lsilogic. Changing it replaces the VM."),
    powerState: z.enum(["on", "off", "suspended"]).default("on").describe("Requested power state. Updated in place."),
    userData: z.string().optional().describe("cloud-init user-data (guestinfo.userdata). cloud-init runs it once: changing it replaces the VM."),
    rebootTrigger: z.string().optional().describe("Any change reboots the guest (RebootGuest when VMware Tools run, else a reset)."),
    waitForIp: z
      .object({ timeoutSeconds: z.number().int().min(1).max(3600).default(300).describe("How long to wait.") })
      .strict()
      .optional()
      .describe("Wait after create until VMware Tools report an IPv4 address."),
    shutdownTimeoutSeconds: z
      .number()
      .int()
      .min(0)
      .max(3600)
      .default(60)
      .describe("Graceful guest shutdown time before a hard power-off (delete, CPU/memory changes)."),
    adopt: z.boolean().default(false).describe("Take over an existing VM of that name (it is reconciled to these inputs and destroyed on delete)."),
  })
  .strict();

export type EsxInstanceInputs = z.infer<typeof esxInstanceInputs>;
export type InstanceNicInput = z.infer<typeof instanceNic>;

const nicOut = z.object({
  network: instanceNetwork,
  portGroup: z.string().describe("Port group of the NIC."),
  mac: z.string().describe("MAC address."),
  ip: z.string().nullable().describe("IPv4 address given to the guest (null: DHCP)."),
  netmask: z.string().nullable().describe("Netmask."),
  gateway: z.string().nullable().describe("Gateway."),
  nicType: z.string().describe("NIC model."),
  requestedIp: z.string().nullable().describe('The ip input ("auto", an address, or null for DHCP).'),
  requestedMac: z.string().nullable().describe("The mac input (null: generated)."),
  requestedNicType: z.string().nullable().describe("The nicType input (null: image default)."),
});

export const esxInstanceOutputs = esxInstanceInputs.omit({ networks: true }).extend({
  host: z.string().nullable().describe("Alias of the configured ESX host (null: the default host)."),
  name: z.string().describe("VM name."),
  vmId: z.string().describe("Managed object id of the VM (e.g. vm-12)."),
  uuid: z.string().nullable().describe("BIOS UUID of the VM."),
  vmxPath: z.string().nullable().describe("Datastore path of the .vmx file."),
  datastore: z.string().describe("Datastore the VM is on."),
  powerState: z.enum(["on", "off", "suspended"]).describe("Power state as the host reports it."),
  diskGb: z.number().nullable().describe("Root disk capacity in GiB as the host reports it."),
  diskBytes: z.number().nullable().describe("Root disk capacity in bytes."),
  networks: z.array(nicOut).describe("NICs as configured on the host."),
  machineId: z.string().nullable().describe("The machine.id extraConfig value (2011 format)."),
  guestIpAddresses: z.array(z.string()).describe("IPv4 addresses VMware Tools report."),
  adopted: z.boolean().describe("True when an existing VM was taken over."),
});

export type EsxInstanceOutputs = z.infer<typeof esxInstanceOutputs>;

type Props = Record<string, unknown>;
type NetworkRecord = { portGroup?: unknown; cidr?: unknown; gateway?: unknown; dnsServers?: unknown; allocationRange?: unknown };
type ImageRecord = { datastorePath?: unknown; datastore?: unknown; capacityBytes?: unknown; adapterType?: unknown; guestId?: unknown; nicType?: unknown };

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const text = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const image = (r: Props): ImageRecord | undefined => (r.image && typeof r.image === "object" ? (r.image as ImageRecord) : undefined);

function normNetwork(n: NetworkRecord | null | undefined): unknown {
  if (!n) return null;
  let cidr = n.cidr ?? null;
  try {
    if (typeof cidr === "string") cidr = normaliseCidr(cidr);
  } catch {
    /* compared as written */
  }
  return { portGroup: n.portGroup ?? null, cidr, gateway: n.gateway ?? null, dnsServers: n.dnsServers ?? [], allocationRange: n.allocationRange ?? null };
}

/** The image fields that place the disk (changing any replaces the VM). */
function imageKey(i: unknown): unknown {
  const r = i as ImageRecord | null | undefined;
  return r ? { datastorePath: r.datastorePath ?? null, datastore: r.datastore ?? null, capacityBytes: r.capacityBytes ?? null } : null;
}

/** Old outputs' NICs vs new inputs' NICs: network, requested address, NIC type and MAC. */
function networksChanged(olds: Props[], news: Props[], img: ImageRecord | undefined): boolean {
  if (olds.length !== news.length) return true;
  return news.some((n, i) => {
    const o = olds[i];
    const want = {
      network: normNetwork(n.network as NetworkRecord),
      ip: n.ip ?? null,
      nicType: n.nicType ?? img?.nicType ?? DEFAULT_NIC,
      mac: n.mac ? String(n.mac).toLowerCase() : null,
    };
    const oldIp = o.requestedIp === "auto" && o.ip ? "auto" : (o.ip ?? null);
    const have = {
      network: { ...(normNetwork(o.network as NetworkRecord) as object), portGroup: o.portGroup },
      ip: oldIp,
      nicType: o.nicType,
      mac: n.mac ? o.mac : null,
    };
    return JSON.stringify(want) !== JSON.stringify(have);
  });
}

const adapterOf = (r: Props) => parseAdapterType(text(r.adapterType) ?? text(image(r)?.adapterType)) ?? DEFAULT_ADAPTER;
const guestIdOf = (r: Props) => text(r.guestId) ?? text(image(r)?.guestId) ?? "otherGuest64";
const bothImages = (o: Props, n: Props) => !!image(o) && !!image(n);

/**
 * What a change of each input does (diff, schema.json's replaceOnChanges, docs). Replaces delete first: the VM
 * name is fixed. The image replaces only through what places the disk; adapterType and guestId compare the values
 * in effect (the input, else the image's).
 */
export const ESX_INSTANCE_FIELDS: FieldTable<z.input<typeof esxInstanceInputs>> = {
  host: { onChange: "replace" },
  name: { onChange: "replace" },
  image: { onChange: "replace", normalise: imageKey },
  cloneMode: { onChange: "replace", default: "linked" },
  userData: { onChange: "replace" },
  adapterType: { onChange: "replace", differs: (o, n) => bothImages(o, n) && adapterOf(o) !== adapterOf(n) },
  cpus: { onChange: "update" },
  memoryMb: { onChange: "update" },
  diskGb: {
    onChange: "update",
    differs: (o, n) => {
      const img = image(n);
      if (typeof img?.capacityBytes !== "number" || typeof o.diskBytes !== "number") return false;
      return desiredDiskBytes({ diskGb: typeof n.diskGb === "number" ? n.diskGb : undefined, image: { capacityBytes: img.capacityBytes } }) > o.diskBytes;
    },
  },
  networks: {
    onChange: "update",
    differs: (o, n) => !Array.isArray(n.networks) || !Array.isArray(o.networks) || networksChanged(o.networks as Props[], n.networks as Props[], image(n)),
  },
  guestId: { onChange: "update", differs: (o, n) => bothImages(o, n) && guestIdOf(o) !== guestIdOf(n) },
  powerState: { onChange: "update", differs: (o, n) => !same(o.powerState, n.powerState ?? "on") },
  rebootTrigger: { onChange: "update" },
  resourceUrn: { onChange: "update" },
  waitForIp: { onChange: "update" },
  shutdownTimeoutSeconds: { onChange: "update", default: 60 },
  adopt: { onChange: "update", default: false },
  resourceName: { onChange: "ignore" },
};

/** Changing these replaces the VM (image: its datastorePath, datastore or capacity). */
export const ESX_INSTANCE_REPLACE = replaceFields(ESX_INSTANCE_FIELDS);

export const schemaSpec = {
  name: "EsxInstance",
  description:
    "A VM on a standalone ESX host booted from an EsxImage (linked delta disk or full copy), with NICs on GuestNetworks, " +
    "guest addressing in machine.id and cloud-init guestinfo, converging CPUs, memory, disk, NICs and power state in place.",
  inputs: esxInstanceInputs,
  outputs: esxInstanceOutputs,
  replaceOnChanges: ESX_INSTANCE_REPLACE,
  hiddenInputs: ["resourceName", "resourceUrn"],
};
