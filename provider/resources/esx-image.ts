/**
 * EsxImage: a Glance image as a base disk in the host's image cache (driver/image/import.ts), or, with
 * captureFrom, a VM captured into a new Glance image (driver/image/capture.ts). check (zod), diff (the field
 * table: every input replaces), one driver call, outputs.
 *
 * The import's resource id is its reference id in the cache's refs.json, derived from the URN the sdk passes
 * (resourceUrn), so the rerun of a create killed after refs.json was written finds its own reference (older
 * resources have random ids; they work the same). A capture's id is the Glance image's id.
 */
import { checkWithSchema, CheckOutcome } from "../dynamic/check";
import { resourceError } from "../dynamic/errors";
import { glanceClient, hostHandle } from "../dynamic/runtime";
import { copyIsPresent } from "../driver/image/cache";
import { captureImage, readCapturedImage, removeCapturedImage } from "../driver/image/capture";
import { importImage, removeImportedImage } from "../driver/image/import";
import { imageGuestId, imageNicType } from "../driver/image/properties";
import { operationLogger } from "../log";
import { jsonClean, parseInputs, ResourceProps } from "./common";
import { diffByTable } from "./fields";
import { ESX_IMAGE_FIELDS, EsxImageInputs, EsxImageOutputs, esxImageInputs, esxImageRules, normalCapture, normalGlance } from "./esx-image.schema";

const KIND = "EsxImage";

export function check(_olds: ResourceProps, news: ResourceProps): CheckOutcome<EsxImageInputs> {
  return checkWithSchema(esxImageInputs, news, esxImageRules);
}

export function diff(_id: string, olds: ResourceProps, news: ResourceProps) {
  const { changes, replaces } = diffByTable(ESX_IMAGE_FIELDS, olds, news);
  return { changes, replaces, deleteBeforeReplace: false };
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

async function createImport(inputs: EsxImageInputs & { glanceImageId: string }) {
  const target = hostHandle(inputs.host);
  const log = operationLogger(`${KIND} ${inputs.glanceImageId}`, inputs.resourceUrn);
  try {
    const copy = await importImage(
      await target.host(),
      glanceClient(),
      {
        glanceImageId: inputs.glanceImageId,
        datastore: inputs.datastore,
        folder: inputs.folder,
        diskType: inputs.diskType,
        owner: inputs.resourceUrn,
        placement: { host: inputs.host, glanceImageId: inputs.glanceImageId, datastore: inputs.datastore, folder: inputs.folder, diskType: inputs.diskType },
      },
      log,
    );
    const outs = jsonClean<EsxImageOutputs>({
      host: inputs.host ?? null,
      glanceImageId: inputs.glanceImageId,
      datastore: copy.datastore,
      folder: inputs.folder,
      diskType: copy.info.diskType,
      datastorePath: copy.datastorePath,
      capacityBytes: copy.info.capacityBytes,
      sourceFormat: copy.info.sourceFormat,
      adapterType: copy.info.adapterType,
      guestId: imageGuestId(copy.properties.vmware_ostype),
      nicType: imageNicType(copy.properties.hw_vif_model),
      checksum: copy.info.checksum,
      sizeBytes: copy.info.sizeBytes,
      imported: copy.imported,
      captureFrom: null,
      glance: null,
      resourceUrn: inputs.resourceUrn ?? null,
    });
    return { id: copy.ref, outs };
  } catch (e) {
    throw resourceError(KIND, inputs.glanceImageId, target.display, e);
  }
}

async function createCapture(inputs: EsxImageInputs) {
  const source = inputs.captureFrom!;
  const glanceSpec = inputs.glance!;
  const target = hostHandle(inputs.host ?? source.host ?? undefined);
  const label = source.name ?? source.vmId;
  const log = operationLogger(`${KIND} capture of ${label}`, inputs.resourceUrn);
  try {
    const glance = glanceClient();
    const captured = await captureImage(
      await target.host(),
      glance,
      { vmId: source.vmId, vmName: source.name, datastore: inputs.datastore, folder: inputs.folder, owner: inputs.resourceUrn, glance: glanceSpec },
      log,
    );
    const outs = jsonClean<EsxImageOutputs>({
      host: inputs.host ?? source.host ?? null,
      glanceImageId: captured.glanceImageId,
      datastore: captured.datastore,
      folder: inputs.folder,
      diskType: null,
      datastorePath: null,
      capacityBytes: captured.capacityBytes,
      sourceFormat: "streamOptimized",
      adapterType: captured.adapterType,
      guestId: captured.guestId,
      nicType: captured.nicType,
      checksum: captured.checksum,
      sizeBytes: captured.sizeBytes,
      imported: false,
      captureFrom: normalCapture(source) as EsxImageOutputs["captureFrom"],
      glance: normalGlance(glanceSpec) as EsxImageOutputs["glance"],
      resourceUrn: inputs.resourceUrn ?? null,
    });
    return { id: captured.glanceImageId, outs };
  } catch (e) {
    throw resourceError(KIND, `${glanceSpec.name} (capture of ${label})`, target.display, e);
  }
}

export async function create(news: ResourceProps) {
  const inputs = parseInputs(check({}, news));
  if (inputs.captureFrom) return createCapture(inputs);
  return createImport({ ...inputs, glanceImageId: inputs.glanceImageId! });
}

/** A capture's name in messages: the Glance image it made. */
function captureLabel(id: string, props: ResourceProps): string {
  const glance = props.glance as { name?: string } | null | undefined;
  return `${glance?.name ?? id} (Glance image ${str(props.glanceImageId) ?? id})`;
}

export async function read(id: string, props: ResourceProps) {
  if (props.captureFrom) {
    try {
      const img = await readCapturedImage(glanceClient(), str(props.glanceImageId) ?? id);
      if (!img) return { id: undefined, props: undefined };
      return { id, props: jsonClean({ ...props, ...img }) };
    } catch (e) {
      throw resourceError(KIND, captureLabel(id, props), undefined, e);
    }
  }
  const target = hostHandle(str(props.host));
  try {
    const key = { datastore: String(props.datastore), folder: str(props.folder) ?? "images", id: String(props.glanceImageId) };
    if (!(await copyIsPresent(await target.host(), key, Number(props.capacityBytes)))) return { id: undefined, props: undefined };
    return { id, props: jsonClean({ ...props }) };
  } catch (e) {
    throw resourceError(KIND, String(props.glanceImageId ?? id), target.display, e);
  }
}

export async function update(): Promise<{ outs: EsxImageOutputs }> {
  throw new Error("EsxImage has no in-place updates: every input change replaces it");
}

export async function remove(id: string, props: ResourceProps) {
  if (props.captureFrom) {
    try {
      await removeCapturedImage(glanceClient(), str(props.glanceImageId) ?? id);
    } catch (e) {
      throw resourceError(KIND, captureLabel(id, props), undefined, e);
    }
    return;
  }
  const target = hostHandle(str(props.host));
  const log = operationLogger(`${KIND} ${props.glanceImageId}`, str(props.resourceUrn));
  try {
    const key = { datastore: String(props.datastore), folder: str(props.folder) ?? "images", id: String(props.glanceImageId) };
    await removeImportedImage(await target.host(), key, id, log);
  } catch (e) {
    throw resourceError(KIND, String(props.glanceImageId ?? id), target.display, e);
  }
}
