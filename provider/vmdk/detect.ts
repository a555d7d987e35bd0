/**
 * Decides how a Glance image's bytes become a flat ESX extent, from the image's first bytes and its Glance
 * `disk_format` (never its name). Formats that cannot be imported come back as `unsupported` with a message
 * saying how to convert them.
 */
import { parseDescriptor, type ParsedDescriptor } from "./descriptor";
import { FLAG_COMPRESSED, FLAG_MARKERS, SECTOR, capacityBytes, hasSparseMagic, parseSparseHeader, type SparseHeader } from "./sparse-header";

/** How many leading bytes `detectFormat` wants (an ISO 9660 volume descriptor sits at 32 KiB). */
export const DETECT_HEAD_BYTES = 64 * 1024;

export interface SparseFormat {
  kind: "monolithicSparse" | "streamOptimized";
  header: SparseHeader;
  capacityBytes: number;
  /** The embedded descriptor, when it lies within the head given to `detectFormat` and parses. */
  descriptor?: ParsedDescriptor;
  /** `ddb.adapterType` of the embedded descriptor. */
  adapterType?: string;
}

export type DetectedFormat = { kind: "raw" } | { kind: "flat" } | SparseFormat | { kind: "unsupported"; format: string; message: string };

type Content = "qcow2" | "qed" | "vhd" | "vhdx" | "vdi" | "luks" | "iso" | "vmdkSparse" | "vmdkCowd" | "vmdkDescriptor";

const CONVERT = (fmt: string, ext: string) =>
  `convert with \`qemu-img convert -f ${fmt} -O vmdk -o subformat=streamOptimized in.${ext} out.vmdk\` and upload with disk_format=vmdk`;

const ADVICE: Record<Content, string> = {
  qcow2: `qcow2 images are not supported: ${CONVERT("qcow2", "qcow2")}`,
  qed: `QED images are not supported: ${CONVERT("qed", "qed")}`,
  vhd: `VHD images are not supported: ${CONVERT("vpc", "vhd")}`,
  vhdx: `VHDX images are not supported: ${CONVERT("vhdx", "vhdx")}`,
  vdi: `VDI images are not supported: ${CONVERT("vdi", "vdi")}`,
  luks: "LUKS-encrypted images are not supported: decrypt them first (`qemu-img convert --object secret,... -O vmdk -o subformat=streamOptimized`) and upload with disk_format=vmdk",
  iso: "ISO images are CD/DVD media, not disks, and cannot be imported as a VMDK: upload the ISO to a datastore and attach it as a CD-ROM",
  vmdkSparse: "sparse VMDK",
  vmdkCowd: "vmfsSparse (COWD) VMDKs are ESX delta disks and are not supported: consolidate the disk chain and upload a flat or streamOptimized VMDK",
  vmdkDescriptor:
    "this VMDK is only a descriptor file: a descriptor without its extent cannot be imported; upload the extent (the -flat.vmdk file) with disk_format=vmdk, or make a single-file image with `qemu-img convert -O vmdk -o subformat=streamOptimized disk.vmdk out.vmdk`",
};

function startsWith(head: Buffer, at: number, bytes: string): boolean {
  return head.length >= at + bytes.length && head.subarray(at, at + bytes.length).equals(Buffer.from(bytes, "latin1"));
}

function looksLikeDescriptor(head: Buffer): boolean {
  const text = head
    .subarray(0, 4096)
    .toString("latin1")
    .replace(/^\uFEFF|^\xEF\xBB\xBF/, "");
  if (/^\s*# Disk DescriptorFile/.test(text)) return true;
  // A descriptor without the leading comment: all text, with a createType line.
  return !/[\x00-\x08\x0e-\x1f]/.test(text.replace(/\x00+$/, "")) && /^\s*createType\s*=/m.test(text);
}

/** Recognizes the container format of an image from its first bytes, if it has a known signature. */
function identify(head: Buffer): Content | undefined {
  if (startsWith(head, 0, "QFI\xfb")) return "qcow2";
  if (startsWith(head, 0, "QED\x00")) return "qed";
  if (startsWith(head, 0, "vhdxfile")) return "vhdx";
  if (startsWith(head, 0, "conectix")) return "vhd";
  if (head.length >= 0x44 && head.readUInt32LE(0x40) === 0xbeda107f) return "vdi";
  if (startsWith(head, 0, "LUKS\xba\xbe")) return "luks";
  if (hasSparseMagic(head)) return "vmdkSparse";
  if (startsWith(head, 0, "COWD")) return "vmdkCowd";
  if (looksLikeDescriptor(head)) return "vmdkDescriptor";
  if (startsWith(head, 0x8001, "CD001")) return "iso";
  return undefined;
}

const BY_DISK_FORMAT: Record<string, string> = {
  qcow2: ADVICE.qcow2,
  vhd: ADVICE.vhd,
  vhdx: ADVICE.vhdx,
  vdi: ADVICE.vdi,
  iso: ADVICE.iso,
  ploop: `ploop images are not supported: ${CONVERT("parallels", "hds")}`,
  aki: "aki (Amazon kernel) images are not disks and cannot be imported",
  ari: "ari (Amazon ramdisk) images are not disks and cannot be imported",
  ami: "ami (Amazon machine) images are not supported: upload the disk as disk_format=raw or vmdk",
};

function unsupported(format: string, message: string): DetectedFormat {
  return { kind: "unsupported", format, message };
}

function sparse(head: Buffer): DetectedFormat {
  const header = parseSparseHeader(head); // throws ImageFormatError on a corrupt header
  const compressed = (header.flags & FLAG_COMPRESSED) !== 0;
  const markers = (header.flags & FLAG_MARKERS) !== 0;
  if (compressed !== markers) {
    return unsupported(
      "vmdk",
      `sparse VMDK with ${compressed ? "compressed grains but no markers" : "markers but no compressed grains"} is not supported: ${CONVERT("vmdk", "vmdk")}`,
    );
  }
  const out: SparseFormat = { kind: compressed ? "streamOptimized" : "monolithicSparse", header, capacityBytes: capacityBytes(header) };
  const start = header.descriptorOffset * SECTOR;
  const end = start + header.descriptorSize * SECTOR;
  if (header.descriptorOffset > 0 && end <= head.length) {
    try {
      out.descriptor = parseDescriptor(head.subarray(start, end).toString("utf8"));
    } catch {
      // A malformed embedded descriptor does not affect the grains; ignore it.
    }
  }
  const d = out.descriptor;
  if (d) {
    if (d.parentFileNameHint !== undefined || (d.parentCid !== undefined && d.parentCid !== "ffffffff")) {
      return unsupported(
        "vmdk",
        `this sparse VMDK is a delta (child) disk of "${d.parentFileNameHint ?? "?"}" and cannot be imported alone: ${CONVERT("vmdk", "vmdk")} from the chain's top disk`,
      );
    }
    if (d.adapterType !== undefined) out.adapterType = d.adapterType;
  }
  return out;
}

/**
 * @param head the image's first bytes: at least 512 (all of them for smaller images), ideally DETECT_HEAD_BYTES.
 * @param diskFormat Glance's `disk_format` of the image.
 * @throws ImageFormatError when the image has a sparse VMDK signature but a corrupt header.
 */
export function detectFormat(head: Buffer, diskFormat: string): DetectedFormat {
  const df = diskFormat.toLowerCase();
  const content = identify(head);
  if (df === "raw") {
    if (content === undefined || content === "iso") return { kind: "raw" }; // hybrid ISOs are valid raw disks
    const what = content === "vmdkSparse" || content === "vmdkCowd" || content === "vmdkDescriptor" ? "a VMDK" : `a ${content} image`;
    const fix = content === "vmdkSparse" ? "set disk_format=vmdk" : ADVICE[content];
    return unsupported(content, `disk_format is raw but the image is ${what}: ${fix}`);
  }
  if (df === "vmdk") {
    if (content === undefined || content === "iso") return { kind: "flat" };
    if (content === "vmdkSparse") return sparse(head);
    if (content === "vmdkCowd" || content === "vmdkDescriptor") return unsupported("vmdk", ADVICE[content]);
    return unsupported(content, `disk_format is vmdk but the image is a ${content} image: ${ADVICE[content]}`);
  }
  const advice = BY_DISK_FORMAT[df];
  return unsupported(df, advice ?? `unknown disk_format "${diskFormat}": only raw and vmdk images can be imported`);
}
