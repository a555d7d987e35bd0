/**
 * EsxImage with captureFrom: a VM's root disk captured into a new Glance image (the 2011 driver's snapshot,
 * without its leak). The result is the Glance image only; nothing stays on the datastore (to clone VMs from
 * it, place it with another EsxImage, glanceImageId: <capture>.glanceImageId).
 *
 *   CreateSnapshot_Task (memory false, quiesce false: the VM keeps running on a new delta, the disk chain below
 *   it stops changing) -> the root disk as the snapshot has it -> CopyVirtualDisk_Task of that chain into one
 *   consolidated thin disk in [ds] <folder>/.capture-<tag>/ -> RemoveSnapshot_Task (consolidate) at once, so
 *   the VM runs on a snapshot only for the copy -> Glance createImage (vmdk/bare, vmware_* properties) ->
 *   /folder GET of the copy's flat extent -> flat-to-streamOptimized -> Glance upload (chunked, no temp file,
 *   constant memory), md5 of the bytes sent checked against Glance's checksum -> the temporary copy is removed.
 *
 * Any failure removes what was made (the half-made Glance image, the temporary copy, the snapshot) and names
 * the cause. A plugin killed half-way cannot clean up: snapshot, folder and Glance image carry a tag derived
 * from the URN, and the rerun of the create first removes what the killed one left (esx-image-capture-leftovers.ts).
 * Read: the Glance image, active, else gone. Delete: deletes the Glance image.
 */
import * as crypto from "node:crypto";
import { Readable } from "node:stream";
import { describe } from "../dynamic/errors";
import { host } from "../dynamic/runtime";
import { deleteDatastoreFile, dsPath, makeDirectory, parseDsPath, pickDatastore } from "../esx/datastore";
import { copyVirtualDisk, deleteVirtualDisk, openDatastoreFile } from "../esx/disk";
import { HostDevices } from "../esx/devices";
import { HostContext } from "../esx/host";
import { createSnapshot, removeSnapshot, snapshotDevices } from "../esx/snapshot";
import { readSmallFile, writeSmallFile } from "../esx/transfer";
import { readVm, vmRef, VmState } from "../esx/vm";
import { GlanceClient } from "../glance/client";
import { GlanceError } from "../glance/errors";
import { GlanceImage } from "../glance/image";
import { MoRef } from "../vim/xml";
import { flatToStreamOptimized, parseDescriptor } from "../vmdk";
import { operationLogger } from "../log";
import { jsonClean } from "./common";
import { CAPTURE_TAG_PROPERTY, EsxImageInputs, EsxImageOutputs } from "./esx-image.schema";
import { captureTag, glanceMarker, snapshotName, sweepCaptureLeftovers, tempFolder } from "./esx-image-capture-leftovers";
import { withProgress } from "./esx-image-import";
import { AdapterType, guestIdOf, nicTypeOf } from "./esx-image-props";

const KIND = "EsxImage";

const CONTROLLER_ADAPTER: Record<string, AdapterType> = {
  VirtualLsiLogicController: "lsiLogic",
  VirtualBusLogicController: "busLogic",
  VirtualLsiLogicSASController: "lsiLogicsas",
  ParaVirtualSCSIController: "paraVirtual",
  VirtualIDEController: "ide",
};

/** vmware_adaptertype of the disk's controller (lsiLogic when unknown). */
function adapterOf(devices: HostDevices, controllerKey: number): AdapterType {
  const c = devices.controllers.find((x) => x.key === controllerKey);
  return (c && CONTROLLER_ADAPTER[c.vimType]) || (controllerKey === 200 || controllerKey === 201 ? "ide" : "lsiLogic");
}

/** What the resource records: the capture inputs, normalised (also used by diff). */
export function normalCapture(c: any): Record<string, any> | null {
  if (!c || typeof c !== "object") return null;
  return { vmId: c.vmId ?? null, name: c.name ?? null, vmxPath: c.vmxPath ?? null, host: c.host ?? null };
}

export function normalGlance(g: any): Record<string, any> | null {
  if (!g || typeof g !== "object") return null;
  const props =
    g.properties && Object.keys(g.properties).length ? Object.fromEntries(Object.entries(g.properties).sort(([a], [b]) => a.localeCompare(b))) : null;
  return { name: g.name ?? null, visibility: g.visibility ?? "private", properties: props };
}

/** "<algo>:<hex>" of what Glance recorded (os_hash_*, else md5 checksum). */
function glanceChecksum(img: GlanceImage): string {
  if (img.os_hash_algo && img.os_hash_value) return `${img.os_hash_algo}:${img.os_hash_value}`;
  return img.checksum ? `md5:${img.checksum}` : "";
}

/** Passes bytes through, hashing them (md5, to compare with Glance's checksum) and counting them. */
function hashing(src: AsyncIterable<Buffer>, sink: { md5: crypto.Hash; bytes: number }): Readable {
  async function* run(): AsyncGenerator<Buffer> {
    for await (const c of src) {
      sink.md5.update(c);
      sink.bytes += c.length;
      yield c;
    }
  }
  return Readable.from(run(), { objectMode: false, highWaterMark: 1024 * 1024 });
}

interface Made {
  snapshot?: MoRef;
  tempDir?: string;
  tempDisk?: string;
  glanceId?: string;
}

/** Removes what a failed capture made; returns what could not be removed (for the error message). */
async function cleanUp(ctx: HostContext | undefined, glance: GlanceClient, made: Made, log: (m: string) => void): Promise<string[]> {
  const left: string[] = [];
  const attempt = async (what: string, f: () => Promise<void>) => {
    try {
      await f();
    } catch (e) {
      log(`could not remove ${what}: ${(e as Error).message}`);
      left.push(`${what} (${(e as Error).message})`);
    }
  };
  if (made.glanceId) await attempt(`Glance image ${made.glanceId}`, () => glance.deleteImage(made.glanceId!));
  if (ctx && made.tempDisk) await attempt(`the temporary copy ${made.tempDisk}`, () => deleteVirtualDisk(ctx, made.tempDisk!));
  if (ctx && made.tempDir) await attempt(`the temporary folder ${made.tempDir}`, () => deleteDatastoreFile(ctx, made.tempDir!));
  if (ctx && made.snapshot) await attempt(`the VM snapshot ${made.snapshot.value}`, () => removeSnapshot(ctx, made.snapshot!));
  return left;
}

async function findVm(ctx: HostContext, c: { vmId: string; name?: string }): Promise<VmState> {
  const vm = await readVm(ctx, vmRef(c.vmId));
  const label = c.name ? `VM ${c.name} (${c.vmId})` : `VM ${c.vmId}`;
  if (!vm) throw new Error(`${label} does not exist on the host: nothing to capture`);
  if (c.name && vm.name !== c.name) throw new Error(`${label}: the VM with id ${c.vmId} is named ${vm.name}, not ${c.name} (was it replaced?)`);
  if (!vm.devices.disks.length) throw new Error(`${label} has no disk to capture`);
  return vm;
}

export async function createCapture(inp: EsxImageInputs, glance: GlanceClient): Promise<{ id: string; outs: EsxImageOutputs }> {
  const c = inp.captureFrom!;
  const g = inp.glance!;
  const h = host(inp.host ?? c.host ?? undefined);
  const label = c.name ?? c.vmId;
  const log = operationLogger(`${KIND} capture of ${label}`, inp.resourceUrn);
  const made: Made = {};
  let ctx: HostContext | undefined;
  try {
    ctx = await h.ctx();
    let vm = await findVm(ctx, c);
    const ds = pickDatastore(ctx, inp.datastore ?? parseDsPath(vm.devices.disks[0].fileName)?.datastore).name;
    const tag = captureTag(inp.resourceUrn);
    if (inp.resourceUrn && (await sweepCaptureLeftovers(ctx, glance, { vm: vm.ref, datastore: ds, folder: inp.folder, tag }, log)).length) {
      vm = await findVm(ctx, c); // the leftover snapshot is gone: the disk is the VM's own again
    }
    const root = vm.devices.disks[0];
    const controllerKey = Number(root.raw?.controllerKey ?? -1);
    const adapterType = adapterOf(vm.devices, controllerKey);

    log(`snapshotting ${vm.name} (memory off, not quiesced)`);
    made.snapshot = await createSnapshot(ctx, vm.ref, snapshotName(tag), "pulumi-esx EsxImage capture; removed when the copy is made");
    const snapDevices = await snapshotDevices(ctx, made.snapshot);
    const disk = snapDevices?.disks.find((d) => d.key === root.key) ?? root;
    const source = disk.fileName;

    made.tempDir = dsPath(ds, tempFolder(inp.folder, tag));
    await makeDirectory(ctx, made.tempDir, true);
    const tempRel = `${tempFolder(inp.folder, tag)}/disk.vmdk`;
    log(`copying the disk chain of ${source} into one disk at ${dsPath(ds, tempRel)}`);
    made.tempDisk = dsPath(ds, tempRel);
    await copyVirtualDisk(ctx, source, made.tempDisk, adapterType === "ide" ? "ide" : adapterType === "busLogic" ? "busLogic" : "lsiLogic");
    log("copy made; removing the snapshot (consolidating)");
    await removeSnapshot(ctx, made.snapshot);
    made.snapshot = undefined;

    const descText = await readSmallFile(ctx, { datastore: ds, path: tempRel });
    if (descText === undefined) throw new Error(`the copy ${made.tempDisk} has no descriptor after CopyVirtualDisk_Task`);
    const desc = parseDescriptor(descText);
    const extents = desc.extents;
    if (extents.length !== 1 || !extents[0].fileName || !/^(VMFS|FLAT)$/.test(extents[0].type)) {
      throw new Error(`the copy ${made.tempDisk} is not one flat extent (${extents.map((e) => `${e.type} ${e.fileName ?? ""}`).join(", ")})`);
    }
    const capacityBytes = desc.capacityBytes;
    const extentRel = `${tempFolder(inp.folder, tag)}/${extents[0].fileName}`;

    const properties: Record<string, string> = {
      vmware_adaptertype: adapterType,
      vmware_ostype: guestIdOf(vm.guestId ?? undefined),
      vmware_disktype: "streamOptimized",
      ...(vm.devices.nics[0] ? { hw_vif_model: nicTypeOf(vm.devices.nics[0].nicType ?? vm.devices.nics[0].vimType) } : {}),
      ...(g.properties ?? {}),
    };
    const image = await glance.createImage({
      name: g.name,
      disk_format: "vmdk",
      container_format: "bare",
      visibility: g.visibility,
      properties: { ...properties, [CAPTURE_TAG_PROPERTY]: tag },
    });
    made.glanceId = image.id;
    // Until the temporary folder is removed (the capture's last step) it names the image being made.
    await writeSmallFile(ctx, { datastore: ds, path: glanceMarker(inp.folder, tag) }, image.id);
    log(`streaming ${(capacityBytes / 1048576).toFixed(1)} MiB as a streamOptimized VMDK into Glance image ${image.id} (${g.name})`);

    const file = await openDatastoreFile(ctx, { datastore: ds, path: extentRel });
    if (file.size !== capacityBytes) {
      file.stream.destroy();
      throw new Error(`the copy's extent ${dsPath(ds, extentRel)} is ${file.size} bytes, its descriptor says ${capacityBytes}`);
    }
    const sent = { md5: crypto.createHash("md5"), bytes: 0 };
    const vmdk = flatToStreamOptimized(withProgress(file.stream, capacityBytes, log), {
      capacityBytes,
      adapterType,
      fileName: `${g.name.replace(/[^A-Za-z0-9_.-]/g, "_")}.vmdk`,
    });
    const body = hashing(vmdk, sent);
    try {
      await glance.uploadData(image.id, body);
    } finally {
      file.stream.destroy();
    }
    const md5 = sent.md5.digest("hex");
    const done = await glance.getImage(image.id);
    if (done.status !== "active") throw new Error(`Glance image ${image.id} is "${done.status}" after the upload, not "active"`);
    if (done.checksum && done.checksum !== md5) {
      throw new Error(`checksum mismatch: Glance recorded md5 ${done.checksum} for image ${image.id}, but the ${sent.bytes} bytes sent hash to ${md5}`);
    }
    if (done.size !== null && done.size !== sent.bytes) throw new Error(`Glance recorded ${done.size} bytes for image ${image.id}, ${sent.bytes} were sent`);
    log(`Glance image ${image.id} is active (${sent.bytes} bytes, md5 ${md5}); removing the temporary copy`);

    await deleteVirtualDisk(ctx, made.tempDisk);
    made.tempDisk = undefined;
    await deleteDatastoreFile(ctx, made.tempDir);
    made.tempDir = undefined;

    const outs = jsonClean<EsxImageOutputs>({
      host: inp.host ?? c.host ?? null,
      glanceImageId: image.id,
      datastore: ds,
      folder: inp.folder,
      diskType: null,
      datastorePath: null,
      capacityBytes,
      sourceFormat: "streamOptimized",
      adapterType,
      guestId: properties.vmware_ostype,
      nicType: nicTypeOf(properties.hw_vif_model),
      checksum: glanceChecksum(done),
      sizeBytes: done.size,
      imported: false,
      captureFrom: normalCapture(c) as any,
      glance: normalGlance(g) as any,
      resourceUrn: inp.resourceUrn ?? null,
    });
    return { id: image.id, outs };
  } catch (e) {
    const left = await cleanUp(ctx, glance, made, log);
    const err = e instanceof Error ? e : new Error(String(e));
    if (left.length) err.message += `; cleanup left behind: ${left.join("; ")}`;
    throw describe(KIND, `${g.name} (capture of ${label})`, h.display, err);
  }
}

export async function readCapture(id: string, props: Record<string, any>, glance: GlanceClient) {
  try {
    const img = await glance.getImage(props.glanceImageId ?? id);
    if (img.status !== "active") return { id: undefined, props: undefined };
    return { id, props: jsonClean({ ...props, sizeBytes: img.size, checksum: glanceChecksum(img) }) };
  } catch (e) {
    if (e instanceof GlanceError && e.status === 404) return { id: undefined, props: undefined };
    throw describe(KIND, `${props.glance?.name ?? id} (Glance image ${props.glanceImageId ?? id})`, undefined, e);
  }
}

export async function removeCapture(id: string, props: Record<string, any>, glance: GlanceClient) {
  try {
    await glance.deleteImage(props.glanceImageId ?? id);
  } catch (e) {
    throw describe(KIND, `${props.glance?.name ?? id} (Glance image ${props.glanceImageId ?? id})`, undefined, e);
  }
}
