/** HostSystem: the ESX host itself (its hardware summary is read with the host's inventory, host.ts). */
import { ManagedObject } from "./managed-object";

export class HostSystem extends ManagedObject<"HostSystem"> {}
