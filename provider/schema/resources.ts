/** The resources described in schema.json: each one's zod input and output schemas and replace rules. */
import { z } from "zod";
import { schemaSpec as esxImage } from "../resources/esx-image.schema";
import { schemaSpec as esxInstance } from "../resources/esx-instance.schema";
import { schemaSpec as guestNetwork } from "../resources/guest-network.schema";

export interface ResourceSpec {
  name: string;
  description: string;
  inputs: z.ZodObject;
  outputs: z.ZodObject;
  /** The inputs whose change replaces the resource (from the resource's field table). */
  replaceOnChanges: string[];
  /** Inputs the sdk fills in itself (not written by users). */
  hiddenInputs?: string[];
}

export function resourceSpecs(): ResourceSpec[] {
  return [guestNetwork, esxImage, esxInstance];
}
