/**
 * VMDK text descriptors: rendering the monolithicFlat-on-VMFS descriptor (`<name>.vmdk`) an ESX host pairs with
 * the `<name>-flat.vmdk` extent we upload, and parsing descriptors (standalone or embedded in a sparse image).
 */
import * as crypto from "node:crypto";
import { ADAPTERS, DescriptorAdapterType, DISKS, DiskType, parseAdapterType } from "../hardware";
import { SECTOR } from "./sparse-header";

export type { DescriptorAdapterType, DiskType };

export interface RenderDescriptorOptions {
  /** The extent's file name, relative to the descriptor, e.g. "web-1-flat.vmdk". */
  extentFileName: string;
  /** Disk size in bytes; a positive multiple of 512 (see `sectorAlign`). */
  capacityBytes: number;
  /** A descriptor adapter type or a vSphere/Glance one (lsiLogic, busLogic, ide, lsiLogicsas, paraVirtual). */
  adapterType: string;
  diskType: DiskType;
  /** Content ID, 8 hex digits; random when omitted. */
  cid?: string;
  /** Disk UUID, either "60 00 C2 9a ... 12-34 ..." (ddb form) or a standard 8-4-4-4-12 UUID; random when omitted. */
  uuid?: string;
  /** ddb.virtualHWVersion; default 4 (readable by every ESX release). */
  virtualHWVersion?: number;
}

export interface DescriptorExtent {
  access: "RW" | "RDONLY" | "NOACCESS";
  sectors: number;
  /** FLAT, SPARSE, ZERO, VMFS, VMFSSPARSE, VMFSRDM, VMFSRAW, ... */
  type: string;
  fileName?: string;
  offset?: number;
}

export interface ParsedDescriptor {
  version?: number;
  cid?: string;
  parentCid?: string;
  createType?: string;
  extents: DescriptorExtent[];
  parentFileNameHint?: string;
  adapterType?: string;
  thinProvisioned: boolean;
  uuid?: string;
  virtualHWVersion?: number;
  /** Sum of the extents' sizes. */
  capacitySectors: number;
  capacityBytes: number;
  /** Every `ddb.*` entry, keys without the "ddb." prefix. */
  ddb: Record<string, string>;
  /** Every other `key=value` line (version, CID, createType, ...). */
  fields: Record<string, string>;
}

/** Rounds a byte count up to a whole number of 512-byte sectors. */
export function sectorAlign(bytes: number): number {
  return Math.ceil(bytes / SECTOR) * SECTOR;
}

/**
 * Maps any adapter spelling (a Glance `vmware_adaptertype`, a vSphere controller, a descriptor's own) to the
 * descriptor's `ddb.adapterType` (provider/hardware.ts: SAS and paravirtual disks are "lsilogic" there).
 */
export function descriptorAdapterType(adapterType: string): DescriptorAdapterType {
  const a = parseAdapterType(adapterType);
  if (!a) throw new Error(`unknown disk adapter type "${adapterType}" (expected one of ide, busLogic, lsiLogic, lsiLogicsas, paraVirtual)`);
  return ADAPTERS[a].descriptor;
}

/** CHS geometry ESX writes for a disk of `sectors` on the given adapter. */
export function diskGeometry(sectors: number, adapter: DescriptorAdapterType): { cylinders: number; heads: number; sectors: number } {
  let heads: number, spt: number, maxCyl: number;
  if (adapter === "ide") [heads, spt, maxCyl] = [16, 63, 16383];
  else if (sectors < 2 * 1024 * 1024)
    [heads, spt, maxCyl] = [64, 32, 65535]; // < 1 GiB
  else if (sectors < 4 * 1024 * 1024)
    [heads, spt, maxCyl] = [128, 32, 65535]; // < 2 GiB
  else [heads, spt, maxCyl] = [255, 63, 65535];
  return { cylinders: Math.max(1, Math.min(maxCyl, Math.floor(sectors / (heads * spt)))), heads, sectors: spt };
}

const DDB_UUID = /^([0-9a-f]{2} ){7}[0-9a-f]{2}-([0-9a-f]{2} ){7}[0-9a-f]{2}$/i;
const STD_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function ddbUuid(bytes: Buffer): string {
  const h = [...bytes].map((b) => b.toString(16).padStart(2, "0"));
  return `${h.slice(0, 8).join(" ")}-${h.slice(8).join(" ")}`;
}

/** Normalizes a disk UUID to the descriptor's "xx xx xx xx xx xx xx xx-xx ..." form. */
export function toDdbUuid(uuid: string): string {
  if (DDB_UUID.test(uuid)) return uuid.toLowerCase();
  if (STD_UUID.test(uuid)) return ddbUuid(Buffer.from(uuid.replace(/-/g, ""), "hex"));
  throw new Error(`invalid disk uuid "${uuid}"`);
}

/** A random content ID (8 hex digits, never the reserved ffffffff/fffffffe). */
export function randomCid(): string {
  for (;;) {
    const c = crypto.randomBytes(4).toString("hex");
    if (c !== "ffffffff" && c !== "fffffffe") return c;
  }
}

function checkFileName(name: string): void {
  if (name === "" || /["\u0000-\u001f\u007f]/.test(name)) throw new Error(`invalid extent file name ${JSON.stringify(name)}`);
}

/** Text of a monolithicFlat descriptor on VMFS (createType "vmfs") for `<name>.vmdk`. */
export function renderDescriptor(o: RenderDescriptorOptions): string {
  checkFileName(o.extentFileName);
  if (!Number.isSafeInteger(o.capacityBytes) || o.capacityBytes <= 0 || o.capacityBytes % SECTOR !== 0) {
    throw new Error(`disk capacity ${o.capacityBytes} is not a positive whole number of 512-byte sectors (pad it: sectorAlign)`);
  }
  const cid = o.cid ?? randomCid();
  if (!/^[0-9a-f]{8}$/i.test(cid)) throw new Error(`invalid CID "${cid}" (expected 8 hex digits)`);
  const uuid = o.uuid === undefined ? ddbUuid(crypto.randomBytes(16)) : toDdbUuid(o.uuid);
  const hw = o.virtualHWVersion ?? 4;
  if (!Number.isInteger(hw) || hw < 3) throw new Error(`invalid virtualHWVersion ${hw}`);
  const adapter = descriptorAdapterType(o.adapterType);
  const sectors = o.capacityBytes / SECTOR;
  const geo = diskGeometry(sectors, adapter);
  const ddb: [string, string][] = [
    ["adapterType", adapter],
    ["geometry.cylinders", String(geo.cylinders)],
    ["geometry.heads", String(geo.heads)],
    ["geometry.sectors", String(geo.sectors)],
    ["longContentID", crypto.randomBytes(16).toString("hex")],
    ...(DISKS[o.diskType].descriptorThin ? ([["thinProvisioned", "1"]] as [string, string][]) : []),
    ["uuid", uuid],
    ["virtualHWVersion", String(hw)],
  ];
  return [
    "# Disk DescriptorFile",
    "version=1",
    'encoding="UTF-8"',
    `CID=${cid.toLowerCase()}`,
    "parentCID=ffffffff",
    'createType="vmfs"',
    "",
    "# Extent description",
    `RW ${sectors} VMFS "${o.extentFileName}"`,
    "",
    "# The Disk Data Base",
    "#DDB",
    "",
    ...ddb.map(([k, v]) => `ddb.${k} = "${v}"`),
    "",
  ].join("\n");
}

const EXTENT = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Za-z]+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?$/;
const KEY_VALUE = /^([A-Za-z0-9_.]+)\s*=\s*(.*)$/;

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** Parses a descriptor (NUL padding of embedded descriptors and CRLF line ends are fine). */
export function parseDescriptor(text: string): ParsedDescriptor {
  const fields: Record<string, string> = {};
  const ddb: Record<string, string> = {};
  const extents: DescriptorExtent[] = [];
  for (const raw of text.replace(/\u0000+$/, "").split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const e = EXTENT.exec(line);
    if (e) {
      const sectors = Number(e[2]);
      if (!Number.isSafeInteger(sectors)) throw new Error(`VMDK descriptor: extent size out of range: ${line}`);
      extents.push({
        access: e[1] as DescriptorExtent["access"],
        sectors,
        type: e[3].toUpperCase(),
        ...(e[4] !== undefined ? { fileName: e[4] } : {}),
        ...(e[5] !== undefined ? { offset: Number(e[5]) } : {}),
      });
      continue;
    }
    const kv = KEY_VALUE.exec(line);
    if (!kv) throw new Error(`VMDK descriptor: unrecognized line ${JSON.stringify(line.slice(0, 200))}`);
    const value = unquote(kv[2].trim());
    if (kv[1].startsWith("ddb.")) ddb[kv[1].slice(4)] = value;
    else fields[kv[1]] = value;
  }
  const capacitySectors = extents.reduce((s, x) => s + x.sectors, 0);
  const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
  const out: ParsedDescriptor = {
    extents,
    thinProvisioned: ddb.thinProvisioned === "1",
    capacitySectors,
    capacityBytes: capacitySectors * SECTOR,
    ddb,
    fields,
  };
  const set = <K extends keyof ParsedDescriptor>(k: K, v: ParsedDescriptor[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set("version", num(fields.version));
  set("cid", fields.CID?.toLowerCase());
  set("parentCid", fields.parentCID?.toLowerCase());
  set("createType", fields.createType);
  set("parentFileNameHint", fields.parentFileNameHint);
  set("adapterType", ddb.adapterType);
  set("uuid", ddb.uuid);
  set("virtualHWVersion", num(ddb.virtualHWVersion));
  return out;
}
