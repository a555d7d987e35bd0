/**
 * What a capture killed half-way (plugin SIGKILLed, host gone) leaves behind, and how the rerun of the same
 * create finds it: everything a capture makes carries its tag, a short hash of the resource's URN (random when
 * the sdk passed no URN, so nothing can be found again):
 *
 * - the VM snapshot `pulumi-esx-capture-<tag>`, found by name among the VM's snapshots;
 * - the temporary folder `[ds] <folder>/.capture-<tag>/` (consolidated copy disk.vmdk, and `glance-image`, the id
 *   of the Glance image being made, written right after it was created);
 * - the Glance image, carrying the property pulumi_esx_capture=<tag>.
 *
 * The sweep removes the snapshot, the Glance image named in the temporary folder (whatever its status: the
 * folder exists only until the capture finished), Glance images with the tag that are not active (an upload that
 * never finished), then the folder. Active images with the tag but not named in a folder are left alone: they
 * are finished captures of this URN (the resource being replaced keeps its image until it is deleted).
 */
import * as crypto from "node:crypto";
import { dsPath } from "../../esx/datastore";
import { readSmallFile } from "../../esx/transfer";
import { GlanceClient } from "../../glance/client";
import type { MoRef } from "../../vim/xml";
import { deleteDatastorePath, deleteVirtualDisk } from "../files";
import { EsxHost, Logger } from "../host";
import { removeSnapshot, vmSnapshots } from "../snapshots";

/** Image property a capture marks its Glance image with: a hash of the resource's URN (finds what a killed create left). */
export const CAPTURE_TAG_PROPERTY = "pulumi_esx_capture";

/** Glance statuses of an image whose data never (fully) arrived. */
const UNFINISHED = new Set(["queued", "saving", "uploading", "importing", "killed"]);

/** The capture's tag: 16 hex digits of sha256(URN); random without a URN. */
export function captureTag(urn: string | undefined): string {
  if (!urn) return crypto.randomUUID();
  return crypto.createHash("sha256").update(urn).digest("hex").slice(0, 16);
}

export const snapshotName = (tag: string) => `pulumi-esx-capture-${tag}`;
/** The temporary folder, relative to the datastore. */
export const tempFolder = (folder: string, tag: string) => `${folder}/.capture-${tag}`;
/** The file in the temporary folder naming the Glance image being made. */
export const glanceMarker = (folder: string, tag: string) => `${tempFolder(folder, tag)}/glance-image`;

/** Removes what an earlier, interrupted capture with this tag left; returns what it removed (for the log). */
export async function sweepCaptureLeftovers(
  host: EsxHost,
  glance: GlanceClient,
  o: { vm: MoRef<"VirtualMachine">; datastore: string; folder: string; tag: string },
  log: Logger,
): Promise<string[]> {
  const ctx = host.ctx;
  const removed: string[] = [];
  for (const s of (await vmSnapshots(ctx, o.vm)).filter((x) => x.name === snapshotName(o.tag))) {
    log(`removing the snapshot ${s.name} an interrupted capture left`);
    await removeSnapshot(host, s.ref);
    removed.push(`snapshot ${s.name}`);
  }
  const dir = tempFolder(o.folder, o.tag);
  const marked = (await readSmallFile(ctx, { datastore: o.datastore, path: glanceMarker(o.folder, o.tag) }))?.trim();
  const doomed = new Set<string>(marked ? [marked] : []);
  for (const img of await glance.listImages({ [CAPTURE_TAG_PROPERTY]: o.tag })) {
    if (img.properties[CAPTURE_TAG_PROPERTY] === o.tag && UNFINISHED.has(img.status)) doomed.add(img.id);
  }
  for (const id of doomed) {
    log(`deleting Glance image ${id} an interrupted capture left`);
    await glance.deleteImage(id);
    removed.push(`Glance image ${id}`);
  }
  if (marked !== undefined || (await readSmallFile(ctx, { datastore: o.datastore, path: `${dir}/disk.vmdk` })) !== undefined) {
    log(`removing the temporary folder ${dsPath(o.datastore, dir)} an interrupted capture left`);
    removed.push(`folder ${dsPath(o.datastore, dir)}`);
  }
  // Always (cheap, and a folder with no disk yet is found only this way); both calls accept what is not there.
  await deleteVirtualDisk(host, dsPath(o.datastore, `${dir}/disk.vmdk`));
  await deleteDatastorePath(host, dsPath(o.datastore, dir));
  return removed;
}
