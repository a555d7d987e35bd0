/**
 * Image capture: a VM's root disk captured into a new Glance image (the 2011 driver's snapshot, without its leak).
 * The result is the Glance image only; nothing stays on the datastore.
 *
 *   CreateSnapshot_Task (memory false, quiesce false: the VM keeps running on a new delta, the disk chain below
 *   it stops changing) -> the root disk as the snapshot has it -> CopyVirtualDisk_Task of that chain into one
 *   consolidated thin disk in [ds] <folder>/.capture-<tag>/ -> RemoveSnapshot_Task (consolidate) at once, so
 *   the VM runs on a snapshot only for the copy -> Glance createImage (vmdk/bare, vmware_* properties) ->
 *   /folder GET of the copy's flat extent -> flat-to-streamOptimized -> Glance upload (chunked, no temp file,
 *   constant memory), md5 of the bytes sent checked against Glance's checksum -> the temporary copy is removed.
 *
 * Any failure removes what was made (the half-made Glance image, the temporary copy, the snapshot) and names
 * the cause. A process killed half-way cannot clean up: snapshot, folder and Glance image carry a tag derived
 * from the owner (URN), and the rerun first removes what the killed one left (capture-leftovers.ts).
 */
import * as crypto from "node:crypto";
import { Readable } from "node:stream";
import { dsPath, parseDsPath } from "../../esx/datastore";
import { openDatastoreFile, readSmallFile, writeSmallFile } from "../../esx/transfer";
import { GlanceClient } from "../../glance/client";
import { GlanceError } from "../../glance/errors";
import { GlanceImage } from "../../glance/image";
import { ADAPTERS, adapterOfController, AdapterType, DEFAULT_ADAPTER } from "../../hardware";
import type { MoRef } from "../../vim/xml";
import { flatToStreamOptimized, parseDescriptor } from "../../vmdk";
import { HostDevices, IDE_CONTROLLER_KEY } from "../devices";
import { deleteDatastorePath, deleteVirtualDisk, makeDirectory, pickDatastore } from "../files";
import { EsxHost, Logger } from "../host";
import { removeSnapshot, snapshotDevices } from "../snapshots";
import { readVm, vmRef, VmState } from "../vm-state";
import { CAPTURE_TAG_PROPERTY, captureTag, glanceMarker, snapshotName, sweepCaptureLeftovers, tempFolder } from "./capture-leftovers";
import { withProgress } from "./progress";
import { imageGuestId, imageNicType } from "./properties";

/** The adapter type of the disk's controller (lsilogic when unknown; IDE by its fixed keys). */
function adapterOf(devices: HostDevices, controllerKey: number): AdapterType {
  const c = devices.controllers.find((x) => x.key === controllerKey);
  return (c && adapterOfController(c.vimType)) || (controllerKey === IDE_CONTROLLER_KEY || controllerKey === IDE_CONTROLLER_KEY + 1 ? "ide" : DEFAULT_ADAPTER);
}

export interface CaptureSpec {
  vmId: string;
  /** When given, the VM with vmId must have this name (a guard against a reused id). */
  vmName?: string;
  /** Where the temporary copy is made; default: the VM's datastore. */
  datastore?: string;
  folder: string;
  /** The user's identity (a Pulumi URN): the capture's tag derives from it, so a rerun finds what it left. */
  owner?: string;
  glance: { name: string; visibility: "private" | "shared" | "community" | "public"; properties?: Record<string, string> };
}

export interface CapturedImage {
  glanceImageId: string;
  /** The datastore the temporary copy was made on. */
  datastore: string;
  capacityBytes: number;
  /** vmware_adaptertype spelling. */
  adapterType: string;
  guestId: string;
  nicType: string;
  /** "<algo>:<hex>" Glance recorded. */
  checksum: string;
  sizeBytes: number | null;
}

/** "<algo>:<hex>" of what Glance recorded (os_hash_*, else md5 checksum). */
export function glanceChecksum(img: GlanceImage): string {
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
  snapshot?: MoRef<"VirtualMachineSnapshot">;
  tempDir?: string;
  tempDisk?: string;
  glanceId?: string;
}

/** Removes what a failed capture made; returns what could not be removed (for the error message). */
async function cleanUp(host: EsxHost, glance: GlanceClient, made: Made, log: Logger): Promise<string[]> {
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
  if (made.tempDisk) await attempt(`the temporary copy ${made.tempDisk}`, () => deleteVirtualDisk(host, made.tempDisk!));
  if (made.tempDir) await attempt(`the temporary folder ${made.tempDir}`, () => deleteDatastorePath(host, made.tempDir!));
  if (made.snapshot) await attempt(`the VM snapshot ${made.snapshot.value}`, () => removeSnapshot(host, made.snapshot!));
  return left;
}

async function findVm(host: EsxHost, c: { vmId: string; name?: string }): Promise<VmState> {
  const vm = await readVm(host.ctx, vmRef(c.vmId));
  const label = c.name ? `VM ${c.name} (${c.vmId})` : `VM ${c.vmId}`;
  if (!vm) throw new Error(`${label} does not exist on the host: nothing to capture`);
  if (c.name && vm.name !== c.name) throw new Error(`${label}: the VM with id ${c.vmId} is named ${vm.name}, not ${c.name} (was it replaced?)`);
  if (!vm.devices.disks.length) throw new Error(`${label} has no disk to capture`);
  return vm;
}

export async function captureImage(host: EsxHost, glance: GlanceClient, spec: CaptureSpec, log: Logger): Promise<CapturedImage> {
  const g = spec.glance;
  const made: Made = {};
  const ctx = host.ctx;
  try {
    const c = { vmId: spec.vmId, name: spec.vmName };
    let vm = await findVm(host, c);
    const ds = pickDatastore(ctx, spec.datastore ?? parseDsPath(vm.devices.disks[0].fileName)?.datastore).name;
    const tag = captureTag(spec.owner);
    if (spec.owner && (await sweepCaptureLeftovers(host, glance, { vm: vm.ref, datastore: ds, folder: spec.folder, tag }, log)).length) {
      vm = await findVm(host, c); // the leftover snapshot is gone: the disk is the VM's own again
    }
    const root = vm.devices.disks[0];
    const controllerKey = Number(root.raw.controllerKey ?? -1);
    const adapter = adapterOf(vm.devices, controllerKey);
    const adapterType = ADAPTERS[adapter].glance;

    log(`snapshotting ${vm.name} (memory off, not quiesced)`);
    made.snapshot = await (
      await host.vm(vm.ref).createSnapshot(snapshotName(tag), "pulumi-esx EsxImage capture; removed when the copy is made", false, false)
    ).wait();
    const snapDevices = await snapshotDevices(host, made.snapshot);
    const disk = snapDevices?.disks.find((d) => d.key === root.key) ?? root;
    const source = disk.fileName;

    made.tempDir = dsPath(ds, tempFolder(spec.folder, tag));
    await makeDirectory(host, made.tempDir, true);
    const tempRel = `${tempFolder(spec.folder, tag)}/disk.vmdk`;
    log(`copying the disk chain of ${source} into one disk at ${dsPath(ds, tempRel)}`);
    made.tempDisk = dsPath(ds, tempRel);
    await (
      await host.virtualDiskManager.copyVirtualDisk(source, made.tempDisk, host.placement.datacenter, {
        _type: "VirtualDiskSpec",
        diskType: "thin",
        adapterType: ADAPTERS[adapter].virtualDisk,
      })
    ).wait();
    log("copy made; removing the snapshot (consolidating)");
    await removeSnapshot(host, made.snapshot);
    made.snapshot = undefined;

    const descText = await readSmallFile(ctx, { datastore: ds, path: tempRel });
    if (descText === undefined) throw new Error(`the copy ${made.tempDisk} has no descriptor after CopyVirtualDisk_Task`);
    const desc = parseDescriptor(descText);
    const extents = desc.extents;
    if (extents.length !== 1 || !extents[0].fileName || !/^(VMFS|FLAT)$/.test(extents[0].type)) {
      throw new Error(`the copy ${made.tempDisk} is not one flat extent (${extents.map((e) => `${e.type} ${e.fileName ?? ""}`).join(", ")})`);
    }
    const capacityBytes = desc.capacityBytes;
    const extentRel = `${tempFolder(spec.folder, tag)}/${extents[0].fileName}`;

    const nic = vm.devices.nics[0];
    const properties: Record<string, string> = {
      vmware_adaptertype: adapterType,
      vmware_ostype: imageGuestId(vm.guestId ?? undefined),
      vmware_disktype: "streamOptimized",
      ...(nic ? { hw_vif_model: imageNicType(nic.nicType ?? nic.vimType) } : {}),
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
    await writeSmallFile(ctx, { datastore: ds, path: glanceMarker(spec.folder, tag) }, image.id);
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

    await deleteVirtualDisk(host, made.tempDisk);
    made.tempDisk = undefined;
    await deleteDatastorePath(host, made.tempDir);
    made.tempDir = undefined;

    return {
      glanceImageId: image.id,
      datastore: ds,
      capacityBytes,
      adapterType,
      guestId: properties.vmware_ostype,
      nicType: imageNicType(properties.hw_vif_model),
      checksum: glanceChecksum(done),
      sizeBytes: done.size,
    };
  } catch (e) {
    const left = await cleanUp(host, glance, made, log);
    const err = e instanceof Error ? e : new Error(String(e));
    if (left.length) err.message += `; cleanup left behind: ${left.join("; ")}`;
    throw err;
  }
}

/** A captured image as Glance has it now (size and checksum); undefined when it is gone or no longer active. */
export async function readCapturedImage(glance: GlanceClient, glanceImageId: string): Promise<{ sizeBytes: number | null; checksum: string } | undefined> {
  try {
    const img = await glance.getImage(glanceImageId);
    if (img.status !== "active") return undefined;
    return { sizeBytes: img.size, checksum: glanceChecksum(img) };
  } catch (e) {
    if (e instanceof GlanceError && e.status === 404) return undefined;
    throw e;
  }
}

/** Deletes a captured image from Glance (a capture leaves nothing else behind). */
export function removeCapturedImage(glance: GlanceClient, glanceImageId: string): Promise<void> {
  return glance.deleteImage(glanceImageId);
}
