import * as pulumi from "@pulumi/pulumi";
import { providerShim } from "./shim";
import type { GuestNetworkArgs } from "./types";

/**
 * A port group with its VLAN on a standard vSwitch of a standalone ESX host, plus the IPv4 subnet its guests
 * are addressed from. Replaced when `portGroup`, `vswitch` or `host` change; everything else updates in place.
 */
export class GuestNetwork extends pulumi.dynamic.Resource {
  /** Alias of the configured ESX host. */
  public readonly host!: pulumi.Output<string | null>;
  /** Port group name on the host. */
  public readonly portGroup!: pulumi.Output<string>;
  /** vSwitch the port group is on. */
  public readonly vswitch!: pulumi.Output<string>;
  /** VLAN id (0 untagged, 4095 trunk). */
  public readonly vlanId!: pulumi.Output<number>;
  /** The host's Network object id for this port group. */
  public readonly networkId!: pulumi.Output<string | null>;
  /** Subnet in normalised CIDR form, or null for DHCP networks. */
  public readonly cidr!: pulumi.Output<string | null>;
  /** Netmask of the subnet. */
  public readonly netmask!: pulumi.Output<string | null>;
  /** Broadcast address of the subnet. */
  public readonly broadcast!: pulumi.Output<string | null>;
  /** Prefix length of the subnet. */
  public readonly prefixLength!: pulumi.Output<number | null>;
  /** Gateway given to guests. */
  public readonly gateway!: pulumi.Output<string | null>;
  /** DNS servers given to guests. */
  public readonly dnsServers!: pulumi.Output<string[]>;
  /** Range automatic addresses come from. */
  public readonly allocationRange!: pulumi.Output<{ start: string; end: string } | null>;
  /** Whether the port group was taken over rather than created. */
  public readonly adopt!: pulumi.Output<boolean>;
  /** False when the port group was adopted (it is then left in place on delete). */
  public readonly created!: pulumi.Output<boolean>;

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
