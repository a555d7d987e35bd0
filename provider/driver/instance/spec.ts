/**
 * What an instance should be: the typed domain input of the instance use cases (the resource layer maps its
 * validated inputs to this; nothing here knows Pulumi or zod).
 */
import { AdapterType, NicType } from "../../hardware";

export type PowerState = "on" | "off" | "suspended";

export interface NetworkSpec {
  portGroup: string;
  /** Subnet in CIDR form; needed for static and automatic addresses. */
  cidr?: string;
  gateway?: string;
  dnsServers?: string[];
  /** The range `ip: "auto"` allocates from. */
  allocationRange?: { start: string; end: string };
}

export interface NicSpec {
  network: NetworkSpec;
  /** A static address, "auto" (allocated from the network's range) or undefined for DHCP. */
  ip?: string;
  nicType?: NicType;
  /** A fixed MAC in VMware's static range; undefined: generated from the VM name and NIC index. */
  mac?: string;
}

/** The image an instance boots from: a base disk on a datastore, and the defaults it declares. */
export interface ImageRef {
  /** "[ds] folder/id/id.vmdk" */
  datastorePath: string;
  datastore: string;
  capacityBytes: number;
  adapterType?: AdapterType;
  guestId?: string;
  nicType?: NicType;
}

export interface InstanceSpec {
  name: string;
  /** Written to the VM as a marker so an interrupted create is finished, not duplicated. */
  resourceUrn?: string;
  image: ImageRef;
  cpus: number;
  memoryMb: number;
  /** Root disk size in GiB; never below the image's capacity. */
  diskGb?: number;
  cloneMode: "linked" | "full";
  networks: NicSpec[];
  guestId?: string;
  adapterType?: AdapterType;
  powerState: PowerState;
  userData?: string;
  /** Wait after create until VMware Tools report an IPv4 address. */
  waitForIpSeconds?: number;
  shutdownTimeoutSeconds: number;
  /** Take over an existing VM of that name. */
  adopt: boolean;
}
