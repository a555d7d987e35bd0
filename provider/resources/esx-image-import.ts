/**
 * The import of a Glance image onto a datastore, in one pass and constant memory:
 *
 *   Glance GET /file -> hash (Glance's os_hash_algo/os_hash_value, else md5 checksum) -> format conversion to a
 *   flat extent (openFlatImage) -> progress -> HTTP PUT <dir>/<id>-flat.vmdk (Content-Length = capacity)
 *
 * then, once every byte Glance sent has been hashed and matched, `image.json` and finally the descriptor
 * `<dir>/<id>.vmdk` (its presence marks a finished copy). On any failure the caller removes the directory.
 */
import { Readable } from "node:stream";
import { GlanceClient } from "../glance/client";
import { GlanceImage } from "../glance/image";
import { expectedHash, HashingSource, HashMismatchError } from "../glance/verify";
import { HostContext } from "../esx/host";
import { uploadStream, writeSmallFile } from "../esx/transfer";
import { ImageFormatError, openFlatImage, renderDescriptor, UnsupportedImageError } from "../vmdk";
import { adapterTypeOf, AdapterType, DiskType } from "./esx-image-props";

export interface ImportTarget {
  datastore: string;
  /** Directory in the datastore, "<folder>/<id>". */
  dir: string;
  /** File base name, "<id>" (-> <id>.vmdk, <id>-flat.vmdk). */
  base: string;
}

export interface ImportedImage {
  capacityBytes: number;
  sourceFormat: string;
  adapterType: AdapterType;
  diskType: DiskType;
  /** "<algo>:<hex>" */
  checksum: string;
  sizeBytes: number | null;
}

const MB = 1e6;
const MiB = 1024 * 1024;

/** Passes the flat stream through, logging percentage and rate every 10% or 5 s, whichever comes first. */
export function withProgress(src: Readable, total: number, log: (m: string) => void): Readable {
  async function* run(): AsyncGenerator<Buffer> {
    const started = Date.now();
    let done = 0;
    let lastAt = started;
    let lastDecile = 0;
    for await (const chunk of src) {
      done += chunk.length;
      yield chunk;
      const now = Date.now();
      const decile = Math.floor((done * 10) / total);
      if (decile > lastDecile || now - lastAt >= 5000) {
        lastDecile = decile;
        lastAt = now;
        const rate = done / MB / Math.max(0.001, (now - started) / 1000);
        log(`${Math.floor((done * 100) / total)}% (${(done / MiB).toFixed(1)} of ${(total / MiB).toFixed(1)} MiB) at ${rate.toFixed(1)} MB/s`);
      }
    }
  }
  return Readable.from(run(), { objectMode: false, highWaterMark: MiB });
}

export async function importImage(
  ctx: HostContext,
  glance: GlanceClient,
  image: GlanceImage,
  target: ImportTarget,
  diskType: DiskType,
  log: (m: string) => void,
): Promise<ImportedImage> {
  const data = await glance.openData(image.id, image);
  const img = data.image;
  const want = expectedHash(img);
  if (!want) {
    data.stream.destroy();
    throw new Error(`Glance image ${img.id} has no checksum (neither os_hash_value nor checksum): its data cannot be verified`);
  }
  const src = new HashingSource(data.stream, want.algo, want.value, `the data of image ${img.id}`);
  const diskFormat = img.disk_format ?? "raw";
  let flat;
  try {
    flat = await openFlatImage(src, { diskFormat, sizeBytes: img.size ?? undefined });
  } catch (e) {
    src.abort();
    if (e instanceof UnsupportedImageError) {
      throw new Error(`Glance image ${img.id} (disk_format ${diskFormat}) is in ${e.format} format, which cannot be imported: ${e.message}`, { cause: e });
    }
    throw e;
  }
  const adapterType = adapterTypeOf(img.properties.vmware_adaptertype, flat.adapterType);
  log(
    `importing Glance image ${img.id} (${flat.format.kind}, ${((img.size ?? 0) / MiB).toFixed(1)} MiB) as a ${(flat.capacityBytes / MiB).toFixed(1)} MiB disk to [${target.datastore}] ${target.dir}`,
  );
  const flatPath = `${target.dir}/${target.base}-flat.vmdk`;
  let checksum: string;
  try {
    await uploadStream(ctx, { datastore: target.datastore, path: flatPath }, withProgress(flat.stream, flat.capacityBytes, log), flat.capacityBytes);
    checksum = await src.finish();
  } catch (e) {
    if (e instanceof HashMismatchError) throw checksumError(e);
    if (e instanceof ImageFormatError) {
      // Corrupt or cut-off data: if the bytes are not what Glance recorded, say so (that is the cause).
      const mismatch = await src.finish().then(
        () => undefined,
        (h) => h,
      );
      src.abort();
      if (mismatch instanceof HashMismatchError) throw checksumError(mismatch, e.message);
      throw new Error(`Glance image ${img.id} data is not a valid ${flat.format.kind} image: ${e.message}`, { cause: e });
    }
    src.abort();
    throw e;
  }
  log(`verified ${checksum.split(":")[0]} of ${src.bytes} bytes from Glance; writing the descriptor`);
  const meta = {
    glanceImageId: img.id,
    sourceFormat: flat.format.kind,
    capacityBytes: flat.capacityBytes,
    adapterType,
    diskType,
    checksum,
    sizeBytes: img.size,
    importedAt: new Date().toISOString(),
  };
  await writeSmallFile(ctx, { datastore: target.datastore, path: `${target.dir}/image.json` }, JSON.stringify(meta, null, 1));
  const descriptor = renderDescriptor({ extentFileName: `${target.base}-flat.vmdk`, capacityBytes: flat.capacityBytes, adapterType, diskType });
  await writeSmallFile(ctx, { datastore: target.datastore, path: `${target.dir}/${target.base}.vmdk` }, descriptor);
  return { capacityBytes: flat.capacityBytes, sourceFormat: flat.format.kind, adapterType, diskType, checksum, sizeBytes: img.size };
}

function checksumError(h: HashMismatchError, extra?: string): Error {
  return new Error(
    `checksum mismatch: Glance recorded ${h.algo} ${h.expected} (expected) for the image, but the ${h.bytes} bytes it sent hash to ${h.actual} (actual)` +
      `${extra ? `; the conversion also failed: ${extra}` : ""}`,
  );
}
