/** EsxInstance outputs: the inputs needed later plus the VM as the host reports it (JSON-clean). */
import { AddressLease } from "../driver/addresses";
import { GiB } from "../driver/instance/plan";
import { VmState } from "../driver/vm-state";
import { decodeMachineId } from "../guest/machine-id";
import { jsonClean, ResourceProps } from "./common";
import { EsxInstanceOutputs, InstanceNicInput } from "./esx-instance.schema";

/** A NIC as recorded in outputs (the fields read back here). */
interface NicRecord {
  network?: InstanceNicInput["network"];
  portGroup?: string;
  ip?: string | null;
  requestedIp?: string | null;
  requestedMac?: string | null;
  requestedNicType?: InstanceNicInput["nicType"] | null;
}

function recordedNics(props: ResourceProps): NicRecord[] {
  return Array.isArray(props.networks) ? (props.networks as NicRecord[]) : [];
}

/** The nic inputs recorded in outputs (for read, which only has the old outputs). */
export function nicInputsFromOutputs(props: ResourceProps): InstanceNicInput[] {
  return recordedNics(props).map((n) => ({
    network: n.network ?? { portGroup: n.portGroup ?? "" },
    ip: n.requestedIp ?? undefined,
    mac: n.requestedMac ?? undefined,
    nicType: n.requestedNicType ?? undefined,
  }));
}

/** The addresses an instance's outputs record, with their subnets (given back to the allocator). */
export function recordedLeases(props: ResourceProps): AddressLease[] {
  return recordedNics(props).map((n) => ({ ip: n.ip ?? null, cidr: n.network?.cidr ?? null }));
}

export function instanceOutputs(inputs: ResourceProps, vm: VmState, nicInputs: InstanceNicInput[], adopted: boolean): EsxInstanceOutputs {
  const machineId = vm.extraConfig["machine.id"] || null;
  const byMac = new Map(decodeMachineId(machineId ?? "").nics.map((n) => [n.mac.toLowerCase(), n]));
  const root = vm.devices.disks[0];
  const networks = vm.devices.nics.map((nic, i) => {
    const want = nicInputs[i];
    const rec = byMac.get(nic.mac);
    return {
      network: want?.network ?? { portGroup: nic.portGroup },
      portGroup: nic.portGroup,
      mac: nic.mac,
      ip: rec?.ip ?? null,
      netmask: rec?.netmask ?? null,
      gateway: rec?.gateway || null,
      nicType: nic.nicType ?? nic.vimType,
      requestedIp: want?.ip ?? null,
      requestedMac: want?.mac?.toLowerCase() ?? null,
      requestedNicType: want?.nicType ?? null,
    };
  });
  const { networks: _networks, diskGb: _diskGb, ...rest } = inputs;
  const image = inputs.image as { datastore?: string } | undefined;
  return jsonClean({
    ...rest,
    host: inputs.host ?? null,
    name: vm.name,
    vmId: vm.ref.value,
    uuid: vm.uuid,
    vmxPath: vm.vmxPath,
    datastore: image?.datastore ?? null,
    powerState: vm.powerState,
    cpus: vm.cpus,
    memoryMb: vm.memoryMb,
    diskBytes: root ? root.capacityBytes : null,
    diskGb: root ? root.capacityBytes / GiB : null,
    networks,
    machineId,
    guestIpAddresses: vm.guestIps,
    adopted,
  }) as EsxInstanceOutputs;
}
