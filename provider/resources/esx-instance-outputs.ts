/** EsxInstance outputs: the inputs needed later plus the VM as the host reports it (JSON-clean). */
import { decodeMachineId } from "../guest/machine-id";
import { VmState } from "../esx/vm";
import { EsxInstanceOutputs, InstanceNicInput } from "./esx-instance.schema";
import { GiB } from "./esx-instance-converge";
import { jsonClean } from "./common";

/** The nic inputs recorded in outputs (for read, which only has the old outputs). */
export function nicInputsFromOutputs(props: Record<string, any>): InstanceNicInput[] {
  return (Array.isArray(props.networks) ? props.networks : []).map((n: any) => ({
    network: n.network ?? { portGroup: n.portGroup },
    ip: n.requestedIp ?? undefined,
    mac: n.requestedMac ?? undefined,
    nicType: n.requestedNicType ?? undefined,
  }));
}

export function instanceOutputs(inp: Record<string, any>, vm: VmState, nicInputs: InstanceNicInput[], adopted: boolean): EsxInstanceOutputs {
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
  const { networks: _n, diskGb: _d, ...rest } = inp;
  return jsonClean<EsxInstanceOutputs>({
    ...rest,
    host: inp.host ?? null,
    name: vm.name,
    vmId: vm.ref.value,
    uuid: vm.uuid,
    vmxPath: vm.vmxPath,
    datastore: inp.image?.datastore ?? null,
    powerState: vm.powerState,
    cpus: vm.cpus,
    memoryMb: vm.memoryMb,
    diskBytes: root ? root.capacityBytes : null,
    diskGb: root ? root.capacityBytes / GiB : null,
    networks,
    machineId,
    guestIpAddresses: vm.guestIps,
    adopted,
  } as any);
}
