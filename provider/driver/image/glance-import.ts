/**
 * The Glance byte source of the image cache: a Glance image written onto a datastore, in one pass and constant
 * memory:
 *
 *   Glance GET /file -> hash (Glance's os_hash_algo/os_hash_value, else md5 checksum) -> format conversion to a
 *   flat extent (openFlatImage) -> progress -> HTTP PUT <dir>/<id>-flat.vmdk (Content-Length = capacity)
 *
 * then, once every byte Glance sent has been hashed and matched, `image.json` and finally the descriptor
 * `<dir>/<id>.vmdk` (its presence marks a finished copy). On any failure the caller (cache.ts) removes the directory.
 */
import * as crypto from "node:crypto";
import { Readable } from "node:stream";
import { uploadStream, writeSmallFile } from "../../esx/transfer";
import { GlanceClient } from "../../glance/client";
import { GlanceImage } from "../../glance/image";
import { expectedHash, HashMismatchError } from "../../glance/verify";
import { ADAPTERS, DiskType } from "../../hardware";
import { ImageFormatError, openFlatImage, renderDescriptor, UnsupportedImageError } from "../../vmdk";
import { EsxHost, Logger } from "../host";
import { withProgress } from "./progress";
import { imageAdapterType } from "./properties";

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
  /** vmware_adaptertype spelling (lsiLogic, busLogic, lsiLogicsas, paraVirtual, ide): what the copy records. */
  adapterType: string;
  diskType: DiskType;
  /** "<algo>:<hex>" */
  checksum: string;
  sizeBytes: number | null;
}

export class GlanceReadError extends Error {
  override name = "GlanceReadError";
}

/**
 * Hashes every byte pulled from the source. Its iterator ignores `return()` (the converter closing its reader
 * early) so that `finish()` can hash whatever is left: the check always covers all of Glance's bytes.
 */
class HashingSource implements AsyncIterable<Buffer> {
  private readonly hash: crypto.Hash;
  private readonly it: AsyncIterator<Buffer>;
  private done = false;
  bytes = 0;

  constructor(
    private readonly stream: Readable,
    readonly algo: string,
    readonly expected: string,
    readonly label: string,
  ) {
    this.hash = crypto.createHash(algo);
    this.it = stream[Symbol.asyncIterator]();
  }

  private async next(): Promise<IteratorResult<Buffer>> {
    if (this.done) return { done: true, value: undefined };
    let r: IteratorResult<Buffer>;
    try {
      r = await this.it.next();
    } catch (e) {
      this.done = true;
      throw new GlanceReadError(`reading ${this.label} from Glance failed after ${this.bytes} bytes: ${(e as Error).message}`);
    }
    if (r.done) this.done = true;
    else {
      this.hash.update(r.value);
      this.bytes += r.value.length;
    }
    return r;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return { next: () => this.next(), return: async () => ({ done: true, value: undefined }) };
  }

  /** Reads what is left, then compares: throws HashMismatchError naming expected and actual. */
  async finish(): Promise<string> {
    while (!(await this.next()).done);
    const actual = this.hash.digest("hex");
    if (actual !== this.expected.toLowerCase()) throw new HashMismatchError(this.label, this.algo, this.expected.toLowerCase(), actual, this.bytes);
    return `${this.algo}:${actual}`;
  }

  abort(): void {
    this.stream.destroy();
  }
}

const MiB = 1024 * 1024;

export async function importFromGlance(
  host: EsxHost,
  glance: GlanceClient,
  image: GlanceImage,
  target: ImportTarget,
  diskType: DiskType,
  log: Logger,
): Promise<ImportedImage> {
  const ctx = host.ctx;
  const data = await glance.openData(image.id);
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
  const adapterType = ADAPTERS[imageAdapterType(img.properties.vmware_adaptertype, flat.adapterType)].glance;
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
