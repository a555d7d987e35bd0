/** EsxImage inputs: the one definition check() validates with and schema.json / the sdk types come from. */
import { z } from "zod";
import { hostAlias, SAFE_NAME, SAFE_NAME_MESSAGE } from "./common";

export const DISK_TYPES = ["thin", "thick", "eagerZeroedThick"] as const;
export const ADAPTER_TYPES = ["lsiLogic", "busLogic", "lsiLogicsas", "paraVirtual", "ide"] as const;

export const esxImageInputs = z
  .object({
    host: hostAlias,
    glanceImageId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a Glance image id (letters, digits, - and _)")
      .describe("Glance v2 image id; the image must be active. Changing it replaces the image."),
    datastore: z
      .string()
      .min(1)
      .max(80)
      .regex(SAFE_NAME, SAFE_NAME_MESSAGE)
      .optional()
      .describe("Datastore the disk is put on; default: the host's accessible datastore with the most free space. Changing it replaces the image."),
    folder: z
      .string()
      .max(128, "must be at most 128 characters")
      .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, "must be a relative datastore folder (letters, digits, _ . -, separated by /)")
      .refine((s) => !s.split("/").some((p) => p === "." || p === ".."), "must not contain . or .. segments")
      .default("images")
      .describe("Folder on the datastore; the disk lands in [datastore] <folder>/<glanceImageId>/. Changing it replaces the image."),
    diskType: z
      .enum(DISK_TYPES)
      .optional()
      .describe("thin | thick | eagerZeroedThick; default from the image's vmware_disktype property, else thin. Changing it replaces the image."),
  })
  .strict();

export type EsxImageInputs = z.infer<typeof esxImageInputs>;

export const esxImageOutputs = z.object({
  host: z.string().nullable().describe("Alias of the configured ESX host (null: the default host)."),
  glanceImageId: z.string().describe("Glance v2 image id the disk was imported from."),
  datastore: z.string().describe("Datastore holding the base disk."),
  folder: z.string().describe("Folder on the datastore."),
  diskType: z.string().describe("thin | thick | eagerZeroedThick."),
  datastorePath: z.string().describe('The base disk: "[datastore] <folder>/<id>/<id>.vmdk".'),
  capacityBytes: z.number().describe("Virtual size of the disk in bytes."),
  sourceFormat: z.string().describe("Format the image had in Glance: raw, flat, monolithicSparse or streamOptimized."),
  adapterType: z.string().describe("Disk controller for instances (vmware_adaptertype, default lsiLogic)."),
  guestId: z.string().describe("Guest OS id for instances (vmware_ostype, default otherGuest)."),
  nicType: z.string().describe("NIC type for instances (hw_vif_model, default vmxnet3)."),
  checksum: z.string().describe('"<algo>:<hex>" Glance recorded and the transfer was verified against.'),
  sizeBytes: z.number().nullable().describe("Size of the image in Glance."),
  imported: z.boolean().describe("True when this resource imported the bytes; false when it adopted a finished copy."),
});

export type EsxImageOutputs = z.infer<typeof esxImageOutputs>;

/** Every input replaces. */
export const ESX_IMAGE_REPLACE = ["host", "glanceImageId", "datastore", "folder", "diskType"];

export const schemaSpec = {
  name: "EsxImage",
  description:
    "A Glance image placed once on a standalone ESX host's datastore as a base disk that instances are cloned from: " +
    "streamed from Glance, converted from sparse VMDK formats on the way, verified against Glance's checksum.",
  inputs: esxImageInputs,
  outputs: esxImageOutputs,
  replaceOnChanges: ESX_IMAGE_REPLACE,
};
