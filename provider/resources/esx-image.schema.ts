/** EsxImage inputs: the one definition check() validates with and schema.json / the sdk types come from. */
import { z } from "zod";
import { hostAlias, SAFE_NAME } from "./common";

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
      .regex(SAFE_NAME, "must not contain control characters or special characters")
      .optional()
      .describe("Datastore the disk is put on; default: the host's accessible datastore with the most free space. Changing it replaces the image."),
    folder: z
      .string()
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

export interface EsxImageOutputs {
  host: string | null;
  glanceImageId: string;
  datastore: string;
  folder: string;
  diskType: string;
  /** "[ds] <folder>/<id>/<id>.vmdk" */
  datastorePath: string;
  capacityBytes: number;
  sourceFormat: string;
  adapterType: string;
  guestId: string;
  nicType: string;
  /** "<algo>:<hex>" Glance recorded and the transfer was verified against. */
  checksum: string;
  sizeBytes: number | null;
  /** True when this resource imported the bytes; false when it adopted a finished copy. */
  imported: boolean;
}

/** Every input replaces. */
export const ESX_IMAGE_REPLACE = ["host", "glanceImageId", "datastore", "folder", "diskType"];
