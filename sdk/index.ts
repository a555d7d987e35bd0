export { GuestNetwork } from "./guest-network";
export type { GuestNetworkArgs } from "./types";
export { EsxImage } from "./esx-image";
export type { EsxImageArgs } from "./types";
export { EsxInstance } from "./esx-instance";
export type { EsxInstanceArgs, EsxInstanceNicArgs } from "./esx-instance";
