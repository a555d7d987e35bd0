import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { captureSource } from "../provider/resources/esx-image.schema";
import { providerShim, resourceUrnOf } from "./shim";
import { EsxImageOutputs } from "./args.generated";
import type { EsxInstanceLike } from "./resource-like";
import type { EsxImageArgs, Inputs } from "./types";

export type { EsxInstanceLike } from "./resource-like";

type CaptureArg = Inputs<z.input<typeof captureSource>>;

/** EsxImage arguments; captureFrom also takes the EsxInstance itself. */
export type EsxImageResourceArgs = Omit<EsxImageArgs, "captureFrom"> & {
  /** The VM to capture into a new Glance image: the EsxInstance itself, or a plain {vmId, name?, vmxPath?, host?}. */
  captureFrom?: EsxInstanceLike | pulumi.Input<CaptureArg>;
};

/** The captureFrom input: an EsxInstance's outputs mapped into the plain object check() validates. */
export function captureInput(vm: EsxInstanceLike | pulumi.Input<CaptureArg>): pulumi.Input<CaptureArg> {
  const v = vm as { vmId?: unknown } | null | undefined;
  if (!(v && typeof v === "object" && pulumi.Output.isInstance(v.vmId))) return vm as pulumi.Input<CaptureArg>;
  const r = vm as EsxInstanceLike;
  return pulumi.all([r.vmId, r.name, r.vmxPath, r.host]).apply(([vmId, name, vmxPath, host]) => ({
    vmId,
    name,
    vmxPath: vmxPath ?? undefined,
    host: host ?? undefined,
  })) as pulumi.Input<CaptureArg>;
}

/**
 * A Glance image as a base disk on an ESX datastore, at `[datastore] <folder>/<glanceImageId>/<glanceImageId>.vmdk`,
 * for instances to be cloned from. The image's bytes stream from Glance to the datastore in one pass, verified
 * against Glance's checksum; raw, flat VMDK, monolithicSparse and streamOptimized images are converted on the
 * way (qcow2 and other formats are refused with the command that converts them). EsxImage resources naming the
 * same image, datastore and folder share one copy; the last one deleted removes it. Every input change replaces
 * the resource; delete refuses while VMs use the disk as a linked-clone parent.
 *
 * With `captureFrom: vm` (an EsxInstance) and `glance: { name }` instead of glanceImageId, it captures the VM's
 * root disk into a new Glance image (a snapshot, a consolidated temporary copy, a streamOptimized VMDK upload;
 * snapshot and copy are removed, also on failure). The result is only that Glance image (`glanceImageId`):
 * nothing stays on the datastore and `datastorePath`/`diskType` are null; to clone VMs from it, place it with a
 * second EsxImage (`glanceImageId: golden.glanceImageId`). Delete removes the Glance image.
 */
export class EsxImage extends EsxImageOutputs {
  // Outputs (with TSDoc from the zod schema) are declared by EsxImageOutputs in sdk/args.generated.ts.
  constructor(name: string, args: EsxImageResourceArgs, opts?: pulumi.CustomResourceOptions) {
    // The URN the engine gives this resource (parent's type chain included), known before registration: the
    // plugin finds what an interrupted create made by it (refs.json entry, capture leftovers).
    const resourceUrn = resourceUrnOf(name, "EsxImage", opts);
    super(
      providerShim("EsxImage"),
      name,
      {
        host: undefined,
        folder: undefined,
        datastore: undefined,
        diskType: undefined,
        datastorePath: undefined,
        capacityBytes: undefined,
        sourceFormat: undefined,
        adapterType: undefined,
        guestId: undefined,
        nicType: undefined,
        checksum: undefined,
        sizeBytes: undefined,
        imported: undefined,
        glanceImageId: undefined,
        glance: undefined,
        ...args,
        captureFrom: args.captureFrom === undefined ? undefined : captureInput(args.captureFrom),
        resourceUrn,
      },
      opts,
      "esx",
      "EsxImage",
    );
  }
}
