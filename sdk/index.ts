export { GuestNetwork } from "./guest-network";
export type { GuestNetworkArgs } from "./types";
