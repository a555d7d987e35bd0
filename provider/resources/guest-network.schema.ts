/** GuestNetwork inputs: the one definition that check() validates with and schema.json / the sdk types come from. */
import { z } from "zod";
import { checkCidr, normaliseCidr } from "../net/addressing";
import { hostAlias, ipv4, SAFE_NAME, SAFE_NAME_MESSAGE } from "./common";
import { FieldTable, replaceFields } from "./fields";

/** An IPv4 subnet in CIDR form without host bits (checked here, not only in check's cross-field rules, so an
 * invalid cidr is reported even while other inputs are unknown). */
export const cidrString = z.string().superRefine((s, ctx) => {
  for (const i of checkCidr(s, "cidr")) ctx.addIssue({ code: "custom", message: i.message.replace(/^cidr: /, "") });
});

export const guestNetworkInputs = z
  .object({
    host: hostAlias,
    portGroup: z
      .string()
      .min(1, "must not be empty")
      .max(59, "must be at most 59 characters (ESX limit for port group names)")
      .regex(SAFE_NAME, SAFE_NAME_MESSAGE)
      .describe("Port group name on the host. Changing it replaces the port group."),
    vswitch: z
      .string()
      .min(1)
      .max(32)
      .regex(SAFE_NAME, SAFE_NAME_MESSAGE)
      .default("vSwitch0")
      .describe("Standard vSwitch the port group is on. Changing it replaces the port group."),
    vlanId: z
      .number()
      .int("must be an integer")
      .min(0, "must be 0-4095")
      .max(4095, "must be 0-4095")
      .default(0)
      .describe("VLAN id: 0 untagged, 1-4094 a VLAN, 4095 trunk (all VLANs). Updated in place."),
    cidr: cidrString.optional().describe("IPv4 subnet the guests are addressed from, e.g. 10.10.10.0/24. Omit for DHCP networks."),
    gateway: ipv4.optional().describe("Default gateway given to guests; inside cidr."),
    dnsServers: z.array(ipv4).max(3, "at most 3 DNS servers").default([]).describe("DNS servers given to guests."),
    allocationRange: z.object({ start: ipv4, end: ipv4 }).strict().optional().describe("Addresses handed out to instances that ask for ip: auto; inside cidr."),
    adopt: z
      .boolean()
      .default(false)
      .describe("Take over an existing port group of that name instead of failing; adopted port groups are left in place on delete."),
  })
  .strict();

export type GuestNetworkInputs = z.infer<typeof guestNetworkInputs>;

export const guestNetworkOutputs = guestNetworkInputs.extend({
  host: z.string().nullable().describe("Alias of the configured ESX host (null: the default host)."),
  cidr: z.string().nullable().describe("Subnet in normalised CIDR form, or null for DHCP networks."),
  gateway: z.string().nullable().describe("Gateway given to guests."),
  allocationRange: z.object({ start: z.string(), end: z.string() }).nullable().describe("Range automatic addresses come from."),
  networkId: z.string().nullable().describe("The host's Network object id for this port group."),
  netmask: z.string().nullable().describe("Netmask of the subnet."),
  broadcast: z.string().nullable().describe("Broadcast address of the subnet."),
  prefixLength: z.number().int().nullable().describe("Prefix length of the subnet."),
  created: z.boolean().describe("False when the port group was adopted (it is then left in place on delete)."),
});

export type GuestNetworkOutputs = z.infer<typeof guestNetworkOutputs>;

function normalCidr(v: unknown): unknown {
  if (typeof v !== "string") return v;
  try {
    return normaliseCidr(v);
  } catch {
    return v;
  }
}

/** What a change of each input does (diff, schema.json's replaceOnChanges, docs). */
export const GUEST_NETWORK_FIELDS: FieldTable<z.input<typeof guestNetworkInputs>> = {
  host: { onChange: "replace" },
  portGroup: { onChange: "replace" },
  vswitch: { onChange: "replace", default: "vSwitch0" },
  vlanId: { onChange: "update", default: 0 },
  cidr: { onChange: "update", normalise: normalCidr },
  gateway: { onChange: "update" },
  dnsServers: { onChange: "update", default: [] },
  allocationRange: { onChange: "update" },
  adopt: { onChange: "update", default: false },
};

/** Changing these replaces the port group. */
export const GUEST_NETWORK_REPLACE = replaceFields(GUEST_NETWORK_FIELDS);

export const schemaSpec = {
  name: "GuestNetwork",
  description: "A port group with its VLAN on a standard vSwitch of a standalone ESX host, plus the IPv4 subnet its guests are addressed from.",
  inputs: guestNetworkInputs,
  outputs: guestNetworkOutputs,
  replaceOnChanges: GUEST_NETWORK_REPLACE,
};
