/** The resources described in schema.json: each one's zod input and output schemas and replace rules. */
import { z } from "zod";
import { GUEST_NETWORK_REPLACE, guestNetworkInputs, guestNetworkOutputs } from "../resources/guest-network.schema";

export interface ResourceSpec {
  name: string;
  description: string;
  inputs: z.ZodObject<any>;
  outputs: z.ZodObject<any>;
  replaceOnChanges: string[];
  /** Inputs the sdk fills in itself (not written by users). */
  hiddenInputs?: string[];
}

export function resourceSpecs(): ResourceSpec[] {
  const specs: ResourceSpec[] = [
    {
      name: "GuestNetwork",
      description: "A port group with its VLAN on a standard vSwitch of a standalone ESX host, plus the IPv4 subnet its guests are addressed from.",
      inputs: guestNetworkInputs,
      outputs: guestNetworkOutputs,
      replaceOnChanges: GUEST_NETWORK_REPLACE,
    },
  ];
  for (const mod of ["esx-image", "esx-instance"]) {
    try {
      const m = require(`../resources/${mod}.schema`);
      if (m.schemaSpec) specs.push(m.schemaSpec as ResourceSpec);
    } catch (e: any) {
      if (e?.code !== "MODULE_NOT_FOUND") throw e;
    }
  }
  return specs;
}
