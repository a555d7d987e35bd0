/** Glance Images API v2 image records: the core fields typed, every other string field as a property. */
import * as z from "zod";

export interface GlanceImage {
  id: string;
  name: string | null;
  /** queued | saving | uploading | importing | active | killed | deleted | pending_delete | deactivated */
  status: string;
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  virtual_size: number | null;
  /** md5 hex of the data (legacy), null until the data is uploaded. */
  checksum: string | null;
  /** Multihash algorithm (Glance's `hashing_algorithm`, sha512 by default) and its hex value. */
  os_hash_algo: string | null;
  os_hash_value: string | null;
  visibility: string;
  protected: boolean;
  owner: string | null;
  tags: string[];
  created_at: string;
  updated_at: string;
  /** Free-form image properties (vmware_adaptertype, vmware_ostype, vmware_disktype, hw_vif_model, ...). */
  properties: Record<string, string>;
}

const coreSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullable().optional(),
  status: z.string(),
  disk_format: z.string().nullable().optional(),
  container_format: z.string().nullable().optional(),
  size: z.number().nullable().optional(),
  virtual_size: z.number().nullable().optional(),
  checksum: z.string().nullable().optional(),
  os_hash_algo: z.string().nullable().optional(),
  os_hash_value: z.string().nullable().optional(),
  visibility: z.string(),
  protected: z.boolean().optional(),
  owner: z.string().nullable().optional(),
  tags: z.array(z.string()).optional(),
  created_at: z.string(),
  updated_at: z.string(),
});

/** Fields Glance reports that are not image properties (core attributes, links, location info). */
export const NOT_PROPERTIES = new Set([
  ...Object.keys(coreSchema.shape),
  "min_ram",
  "min_disk",
  "os_hidden",
  "self",
  "file",
  "schema",
  "locations",
  "direct_url",
  "stores",
]);

/** Parses one image record as Glance returns it (properties are top-level keys there). */
export function parseImage(raw: unknown): GlanceImage {
  const r = coreSchema.parse(raw);
  const properties: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) {
    if (!NOT_PROPERTIES.has(k) && typeof v === "string") properties[k] = v;
  }
  return {
    id: r.id,
    name: r.name ?? null,
    status: r.status,
    disk_format: r.disk_format ?? null,
    container_format: r.container_format ?? null,
    size: r.size ?? null,
    virtual_size: r.virtual_size ?? null,
    checksum: r.checksum ?? null,
    os_hash_algo: r.os_hash_algo ?? null,
    os_hash_value: r.os_hash_value ?? null,
    visibility: r.visibility,
    protected: r.protected ?? false,
    owner: r.owner ?? null,
    tags: r.tags ?? [],
    created_at: r.created_at,
    updated_at: r.updated_at,
    properties,
  };
}
