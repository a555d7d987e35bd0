import * as pulumi from "@pulumi/pulumi";
import { providerShim } from "./shim";
import type { z } from "zod";
import type { instanceImage, instanceNetwork, instanceNic } from "../provider/resources/esx-instance.schema";
import type { EsxInstanceSchemaArgs, Inputs } from "./types";

type ImageArg = Inputs<z.input<typeof instanceImage>>;
type NetworkArg = Inputs<z.input<typeof instanceNetwork>>;
type NicArg = Inputs<z.input<typeof instanceNic>>;

/** An EsxImage resource (or anything with its outputs): its datastorePath, datastore, capacity, adapter, guestId, nicType. */
export interface EsxImageLike {
  datastorePath: pulumi.Output<string>;
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

export interface EsxInstanceNicArgs extends Omit<NicArg, "network"> {
  /** The GuestNetwork itself, or a plain {portGroup, cidr?, gateway?, dnsServers?, allocationRange?}. */
  network: GuestNetworkLike | pulumi.Input<NetworkArg>;
}

export type EsxInstanceArgs = Omit<EsxInstanceSchemaArgs, "image" | "networks" | "resourceName" | "resourceUrn"> & {
  /** The EsxImage itself, or a plain object with its outputs. */
  image: EsxImageLike | pulumi.Input<ImageArg>;
  networks?: EsxInstanceNicArgs[];
};

function isOutputRecord(v: unknown, key: string): boolean {
  return !!v && typeof v === "object" && pulumi.Output.isInstance((v as any)[key]);
}

/** The image input: an EsxImage resource's outputs mapped into the plain object check() validates. */
export function imageInput(image: EsxImageLike | pulumi.Input<ImageArg>): pulumi.Input<ImageArg> {
  if (!isOutputRecord(image, "datastorePath")) return image as pulumi.Input<ImageArg>;
  const r = image as EsxImageLike;
  return pulumi
    .all([r.datastorePath, r.datastore, r.capacityBytes, r.adapterType, r.guestId, r.nicType, r.glanceImageId])
    .apply(([datastorePath, datastore, capacityBytes, adapterType, guestId, nicType, glanceImageId]) => ({
      datastorePath,
      datastore,
      capacityBytes,
      adapterType: adapterType ?? undefined,
      guestId: guestId ?? undefined,
      nicType: nicType ?? undefined,
      glanceImageId: glanceImageId ?? undefined,
    })) as pulumi.Input<ImageArg>;
}

/** A network entry: a GuestNetwork resource's outputs mapped into the plain object check() validates. */
export function networkInput(net: GuestNetworkLike | pulumi.Input<NetworkArg>): pulumi.Input<NetworkArg> {
  if (!isOutputRecord(net, "portGroup")) return net as pulumi.Input<NetworkArg>;
  const r = net as GuestNetworkLike;
  return pulumi.all([r.portGroup, r.cidr, r.gateway, r.dnsServers, r.allocationRange]).apply(([portGroup, cidr, gateway, dnsServers, allocationRange]) => ({
    portGroup,
    cidr: cidr ?? undefined,
    gateway: gateway ?? undefined,
    dnsServers: dnsServers ?? undefined,
    allocationRange: allocationRange ?? undefined,
  })) as pulumi.Input<NetworkArg>;
}

/**
 * A VM on a standalone ESX host booted from an EsxImage: linked (a delta disk on the image's base disk, the
 * default) or full (a copy), NICs on GuestNetworks with fixed MACs, addressing in machine.id and cloud-init
 * guestinfo. CPUs, memory, disk growth (full clones), NICs, power state and reboots update in place; host,
 * name, image, cloneMode, userData and adapterType replace the VM. An interrupted create is finished by the next
 * up (the VM carries its URN); an existing VM of the same name is only taken over with adopt: true.
 */
export class EsxInstance extends pulumi.dynamic.Resource {
  public readonly host!: pulumi.Output<string | null>;
  /** VM name. */
  public readonly name!: pulumi.Output<string>;
  /** Managed object id of the VM (also the resource id). */
  public readonly vmId!: pulumi.Output<string>;
  /** BIOS UUID. */
  public readonly uuid!: pulumi.Output<string | null>;
  /** Datastore path of the .vmx. */
  public readonly vmxPath!: pulumi.Output<string | null>;
  /** Datastore the VM is on. */
  public readonly datastore!: pulumi.Output<string>;
  public readonly powerState!: pulumi.Output<"on" | "off" | "suspended">;
  public readonly cpus!: pulumi.Output<number>;
  public readonly memoryMb!: pulumi.Output<number>;
  /** Root disk capacity in GiB as the host reports it. */
  public readonly diskGb!: pulumi.Output<number | null>;
  public readonly diskBytes!: pulumi.Output<number | null>;
  public readonly cloneMode!: pulumi.Output<"linked" | "full">;
  /** NICs as the host has them. */
  public readonly networks!: pulumi.Output<
    { network: NetworkArg; portGroup: string; mac: string; ip: string | null; netmask: string | null; gateway: string | null; nicType: string; requestedIp: string | null; requestedMac: string | null; requestedNicType: string | null }[]
  >;
  /** The machine.id extraConfig value. */
  public readonly machineId!: pulumi.Output<string | null>;
  /** IPv4 addresses VMware Tools report. */
  public readonly guestIpAddresses!: pulumi.Output<string[]>;
  /** True when an existing VM was taken over. */
  public readonly adopted!: pulumi.Output<boolean>;

  constructor(name: string, args: EsxInstanceArgs, opts?: pulumi.CustomResourceOptions) {
    const resourceUrn = `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::pulumi-nodejs:dynamic/esx:EsxInstance::${name}`;
    super(
      providerShim("EsxInstance"),
      name,
      {
        host: undefined,
        name: undefined,
        cloneMode: undefined,
        powerState: undefined,
        diskGb: undefined,
        vmId: undefined,
        uuid: undefined,
        vmxPath: undefined,
        datastore: undefined,
        diskBytes: undefined,
        machineId: undefined,
        guestIpAddresses: undefined,
        adopted: undefined,
        ...args,
        image: imageInput(args.image),
        networks: (args.networks ?? []).map((n) => ({ ...n, network: networkInput(n.network) })),
        resourceName: name,
        resourceUrn,
      },
      opts,
      "esx",
      "EsxInstance",
    );
  }
}
