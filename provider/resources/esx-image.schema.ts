/** EsxImage inputs: the one definition check() validates with and schema.json / the sdk types come from. */
import { z } from "zod";
import { CAPTURE_TAG_PROPERTY } from "../driver/image/capture-leftovers";
import { NOT_PROPERTIES } from "../glance/image";
import { DISK_TYPES } from "../hardware";
import { hostAlias, SAFE_NAME, SAFE_NAME_MESSAGE } from "./common";
import { FieldTable, replaceFields } from "./fields";

export { CAPTURE_TAG_PROPERTY };

export const GLANCE_VISIBILITIES = ["private", "shared", "community", "public"] as const;
const NO_CONTROL = /^[^\x00-\x1f\x7f]*$/;

/** Image properties the capture sets itself (vmware_disktype, its tag) or Glance reserves (core attributes, os_glance_*). */
export function reservedGlanceProperty(k: string): boolean {
  return NOT_PROPERTIES.has(k) || k === "vmware_disktype" || k === CAPTURE_TAG_PROPERTY || k.startsWith("os_glance");
}

/** The VM to capture: an EsxInstance's outputs (the sdk maps the resource to this object). */
export const captureSource = z
  .object({
    vmId: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,80}$/, "must be a VM managed object id such as vm-42")
      .describe("Managed object id of the VM (EsxInstance vmId)."),
    name: z
      .string()
      .min(1)
      .max(80)
      .regex(SAFE_NAME, "must not contain control characters or special characters")
      .optional()
      .describe("VM name; when given, the VM with vmId must have it (a guard against a reused id)."),
    vmxPath: z
      .string()
      .max(1024)
      .regex(NO_CONTROL, "must not contain control characters")
      .nullish()
      .describe("The VM's .vmx path (informational; a new VM means a new capture)."),
    host: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be a host alias")
      .nullish()
      .describe("Alias of the host the VM is on (EsxInstance host); must match this resource's host when both are set."),
  })
  .strict();

/** The Glance image a capture creates. */
export const captureGlance = z
  .object({
    name: z.string().min(1).max(255).regex(NO_CONTROL, "must not contain control characters").describe("Name of the new Glance image."),
    visibility: z
      .enum(GLANCE_VISIBILITIES)
      .default("private")
      .describe("Glance visibility of the new image: private | shared | community | public (public usually needs admin rights)."),
    properties: z
      .record(
        z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,254}$/, "property names are letters, digits, _ . : - (at most 255)"),
        z.string().max(255, "property values are at most 255 characters").regex(NO_CONTROL, "must not contain control characters"),
      )
      .refine((m) => !Object.keys(m).some(reservedGlanceProperty), {
        message:
          "must not set Glance's own attributes (id, name, status, visibility, disk_format, ..., os_glance_*) or vmware_disktype (always streamOptimized)",
      })
      .optional()
      .describe("Extra image properties (e.g. os_distro); vmware_adaptertype, vmware_ostype and hw_vif_model default to the VM's and may be overridden here."),
  })
  .strict();

export const esxImageInputs = z
  .object({
    host: hostAlias,
    glanceImageId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a Glance image id (letters, digits, - and _)")
      .optional()
      .describe(
        "Glance v2 image id to place on the datastore; the image must be active. Exactly one of glanceImageId and captureFrom. Changing it replaces the image.",
      ),
    captureFrom: captureSource
      .optional()
      .describe(
        "Capture this VM (an EsxInstance) into a new Glance image instead: snapshot, copy of its disk chain into one disk, streamed to Glance as a streamOptimized VMDK; the snapshot and the copy are removed. Nothing stays on the datastore. Needs glance. Changing it replaces (recaptures) the image.",
      ),
    glance: captureGlance
      .optional()
      .describe("With captureFrom: name, visibility and properties of the Glance image to create. Changing it replaces (recaptures) the image."),
    datastore: z
      .string()
      .min(1)
      .max(80)
      .regex(SAFE_NAME, SAFE_NAME_MESSAGE)
      .optional()
      .describe(
        "Datastore the disk is put on (captureFrom: where the temporary copy is made); default: the host's accessible datastore with the most free space (captureFrom: the VM's datastore). Changing it replaces the image.",
      ),
    folder: z
      .string()
      .max(128, "must be at most 128 characters")
      .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, "must be a relative datastore folder (letters, digits, _ . -, separated by /)")
      .refine((s) => !s.split("/").some((p) => p === "." || p === ".."), "must not contain . or .. segments")
      .default("images")
      .describe(
        "Folder on the datastore; the disk lands in [datastore] <folder>/<glanceImageId>/ (captureFrom: the temporary copy is made in <folder>/.capture-<tag>/, tag: a hash of the URN). Changing it replaces the image.",
      ),
    diskType: z
      .enum(DISK_TYPES)
      .optional()
      .describe(
        "thin | thick | eagerZeroedThick; default from the image's vmware_disktype property, else thin. Not with captureFrom. Changing it replaces the image.",
      ),
    resourceUrn: z
      .string()
      .max(4096)
      .optional()
      .describe(
        "Pulumi URN (set by the sdk): the reference id in refs.json and the capture's tag derive from it, so the rerun of an interrupted create finds what it made; progress is shown under the resource.",
      ),
  })
  .strict();

export type EsxImageInputs = z.infer<typeof esxImageInputs>;

export const esxImageOutputs = z.object({
  host: z.string().nullable().describe("Alias of the configured ESX host (null: the default host)."),
  glanceImageId: z.string().describe("Glance v2 image id the disk was imported from (captureFrom: the image the capture created)."),
  datastore: z.string().describe("Datastore holding the base disk."),
  folder: z.string().describe("Folder on the datastore."),
  diskType: z.string().nullable().describe("thin | thick | eagerZeroedThick (null for a capture)."),
  datastorePath: z
    .string()
    .nullable()
    .describe('The base disk: "[datastore] <folder>/<id>/<id>.vmdk" (null for a capture: it leaves no disk on the datastore).'),
  capacityBytes: z.number().describe("Virtual size of the disk in bytes."),
  sourceFormat: z.string().describe("Format the image has in Glance: raw, flat, monolithicSparse or streamOptimized (a capture writes streamOptimized)."),
  adapterType: z.string().describe("Disk controller for instances (vmware_adaptertype, default lsiLogic)."),
  guestId: z.string().describe("Guest OS id for instances (vmware_ostype, default otherGuest)."),
  nicType: z.string().describe("NIC type for instances (hw_vif_model, default vmxnet3)."),
  checksum: z.string().describe('"<algo>:<hex>" Glance recorded and the transfer was verified against (capture: what Glance recorded for the uploaded data).'),
  sizeBytes: z.number().nullable().describe("Size of the image in Glance."),
  imported: z.boolean().describe("True when this resource imported the bytes; false when it adopted a finished copy (or captured a VM)."),
  captureFrom: captureSource.nullable().describe("The captured VM (null for an import)."),
  glance: z
    .object({ name: z.string(), visibility: z.string(), properties: z.record(z.string(), z.string()).nullable() })
    .nullable()
    .describe("Name, visibility and extra properties of the captured Glance image (null for an import)."),
  resourceUrn: z.string().nullable().describe("Pulumi URN the sdk passed (null for resources created without one); delete logs under it."),
});

export type EsxImageOutputs = z.infer<typeof esxImageOutputs>;

type Props = Record<string, unknown>;
const absent = (v: unknown) => v === undefined || v === null;

/** What the resource records of captureFrom: the capture inputs, normalised (also compared by diff). */
export function normalCapture(c: unknown): Record<string, unknown> | null {
  if (!c || typeof c !== "object") return null;
  const v = c as Props;
  return { vmId: v.vmId ?? null, name: v.name ?? null, vmxPath: v.vmxPath ?? null, host: v.host ?? null };
}

/** What the resource records of glance: name, visibility and sorted properties (null when none). */
export function normalGlance(g: unknown): Record<string, unknown> | null {
  if (!g || typeof g !== "object") return null;
  const v = g as { name?: unknown; visibility?: unknown; properties?: Record<string, unknown> | null };
  const props =
    v.properties && Object.keys(v.properties).length ? Object.fromEntries(Object.entries(v.properties).sort(([a], [b]) => a.localeCompare(b))) : null;
  return { name: v.name ?? null, visibility: v.visibility ?? "private", properties: props };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** A default resolved at create (the datastore with most space, the image's disk type): absent means "as created". */
const resolvedAtCreate = (field: string) => (olds: Props, news: Props) => !absent(news[field]) && !same(olds[field], news[field]);

/**
 * What a change of each input does (diff, schema.json's replaceOnChanges, docs): every input replaces. A
 * capture's glanceImageId is an output (the image it made), not an input to compare.
 */
export const ESX_IMAGE_FIELDS: FieldTable<z.input<typeof esxImageInputs>> = {
  host: { onChange: "replace" },
  glanceImageId: {
    onChange: "replace",
    differs: (olds, news) => !((olds.captureFrom || news.captureFrom) && absent(news.glanceImageId)) && !same(olds.glanceImageId, news.glanceImageId),
  },
  captureFrom: { onChange: "replace", normalise: normalCapture },
  glance: { onChange: "replace", normalise: normalGlance },
  datastore: { onChange: "replace", differs: resolvedAtCreate("datastore") },
  folder: { onChange: "replace", default: "images" },
  diskType: { onChange: "replace", differs: resolvedAtCreate("diskType") },
  resourceUrn: { onChange: "ignore" },
};

export const ESX_IMAGE_REPLACE = replaceFields(ESX_IMAGE_FIELDS);

export const schemaSpec = {
  name: "EsxImage",
  description:
    "A Glance image placed once on a standalone ESX host's datastore as a base disk that instances are cloned from: " +
    "streamed from Glance, converted from sparse VMDK formats on the way, verified against Glance's checksum. " +
    "With captureFrom instead of glanceImageId it goes the other way: a running VM's disk (through a snapshot and a consolidated " +
    "temporary copy, both removed afterwards) is captured into a new Glance image (streamOptimized VMDK), and only that Glance image " +
    "is the result: to clone VMs from it, place it with another EsxImage (glanceImageId: <capture>.glanceImageId). Delete removes the Glance image.",
  inputs: esxImageInputs,
  outputs: esxImageOutputs,
  replaceOnChanges: ESX_IMAGE_REPLACE,
  hiddenInputs: ["resourceUrn"],
};

/** Rules across fields (check() reports them, naming the field): glanceImageId xor captureFrom; glance only with captureFrom. */
export function esxImageRules(v: EsxImageInputs): { property: string; reason: string }[] {
  const out: { property: string; reason: string }[] = [];
  const fail = (property: string, reason: string) => out.push({ property, reason: `${property}: ${reason}` });
  if (v.glanceImageId !== undefined && v.captureFrom !== undefined) {
    fail("captureFrom", "give either glanceImageId (place a Glance image on the datastore) or captureFrom (capture a VM into Glance), not both");
  } else if (v.glanceImageId === undefined && v.captureFrom === undefined) {
    fail("glanceImageId", "one of glanceImageId (place a Glance image on the datastore) or captureFrom (capture a VM into Glance) is required");
  }
  if (v.captureFrom !== undefined) {
    if (v.glance === undefined) fail("glance", "is required with captureFrom (at least { name }): the Glance image to create");
    if (v.diskType !== undefined) fail("diskType", "does not apply to captureFrom (the captured image is a streamOptimized VMDK)");
    if (v.host && v.captureFrom.host && v.host !== v.captureFrom.host) {
      fail("captureFrom.host", `the VM is on host ${v.captureFrom.host}, but this resource's host is ${v.host}`);
    }
  } else if (v.glance !== undefined && v.glanceImageId !== undefined) {
    fail("glance", "only applies to captureFrom");
  }
  return out;
}
