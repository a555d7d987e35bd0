/**
 * Argument types of the sdk classes, derived from the zod schemas the provider validates with
 * (provider/resources/*.schema.ts): one source of truth. Every field accepts a pulumi.Input.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { guestNetworkInputs } from "../provider/resources/guest-network.schema";
import type { esxImageInputs } from "../provider/resources/esx-image.schema";
import type { esxInstanceInputs } from "../provider/resources/esx-instance.schema";

/** Each field of T as a pulumi.Input, recursively for objects and arrays. */
export type Inputs<T> = { [K in keyof T]: InputOf<T[K]> };
type InputOf<V> = V extends (infer E)[] ? pulumi.Input<InputOf<E>[]> : V extends object ? pulumi.Input<Inputs<V>> : pulumi.Input<V>;

export type GuestNetworkArgs = Inputs<z.input<typeof guestNetworkInputs>>;
export type EsxImageArgs = Inputs<z.input<typeof esxImageInputs>>;
/** EsxInstance arguments as the schema has them (sdk/esx-instance.ts widens image and networks[].network to the resources). */
export type EsxInstanceSchemaArgs = Inputs<z.input<typeof esxInstanceInputs>>;
