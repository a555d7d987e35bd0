/**
 * Argument types of the sdk classes, generated with TSDoc from the zod schemas the provider validates with
 * (provider/resources/*.schema.ts -> sdk/args.generated.ts by `npm run schema`): one source of truth.
 * Every field accepts a pulumi.Input. The checks below fail to compile when the generated types and the zod
 * schemas disagree (a schema changed without regenerating).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { guestNetworkInputs } from "../provider/resources/guest-network.schema";
import type { esxImageInputs } from "../provider/resources/esx-image.schema";
import type { esxInstanceInputs } from "../provider/resources/esx-instance.schema";
import type { EsxImageArgs, EsxInstanceArgs, GuestNetworkArgs } from "./args.generated";

export type { EsxImageArgs, GuestNetworkArgs } from "./args.generated";
/** EsxInstance arguments (image and networks[].network also take the EsxImage / GuestNetwork resources). */
export type EsxInstanceSchemaArgs = EsxInstanceArgs;

/** Each field of T as a pulumi.Input, recursively for objects and arrays. */
export type Inputs<T> = { [K in keyof T]: InputOf<T[K]> };
type InputOf<V> = V extends (infer E)[] ? pulumi.Input<InputOf<E>[]> : V extends object ? pulumi.Input<Inputs<V>> : pulumi.Input<V>;

/** Plain (fully resolved) values of an args type. */
type Plain<T> =
  T extends pulumi.Output<infer U>
    ? Plain<U>
    : T extends Promise<infer U>
      ? Plain<U>
      : T extends (infer E)[]
        ? Plain<E>[]
        : T extends object
          ? { [K in keyof T]: Plain<T[K]> }
          : T;
type Assert<T extends true> = T;
/** Every value the schema accepts is accepted by the generated args, and the same keys are known. */
type Covers<Gen, Zod> = [Zod] extends [Plain<Gen>] ? true : false;
type SameKeys<Gen, Zod> = [Exclude<keyof Zod, keyof Gen | "resourceName" | "resourceUrn">, Exclude<keyof Gen, keyof Zod>] extends [never, never] ? true : false;
export type _GuestNetworkChecks = [
  Assert<Covers<GuestNetworkArgs, z.input<typeof guestNetworkInputs>>>,
  Assert<SameKeys<GuestNetworkArgs, z.input<typeof guestNetworkInputs>>>,
];
export type _EsxImageChecks = [Assert<SameKeys<EsxImageArgs, z.input<typeof esxImageInputs>>>];
export type _EsxInstanceChecks = [Assert<SameKeys<EsxInstanceArgs, z.input<typeof esxInstanceInputs>>>];
