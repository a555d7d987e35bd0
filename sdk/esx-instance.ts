import * as pulumi from "@pulumi/pulumi";
import { providerShim, resourceUrnOf } from "./shim";
import { SECRET_OUTPUTS } from "../provider/schema/secrets";
import { EsxInstanceOutputs } from "./args.generated";
import type { EsxInstanceArgs, EsxInstanceImageArgs, EsxInstanceNetworksArgs, EsxInstanceNetworksNetworkArgs } from "./args.generated";
import type { EsxImageLike, GuestNetworkLike } from "./resource-like";

export type { EsxImageLike, GuestNetworkLike } from "./resource-like";
export type { EsxInstanceArgs } from "./args.generated";
/** One NIC of an EsxInstance (the network may be the GuestNetwork resource itself). */
export type EsxInstanceNicArgs = EsxInstanceNetworksArgs;

function isOutputRecord(v: unknown, key: string): boolean {
  return !!v && typeof v === "object" && pulumi.Output.isInstance((v as Record<string, unknown>)[key]);
}

/** The image input: an EsxImage resource's outputs mapped into the plain object check() validates. */
export function imageInput(image: EsxImageLike | pulumi.Input<EsxInstanceImageArgs>): pulumi.Input<EsxInstanceImageArgs> {
  if (!isOutputRecord(image, "datastorePath")) return image as pulumi.Input<EsxInstanceImageArgs>;
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
    })) as pulumi.Input<EsxInstanceImageArgs>;
}

/** A network entry: a GuestNetwork resource's outputs mapped into the plain object check() validates. */
export function networkInput(net: GuestNetworkLike | pulumi.Input<EsxInstanceNetworksNetworkArgs>): pulumi.Input<EsxInstanceNetworksNetworkArgs> {
  if (!isOutputRecord(net, "portGroup")) return net as pulumi.Input<EsxInstanceNetworksNetworkArgs>;
  const r = net as GuestNetworkLike;
  return pulumi.all([r.portGroup, r.cidr, r.gateway, r.dnsServers, r.allocationRange]).apply(([portGroup, cidr, gateway, dnsServers, allocationRange]) => ({
    portGroup,
    cidr: cidr ?? undefined,
    gateway: gateway ?? undefined,
    dnsServers: dnsServers ?? undefined,
    allocationRange: allocationRange ?? undefined,
  })) as pulumi.Input<EsxInstanceNetworksNetworkArgs>;
}

/** A NIC entry with its network mapped; entries that are Outputs or Promises are passed on as they are. */
function nicInput(n: pulumi.Input<EsxInstanceNetworksArgs>): pulumi.Input<EsxInstanceNetworksArgs> {
  if (pulumi.Output.isInstance(n) || n instanceof Promise) return n;
  const nic = n as EsxInstanceNetworksArgs;
  return { ...nic, network: networkInput(nic.network) };
}

/**
 * The secret properties (userData) as secret inputs. additionalSecretOutputs alone masks only the output: the
 * engine would keep the input in clear text in state and print it in `pulumi preview --diff`.
 */
function secretInputs(args: EsxInstanceArgs): Record<string, pulumi.Output<unknown>> {
  const out: Record<string, pulumi.Output<unknown>> = {};
  for (const k of SECRET_OUTPUTS.EsxInstance) {
    const v = (args as unknown as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = pulumi.secret(v);
  }
  return out;
}

/**
 * A VM on a standalone ESX host booted from an EsxImage: linked (a delta disk on the image's base disk, the
 * default) or full (a copy), NICs on GuestNetworks with fixed MACs, addressing in machine.id and cloud-init
 * guestinfo. CPUs, memory, disk growth (full clones), NICs, power state and reboots update in place; host,
 * name, image, cloneMode, userData and adapterType replace the VM. An interrupted create is finished by the next
 * up (the VM carries its URN); an existing VM of the same name is only taken over with adopt: true.
 * Outputs (with their documentation) are declared in sdk/args.generated.ts, generated from the zod schema;
 * `userData` is a secret input and output (it often carries credentials).
 */
export class EsxInstance extends EsxInstanceOutputs {
  constructor(name: string, args: EsxInstanceArgs, opts?: pulumi.CustomResourceOptions) {
    // The URN the engine gives this resource (parent's type chain included), known before registration: the VM's
    // pulumi-esx.urn marker, by which the next up finishes an interrupted create.
    const resourceUrn = resourceUrnOf(name, "EsxInstance", opts);
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
        networks: Array.isArray(args.networks) ? args.networks.map(nicInput) : (args.networks ?? []),
        resourceName: name,
        resourceUrn,
        ...secretInputs(args),
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: SECRET_OUTPUTS.EsxInstance }),
      "esx",
      "EsxInstance",
    );
  }
}
