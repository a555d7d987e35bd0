/**
 * EsxImage: a Glance image as a base disk on an ESX datastore, at [ds] <folder>/<glance id>/<glance id>.vmdk,
 * that instances are cloned from. One copy per image, datastore and folder, shared by every EsxImage naming it
 * (see esx-image-lock.ts: a datastore lock directory and refs.json); the resource id is its reference id there,
 * derived from the URN the sdk passes (resourceUrn): the rerun of a create killed after refs.json was written
 * finds its own reference instead of adding an orphan (older resources have random ids; they work the same).
 *
 * Create: the image must be active; import it in one streamed, verified pass (esx-image-import.ts), or adopt
 * the finished copy another resource made (or wait for its import). Read: the descriptor and the -flat extent
 * with the recorded size. Every input change replaces. Delete: drop this reference; the last one removes the
 * disk and its folder, unless VMs still use the disk as a linked-clone parent (then refuse, naming them).
 *
 * With captureFrom instead of glanceImageId the resource captures a VM into a new Glance image
 * (esx-image-capture.ts); its id is that Glance image's id.
 */
import { checkWithSchema } from "../dynamic/check";
import { describe } from "../dynamic/errors";
import { currentSettings, host } from "../dynamic/runtime";
import { deleteDatastoreFile, dsPath, makeDirectory, pickDatastore } from "../esx/datastore";
import { deleteVirtualDisk, vmsUsingParentDisk } from "../esx/disk";
import { HostContext } from "../esx/host";
import { readSmallFile, statFile } from "../esx/transfer";
import { GlanceClient } from "../glance/client";
import { glanceClientFromSettings } from "../glance/connect";
import { parseDescriptor } from "../vmdk";
import { changedFields, jsonClean } from "./common";
import { ESX_IMAGE_REPLACE, EsxImageInputs, EsxImageOutputs, esxImageInputs, esxImageRules } from "./esx-image.schema";
import { createCapture, normalCapture, normalGlance, readCapture, removeCapture } from "./esx-image-capture";
import { importImage, ImportedImage } from "./esx-image-import";
import { addRef, referenceId, refIds, removeRef, withDatastoreLock } from "./esx-image-lock";
import { adapterTypeOf, AdapterType, diskTypeOf, DiskType, guestIdOf, nicTypeOf } from "./esx-image-props";
import { operationLogger } from "../log";

const KIND = "EsxImage";

export function check(_olds: Record<string, any>, news: Record<string, any>) {
  return checkWithSchema(esxImageInputs, news, esxImageRules);
}

/** Inputs whose absence means "whatever was chosen at create" (a default resolved then). */
const RESOLVED_DEFAULTS = new Set(["datastore", "diskType"]);

function normalise(f: string, v: any): any {
  if (f === "folder") return v ?? "images";
  if (f === "captureFrom") return normalCapture(v);
  if (f === "glance") return normalGlance(v);
  return v;
}

export function diff(_id: string, olds: Record<string, any>, news: Record<string, any>) {
  // A capture's glanceImageId is an output (the image it made), not an input to compare.
  const capture = !!(olds.captureFrom || news.captureFrom);
  const fields = ESX_IMAGE_REPLACE.filter((f) => !(capture && f === "glanceImageId" && (news.glanceImageId === undefined || news.glanceImageId === null)));
  const changed = changedFields(olds, news, fields, normalise).filter((f) => !(RESOLVED_DEFAULTS.has(f) && (news[f] === undefined || news[f] === null)));
  return { changes: changed.length > 0, replaces: changed, deleteBeforeReplace: false };
}

function parse(news: Record<string, any>): EsxImageInputs {
  const r = check({}, news);
  if (r.failures.length || !r.value) throw new Error(r.failures.map((f) => f.reason).join("; ") || "inputs are not known");
  return r.value;
}

export function glanceClient(): GlanceClient {
  // esx:glanceUrl + esx:glanceToken, or Keystone (esx:keystone*); timeout from esx:glanceTimeoutMs (provider/settings.ts).
  return glanceClientFromSettings(currentSettings());
}

/** Where a copy lives in its datastore. */
export function imageLocation(folder: string, glanceImageId: string) {
  const dir = `${folder}/${glanceImageId}`;
  return { dir, lock: `${dir}.lock`, descriptor: `${dir}/${glanceImageId}.vmdk`, flat: `${dir}/${glanceImageId}-flat.vmdk` };
}

/** The finished copy (descriptor present, -flat as large as the descriptor says), or undefined if there is none. */
async function readFinished(ctx: HostContext, ds: string, folder: string, id: string): Promise<ImportedImage | undefined> {
  const loc = imageLocation(folder, id);
  const text = await readSmallFile(ctx, { datastore: ds, path: loc.descriptor });
  if (text === undefined) return undefined;
  const d = parseDescriptor(text);
  const st = await statFile(ctx, { datastore: ds, path: loc.flat });
  if (!st || st.size !== d.capacityBytes) {
    throw new Error(
      `${dsPath(ds, loc.descriptor)} exists but its extent is ${st ? `${st.size} bytes, not ${d.capacityBytes}` : "missing"}: ` +
        `the copy is damaged; remove [${ds}] ${loc.dir} (after the VMs using it) and run again`,
    );
  }
  let meta: any = {};
  try {
    meta = JSON.parse((await readSmallFile(ctx, { datastore: ds, path: `${loc.dir}/image.json` })) ?? "{}");
  } catch {
    /* a copy without metadata: descriptor values only */
  }
  return {
    capacityBytes: d.capacityBytes,
    sourceFormat: typeof meta.sourceFormat === "string" ? meta.sourceFormat : "unknown",
    adapterType: adapterTypeOf(meta.adapterType, d.adapterType),
    diskType: (meta.diskType as DiskType) ?? (d.thinProvisioned ? "thin" : "thick"),
    checksum: typeof meta.checksum === "string" ? meta.checksum : "",
    sizeBytes: typeof meta.sizeBytes === "number" ? meta.sizeBytes : null,
  };
}

function outputs(
  inp: EsxImageInputs & { glanceImageId: string },
  ds: string,
  info: ImportedImage,
  props: Record<string, string>,
  imported: boolean,
): EsxImageOutputs {
  const loc = imageLocation(inp.folder, inp.glanceImageId);
  return jsonClean({
    host: inp.host ?? null,
    glanceImageId: inp.glanceImageId,
    datastore: ds,
    folder: inp.folder,
    diskType: info.diskType,
    datastorePath: dsPath(ds, loc.descriptor),
    capacityBytes: info.capacityBytes,
    sourceFormat: info.sourceFormat,
    adapterType: info.adapterType as AdapterType,
    guestId: guestIdOf(props.vmware_ostype),
    nicType: nicTypeOf(props.hw_vif_model),
    checksum: info.checksum,
    sizeBytes: info.sizeBytes,
    imported,
    captureFrom: null,
    glance: null,
    resourceUrn: inp.resourceUrn ?? null,
  });
}

export async function create(news: Record<string, any>) {
  const parsed = parse(news);
  if (parsed.captureFrom) return createCapture(parsed, glanceClient());
  const inp = { ...parsed, glanceImageId: parsed.glanceImageId! };
  const h = host(inp.host);
  const log = operationLogger(`${KIND} ${inp.glanceImageId}`, inp.resourceUrn);
  try {
    const glance = glanceClient();
    const image = await glance.getImage(inp.glanceImageId);
    if (image.status !== "active") {
      throw new Error(`Glance image ${image.id} has status "${image.status}", not "active": only active images (with all their data uploaded) can be imported`);
    }
    const diskType = diskTypeOf(inp.diskType, image.properties.vmware_disktype);
    const ctx = await h.ctx();
    const ds = pickDatastore(ctx, inp.datastore).name;
    const loc = imageLocation(inp.folder, inp.glanceImageId);
    await makeDirectory(ctx, dsPath(ds, inp.folder), true);
    const ref = referenceId(inp.resourceUrn, {
      host: inp.host,
      glanceImageId: inp.glanceImageId,
      datastore: inp.datastore,
      folder: inp.folder,
      diskType: inp.diskType,
    });
    const { info, imported } = await withDatastoreLock(
      ctx,
      ds,
      loc.lock,
      async () => {
        const existing = await readFinished(ctx, ds, inp.folder, inp.glanceImageId);
        if (existing) {
          if (inp.diskType && existing.diskType !== inp.diskType) {
            throw new Error(
              `the copy at ${dsPath(ds, loc.descriptor)} is ${existing.diskType}, not ${inp.diskType}: use diskType ${existing.diskType} or another folder`,
            );
          }
          if (await addRef(ctx, ds, loc.dir, ref)) log(`adopting the finished copy at ${dsPath(ds, loc.descriptor)}`);
          else log(`the finished copy at ${dsPath(ds, loc.descriptor)} already lists this resource (an interrupted create): using it`);
          return { info: existing, imported: false };
        }
        await deleteDatastoreFile(ctx, dsPath(ds, loc.dir)); // leftovers of an interrupted import
        await makeDirectory(ctx, dsPath(ds, loc.dir));
        try {
          const done = await importImage(ctx, glance, image, { datastore: ds, dir: loc.dir, base: inp.glanceImageId }, diskType, log);
          await addRef(ctx, ds, loc.dir, ref);
          return { info: done, imported: true };
        } catch (e) {
          await deleteDatastoreFile(ctx, dsPath(ds, loc.dir)).catch((d) =>
            log(`could not remove [${ds}] ${loc.dir} after the failure: ${(d as Error).message}`),
          );
          throw e;
        }
      },
      { log },
    );
    return { id: ref, outs: outputs(inp, ds, info, image.properties, imported) };
  } catch (e) {
    throw describe(KIND, inp.glanceImageId, h.display, e);
  }
}

export async function read(id: string, props: Record<string, any>) {
  if (props.captureFrom) return readCapture(id, props, glanceClient());
  const h = host(props.host);
  try {
    const ctx = await h.ctx();
    const loc = imageLocation(props.folder ?? "images", props.glanceImageId);
    const desc = await statFile(ctx, { datastore: props.datastore, path: loc.descriptor });
    const flat = await statFile(ctx, { datastore: props.datastore, path: loc.flat });
    if (!desc || !flat || flat.size !== props.capacityBytes) return { id: undefined, props: undefined };
    return { id, props: jsonClean({ ...props }) };
  } catch (e) {
    throw describe(KIND, String(props.glanceImageId ?? id), h.display, e);
  }
}

export async function update(_id: string, _olds: Record<string, any>, _news: Record<string, any>): Promise<{ outs: any }> {
  throw new Error("EsxImage has no in-place updates: every input change replaces it");
}

export async function remove(id: string, props: Record<string, any>) {
  if (props.captureFrom) return removeCapture(id, props, glanceClient());
  const h = host(props.host);
  const log = operationLogger(`${KIND} ${props.glanceImageId}`, props.resourceUrn ?? undefined);
  try {
    const ctx = await h.ctx();
    const ds: string = props.datastore;
    const folder: string = props.folder ?? "images";
    const loc = imageLocation(folder, props.glanceImageId);
    const path = dsPath(ds, loc.descriptor);
    await makeDirectory(ctx, dsPath(ds, folder), true);
    await withDatastoreLock(
      ctx,
      ds,
      loc.lock,
      async () => {
        const others = (await refIds(ctx, ds, loc.dir)).filter((r) => r !== id);
        if (others.length) {
          await removeRef(ctx, ds, loc.dir, id);
          log(`${others.length} other EsxImage resource(s) still use ${path}: the disk stays`);
          return;
        }
        const vms = await vmsUsingParentDisk(ctx, path);
        if (vms.length) {
          throw new Error(`${path} is the linked-clone parent of VM(s) ${vms.join(", ")}: nothing was removed; delete those VMs first`);
        }
        await deleteVirtualDisk(ctx, path);
        await deleteDatastoreFile(ctx, dsPath(ds, loc.dir));
      },
      { log },
    );
  } catch (e) {
    throw describe(KIND, String(props.glanceImageId ?? id), h.display, e);
  }
}
