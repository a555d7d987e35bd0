/**
 * The properties this package reads, per managed object type, typed with the generated vim25 data types.
 *
 * Managed objects' properties are not part of the WSDL (govmomi generates its `mo` package from a separate
 * description of them), so the property paths read here are declared by hand, each with the vim25 type the host
 * answers for it (`config.hardware.device` is an ArrayOfVirtualDevice, `runtime.powerState` a
 * VirtualMachinePowerState, ...). The property collector (property-collector.ts) is typed by this table.
 */
import type {
  BaseVirtualDevice,
  GuestNicInfo,
  HostPortGroup,
  HostVirtualSwitch,
  LocalizedMethodFault,
  OptionValue,
  TaskInfoState,
  VirtualMachinePowerState,
  VirtualMachineSnapshotInfo,
} from "./types.generated";
import type { MoRef } from "./xml";

interface ComputeResourceProperties {
  name: string;
  resourcePool: MoRef<"ResourcePool">;
  host: MoRef<"HostSystem">[];
}

export interface ManagedObjectProperties {
  Folder: { name: string; childEntity: MoRef[] };
  Datacenter: { name: string; vmFolder: MoRef<"Folder">; hostFolder: MoRef<"Folder">; datastoreFolder: MoRef<"Folder">; networkFolder: MoRef<"Folder"> };
  ComputeResource: ComputeResourceProperties;
  ClusterComputeResource: ComputeResourceProperties;
  ResourcePool: { name: string; resourcePool: MoRef<"ResourcePool">[]; vm: MoRef<"VirtualMachine">[] };
  HostSystem: {
    name: string;
    "configManager.networkSystem": MoRef<"HostNetworkSystem">;
    "summary.hardware.numCpuCores": number;
    "summary.hardware.memorySize": number;
    "config.network.vswitch": HostVirtualSwitch[];
  };
  Datastore: {
    name: string;
    "summary.name": string;
    "summary.freeSpace": number;
    "summary.capacity": number;
    "summary.type": string;
    "summary.accessible": boolean;
    "summary.url": string;
  };
  Network: { name: string; vm: MoRef<"VirtualMachine">[] };
  HostNetworkSystem: { "networkInfo.portgroup": HostPortGroup[]; "networkInfo.vswitch": HostVirtualSwitch[] };
  VirtualMachine: {
    name: string;
    "config.uuid": string;
    "config.files.vmPathName": string;
    "config.guestId": string;
    "config.hardware.numCPU": number;
    "config.hardware.memoryMB": number;
    "config.hardware.device": BaseVirtualDevice[];
    "config.extraConfig": OptionValue[];
    "runtime.powerState": VirtualMachinePowerState;
    /** VirtualMachineToolsRunningStatus (a string in vim25). */
    "guest.toolsRunningStatus": string;
    "guest.net": GuestNicInfo[];
    "guest.ipAddress": string;
    snapshot: VirtualMachineSnapshotInfo;
  };
  VirtualMachineSnapshot: { "config.hardware.device": BaseVirtualDevice[] };
  FileManager: Record<never, never>;
  VirtualDiskManager: Record<never, never>;
  Task: { "info.state": TaskInfoState; "info.error": LocalizedMethodFault; "info.result": unknown; "info.completeTime": string };
}

export type ManagedObjectType = keyof ManagedObjectProperties;

/** A property path declared for managed object type T. */
export type PathOf<T extends ManagedObjectType> = keyof ManagedObjectProperties[T] & string;

/** The requested properties of one object; a property the host has no value for is absent. */
export type PropertiesOf<T extends ManagedObjectType, K extends PathOf<T>> = Partial<Pick<ManagedObjectProperties[T], K>>;
