export { GuestNetwork } from "./guest-network";
export type { GuestNetworkArgs } from "./types";
export { EsxImage } from "./esx-image";
export type { EsxImageArgs } from "./types";
