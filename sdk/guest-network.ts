import { providerShim } from "./shim";
import { GuestNetworkOutputs } from "./args.generated";
import type * as pulumi from "@pulumi/pulumi";
import type { GuestNetworkArgs } from "./types";

/**
 * A port group with its VLAN on a standard vSwitch of a standalone ESX host, plus the IPv4 subnet its guests
 * are addressed from. Replaced when `portGroup`, `vswitch` or `host` change; everything else updates in place.
 * Outputs (with their documentation) are declared in sdk/args.generated.ts, generated from the zod schema.
 */
export class GuestNetwork extends GuestNetworkOutputs {
  constructor(name: string, args: GuestNetworkArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      providerShim("GuestNetwork"),
      name,
      { networkId: undefined, netmask: undefined, broadcast: undefined, prefixLength: undefined, created: undefined, ...args },
      opts,
      "esx",
      "GuestNetwork",
    );
  }
}
