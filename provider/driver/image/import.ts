/**
 * Image import: a Glance image placed in the host's image cache (cache.ts) as a base disk, streamed and verified
 * by glance-import.ts, or a finished copy adopted. The result names the copy and the defaults instances cloned
 * from it get.
 */
import { dsPath } from "../../esx/datastore";
import { GlanceClient } from "../../glance/client";
import { DiskType } from "../../hardware";
import { pickDatastore } from "../files";
import { EsxHost, Logger } from "../host";
import { CacheKey, imageLocation, placeImage, releaseImage } from "./cache";
import { referenceId } from "./cache-lock";
import { ImportedImage, importFromGlance } from "./glance-import";
import { imageDiskType } from "./properties";

export interface ImageImportSpec {
  glanceImageId: string;
  /** Default: the host's accessible datastore with the most free space. */
  datastore?: string;
  folder: string;
  /** Default: from vmware_disktype, else thin. */
  diskType?: DiskType;
  /** The user's identity (a Pulumi URN): the reference id derives from it and `placement` (referenceId). */
  owner?: string;
  /** The inputs that place the copy (hashed into the reference id). */
  placement: Record<string, unknown>;
}

export interface ImportedCopy {
  /** The reference id this user holds in refs.json. */
  ref: string;
  datastore: string;
  /** "[ds] <folder>/<id>/<id>.vmdk" */
  datastorePath: string;
  info: ImportedImage;
  /** Glance's image properties (vmware_ostype, hw_vif_model, ...). */
  properties: Record<string, string>;
  imported: boolean;
}

export async function importImage(host: EsxHost, glance: GlanceClient, spec: ImageImportSpec, log: Logger): Promise<ImportedCopy> {
  const image = await glance.getImage(spec.glanceImageId);
  if (image.status !== "active") {
    throw new Error(`Glance image ${image.id} has status "${image.status}", not "active": only active images (with all their data uploaded) can be imported`);
  }
  const diskType = imageDiskType(spec.diskType, image.properties.vmware_disktype);
  const ds = pickDatastore(host.ctx, spec.datastore).name;
  const key: CacheKey = { datastore: ds, folder: spec.folder, id: spec.glanceImageId };
  const ref = referenceId(spec.owner, spec.placement);
  const placed = await placeImage(host, key, ref, spec.diskType, (target) => importFromGlance(host, glance, image, target, diskType, log), log);
  return {
    ref,
    datastore: ds,
    datastorePath: dsPath(ds, imageLocation(spec.folder, spec.glanceImageId).descriptor),
    info: placed.info,
    properties: image.properties,
    imported: placed.imported,
  };
}

/** Drops this user's reference; the last user removes the copy (see releaseImage). */
export function removeImportedImage(host: EsxHost, key: CacheKey, ref: string, log: Logger): Promise<void> {
  return releaseImage(host, key, ref, log);
}
