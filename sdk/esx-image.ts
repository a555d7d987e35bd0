import * as pulumi from "@pulumi/pulumi";
import { providerShim } from "./shim";
import type { EsxImageArgs } from "./types";

/**
 * A Glance image as a base disk on an ESX datastore, at `[datastore] <folder>/<glanceImageId>/<glanceImageId>.vmdk`,
 * for instances to be cloned from. The image's bytes stream from Glance to the datastore in one pass, verified
 * against Glance's checksum; raw, flat VMDK, monolithicSparse and streamOptimized images are converted on the
 * way (qcow2 and other formats are refused with the command that converts them). EsxImage resources naming the
 * same image, datastore and folder share one copy; the last one deleted removes it. Every input change replaces
 * the resource; delete refuses while VMs use the disk as a linked-clone parent.
 */
export class EsxImage extends pulumi.dynamic.Resource {
  /** Alias of the configured ESX host. */
  public readonly host!: pulumi.Output<string | null>;
  /** Glance v2 image id. */
  public readonly glanceImageId!: pulumi.Output<string>;
  /** Datastore holding the disk (the chosen default when none was given). */
  public readonly datastore!: pulumi.Output<string>;
  /** Folder on the datastore the image directory is in. */
  public readonly folder!: pulumi.Output<string>;
  /** thin | thick | eagerZeroedThick, as written into the descriptor. */
  public readonly diskType!: pulumi.Output<"thin" | "thick" | "eagerZeroedThick">;
  /** The base disk, e.g. "[datastore1] images/<id>/<id>.vmdk": the parent of linked clones. */
  public readonly datastorePath!: pulumi.Output<string>;
  /** Disk size in bytes (a multiple of 512). */
  public readonly capacityBytes!: pulumi.Output<number>;
  /** Format the Glance data was in: raw, flat, monolithicSparse or streamOptimized. */
  public readonly sourceFormat!: pulumi.Output<string>;
  /** Disk controller for instances: lsiLogic, busLogic, lsiLogicsas, paraVirtual or ide (from vmware_adaptertype). */
  public readonly adapterType!: pulumi.Output<"lsiLogic" | "busLogic" | "lsiLogicsas" | "paraVirtual" | "ide">;
  /** vSphere guest id for instances (from vmware_ostype; default otherGuest). */
  public readonly guestId!: pulumi.Output<string>;
  /** NIC model for instances: vmxnet3, vmxnet, e1000, e1000e or pcnet32 (from hw_vif_model; default vmxnet3). */
  public readonly nicType!: pulumi.Output<"vmxnet3" | "vmxnet" | "e1000" | "e1000e" | "pcnet32">;
  /** "<algo>:<hex>": the Glance checksum the data was verified against. */
  public readonly checksum!: pulumi.Output<string>;
  /** Size of the Glance image data in bytes. */
  public readonly sizeBytes!: pulumi.Output<number | null>;
  /** True when this resource imported the data; false when it adopted a copy another resource made. */
  public readonly imported!: pulumi.Output<boolean>;

  constructor(name: string, args: EsxImageArgs, opts?: pulumi.CustomResourceOptions) {
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
        ...args,
      },
      opts,
      "esx",
      "EsxImage",
    );
  }
}
