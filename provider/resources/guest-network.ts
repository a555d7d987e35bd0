/**
 * GuestNetwork: a port group with its VLAN on a standard vSwitch, plus the subnet its guests are addressed from.
 * check (zod), diff (the field table), one driver call (driver/network/port-group.ts), outputs.
 */
import { checkWithSchema, CheckOutcome } from "../dynamic/check";
import { resourceError } from "../dynamic/errors";
import { hostHandle } from "../dynamic/runtime";
import { ensurePortGroup, readPortGroup, removePortGroup, updatePortGroup } from "../driver/network/port-group";
import { broadcast, netmask, normaliseCidr, prefix, validateNetworkAddressing } from "../net/addressing";
import { jsonClean, parseInputs, ResourceProps } from "./common";
import { diffByTable } from "./fields";
import { GUEST_NETWORK_FIELDS, GuestNetworkInputs, GuestNetworkOutputs, guestNetworkInputs } from "./guest-network.schema";

const KIND = "GuestNetwork";

export function check(_olds: ResourceProps, news: ResourceProps): CheckOutcome<GuestNetworkInputs> {
  return checkWithSchema(guestNetworkInputs, news, (v) => {
    if (v.cidr === undefined) {
      const stray = (["gateway", "allocationRange"] as const).filter((k) => v[k] !== undefined);
      return stray.map((k) => ({ property: k, reason: `${k}: needs cidr (the subnet it belongs to)` }));
    }
    return validateNetworkAddressing({ cidr: v.cidr, gateway: v.gateway, dnsServers: v.dnsServers, allocationRange: v.allocationRange }).map((i) => ({
      property: i.field,
      reason: i.message,
    }));
  });
}

export function diff(_id: string, olds: ResourceProps, news: ResourceProps) {
  const { changes, replaces } = diffByTable(GUEST_NETWORK_FIELDS, olds, news);
  // Same port group name on the host: the old one must go before the new one can be made.
  return { changes, replaces, deleteBeforeReplace: replaces.length > 0 && !replaces.includes("portGroup") };
}

function outputs(inputs: GuestNetworkInputs, networkId: string | null, vlanId: number, vswitch: string, created: boolean): GuestNetworkOutputs {
  const cidr = inputs.cidr ? normaliseCidr(inputs.cidr) : undefined;
  return jsonClean<GuestNetworkOutputs>({
    ...inputs,
    host: inputs.host ?? null,
    vswitch,
    vlanId,
    cidr: cidr ?? null,
    networkId,
    netmask: cidr ? netmask(cidr) : null,
    broadcast: cidr ? broadcast(cidr) : null,
    prefixLength: cidr ? prefix(cidr) : null,
    gateway: inputs.gateway ?? null,
    allocationRange: inputs.allocationRange ?? null,
    created,
  });
}

export async function create(news: ResourceProps) {
  const inputs = parseInputs(check({}, news));
  const target = hostHandle(inputs.host);
  try {
    const pg = await ensurePortGroup(await target.host(), { name: inputs.portGroup, vswitch: inputs.vswitch, vlanId: inputs.vlanId, adopt: inputs.adopt });
    return { id: inputs.portGroup, outs: outputs(inputs, pg.networkId, pg.vlanId, pg.vswitch, pg.created) };
  } catch (e) {
    throw resourceError(KIND, inputs.portGroup, target.display, e);
  }
}

export async function read(id: string, props: ResourceProps) {
  const target = hostHandle(props.host as string | undefined);
  try {
    const pg = await readPortGroup(await target.host(), id);
    if (!pg) return { id: undefined, props: undefined };
    const inputs = { ...(props as GuestNetworkInputs), portGroup: id };
    return { id, props: outputs(inputs, pg.networkId ?? (props.networkId as string | undefined) ?? null, pg.vlanId, pg.vswitch, props.created !== false) };
  } catch (e) {
    throw resourceError(KIND, id, target.display, e);
  }
}

export async function update(id: string, olds: ResourceProps, news: ResourceProps) {
  const inputs = parseInputs(check({}, news));
  const target = hostHandle(inputs.host);
  try {
    if (olds.vlanId !== inputs.vlanId || olds.vswitch !== inputs.vswitch) await updatePortGroup(await target.host(), id, inputs.vswitch, inputs.vlanId);
    return { outs: outputs(inputs, (olds.networkId as string | undefined) ?? null, inputs.vlanId, inputs.vswitch, olds.created !== false) };
  } catch (e) {
    throw resourceError(KIND, id, target.display, e);
  }
}

export async function remove(id: string, props: ResourceProps) {
  if (props.created === false) return; // adopted: left in place
  const target = hostHandle(props.host as string | undefined);
  try {
    await removePortGroup(await target.host(), id);
  } catch (e) {
    throw resourceError(KIND, id, target.display, e);
  }
}
