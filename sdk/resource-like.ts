/**
 * What an EsxInstance accepts in place of the plain objects its schema has: the EsxImage and GuestNetwork
 * resources themselves (or anything with the same outputs). sdk/esx-instance.ts maps them to the plain objects.
 */
import type * as pulumi from "@pulumi/pulumi";

/** An EsxImage resource (or anything with its outputs): its datastorePath, datastore, capacity, adapter, guestId, nicType. */
export interface EsxImageLike {
  /** null for a capture (EsxImage captureFrom): place the captured Glance image with another EsxImage first. */
  datastorePath: pulumi.Output<string | null>;
  datastore: pulumi.Output<string>;
  capacityBytes: pulumi.Output<number>;
  adapterType?: pulumi.Output<string | null | undefined>;
  guestId?: pulumi.Output<string | null | undefined>;
  nicType?: pulumi.Output<string | null | undefined>;
  glanceImageId?: pulumi.Output<string | null | undefined>;
}

/** A GuestNetwork resource (or anything with its outputs). */
export interface GuestNetworkLike {
  portGroup: pulumi.Output<string>;
  cidr?: pulumi.Output<string | null | undefined>;
  gateway?: pulumi.Output<string | null | undefined>;
  dnsServers?: pulumi.Output<string[] | null | undefined>;
  allocationRange?: pulumi.Output<{ start: string; end: string } | null | undefined>;
}

/** An EsxInstance resource (or anything with its outputs): the VM an EsxImage captures (captureFrom). */
export interface EsxInstanceLike {
  vmId: pulumi.Output<string>;
  name: pulumi.Output<string>;
  vmxPath?: pulumi.Output<string | null | undefined>;
  host?: pulumi.Output<string | null | undefined>;
}
