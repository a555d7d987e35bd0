/**
 * GuestNetwork: a port group with its VLAN on a standard vSwitch, plus the subnet its guests are addressed from.
 * Create: AddPortGroup (an existing one only with adopt); update: UpdatePortGroup for the VLAN (addressing is
 * data for instances); read: the port group as the host has it; delete: RemovePortGroup if this resource made it
 * and no VM uses it.
 */
import { VimFault } from "../vim/faults";
import { broadcast, netmask, normaliseCidr, prefix, validateNetworkAddressing } from "../net/addressing";
import { checkWithSchema } from "../dynamic/check";
import { describe } from "../dynamic/errors";
import { host } from "../dynamic/runtime";
import { addPortGroup, findNetwork, readNetworkInfo, removePortGroup, updatePortGroup, vmNames } from "../esx/network";
import { HostContext } from "../esx/host";
import { confirmed } from "../vim/session";
import { changedFields, jsonClean } from "./common";
import { GUEST_NETWORK_REPLACE, GUEST_NETWORK_UPDATE, GuestNetworkInputs, GuestNetworkOutputs, guestNetworkInputs } from "./guest-network.schema";

const KIND = "GuestNetwork";

export function check(_olds: Record<string, any>, news: Record<string, any>) {
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

function normalise(field: string, v: any): any {
  if (field === "cidr" && typeof v === "string") {
    try {
      return normaliseCidr(v);
    } catch {
      return v;
    }
  }
  if (field === "vswitch") return v ?? "vSwitch0";
  if (field === "vlanId") return v ?? 0;
  if (field === "dnsServers") return v ?? [];
  if (field === "adopt") return v ?? false;
  return v;
}

export function diff(_id: string, olds: Record<string, any>, news: Record<string, any>) {
  const changed = changedFields(olds, news, [...GUEST_NETWORK_REPLACE, ...GUEST_NETWORK_UPDATE], normalise);
  const replaces = changed.filter((f) => GUEST_NETWORK_REPLACE.includes(f));
  return {
    changes: changed.length > 0,
    replaces,
    // Same port group name on the host: the old one must go before the new one can be made.
    deleteBeforeReplace: replaces.length > 0 && !replaces.includes("portGroup"),
  };
}

function outputs(inp: GuestNetworkInputs, networkId: string | null, vlanId: number, vswitch: string, created: boolean): GuestNetworkOutputs {
  const cidr = inp.cidr ? normaliseCidr(inp.cidr) : undefined;
  return jsonClean({
    ...inp,
    host: inp.host ?? null,
    vswitch,
    vlanId,
    cidr: cidr ?? null,
    networkId,
    netmask: cidr ? netmask(cidr) : null,
    broadcast: cidr ? broadcast(cidr) : null,
    prefixLength: cidr ? prefix(cidr) : null,
    gateway: inp.gateway ?? null,
    allocationRange: inp.allocationRange ?? null,
    created,
  } as any);
}

function parse(news: Record<string, any>): GuestNetworkInputs {
  const r = check({}, news);
  if (r.failures.length || !r.value) throw new Error(r.failures.map((f) => f.reason).join("; ") || "inputs are not known");
  return r.value;
}

async function adoptExisting(ctx: HostContext, inp: GuestNetworkInputs): Promise<GuestNetworkOutputs> {
  const info = await readNetworkInfo(ctx);
  const pg = info.portGroups.find((p) => p.name === inp.portGroup);
  if (!pg) throw new Error(`port group ${inp.portGroup} disappeared while being adopted`);
  if (pg.vswitch !== inp.vswitch) {
    throw new Error(`port group ${inp.portGroup} exists on ${pg.vswitch}, not on ${inp.vswitch}: set vswitch: "${pg.vswitch}" to adopt it`);
  }
  if (pg.vlanId !== inp.vlanId) await updatePortGroup(ctx, inp.portGroup, inp.vswitch, inp.vlanId);
  const net = await findNetwork(ctx, inp.portGroup);
  return outputs(inp, net?.ref.value ?? null, inp.vlanId, inp.vswitch, false);
}

export async function create(news: Record<string, any>) {
  const inp = parse(news);
  const h = host(inp.host);
  try {
    const ctx = await h.ctx();
    const portGroup = async () => (await readNetworkInfo(ctx)).portGroups.find((p) => p.name === inp.portGroup && p.vswitch === inp.vswitch);
    try {
      // Known absent first: if AddPortGroup's answer is lost, a port group found afterwards is the one it made.
      if (await portGroup()) throw new VimFault("AlreadyExists", h.display, `port group ${inp.portGroup} exists`, "AddPortGroup");
      await confirmed(
        () => addPortGroup(ctx, inp.portGroup, inp.vswitch, inp.vlanId).then(() => true),
        async () => ((await portGroup()) ? true : undefined),
      );
    } catch (e) {
      if (e instanceof VimFault && e.is("AlreadyExists", "DuplicateName")) {
        if (inp.adopt) return { id: inp.portGroup, outs: await adoptExisting(ctx, inp) };
        throw new Error(`port group ${inp.portGroup} already exists on the host: set adopt: true to take it over (it is then left in place on delete)`, {
          cause: e,
        });
      }
      if (e instanceof VimFault && e.is("NotFound")) {
        const info = await readNetworkInfo(ctx);
        if (!info.vswitches.includes(inp.vswitch)) {
          throw new Error(`vSwitch ${inp.vswitch} does not exist on the host; it has: ${info.vswitches.join(", ") || "none"}`, { cause: e });
        }
      }
      throw e;
    }
    const net = await findNetwork(ctx, inp.portGroup);
    return { id: inp.portGroup, outs: outputs(inp, net?.ref.value ?? null, inp.vlanId, inp.vswitch, true) };
  } catch (e) {
    throw describe(KIND, inp.portGroup, h.display, e);
  }
}

export async function read(id: string, props: Record<string, any>) {
  const h = host(props.host);
  try {
    const ctx = await h.ctx();
    const info = await readNetworkInfo(ctx);
    const pg = info.portGroups.find((p) => p.name === id);
    if (!pg) return { id: undefined, props: undefined };
    const net = await findNetwork(ctx, id);
    const inp = { ...(props as GuestNetworkInputs), portGroup: id };
    return { id, props: outputs(inp, net?.ref.value ?? props.networkId ?? null, pg.vlanId, pg.vswitch, props.created !== false) };
  } catch (e) {
    throw describe(KIND, id, h.display, e);
  }
}

export async function update(id: string, olds: Record<string, any>, news: Record<string, any>) {
  const inp = parse(news);
  const h = host(inp.host);
  try {
    const ctx = await h.ctx();
    if (olds.vlanId !== inp.vlanId || olds.vswitch !== inp.vswitch) {
      await confirmed(
        () => updatePortGroup(ctx, id, inp.vswitch, inp.vlanId).then(() => true),
        async () =>
          (await readNetworkInfo(ctx)).portGroups.some((p) => p.name === id && p.vswitch === inp.vswitch && p.vlanId === inp.vlanId) ? true : undefined,
      );
    }
    return { outs: outputs(inp, olds.networkId ?? null, inp.vlanId, inp.vswitch, olds.created !== false) };
  } catch (e) {
    throw describe(KIND, id, h.display, e);
  }
}

export async function remove(id: string, props: Record<string, any>) {
  if (props.created === false) return; // adopted: left in place
  const h = host(props.host);
  try {
    const ctx = await h.ctx();
    const net = await findNetwork(ctx, id);
    if (net && net.vms.length) {
      const names = await vmNames(ctx, net.vms);
      throw new Error(`port group ${id} is still used by VM(s) ${names.join(", ")}: nothing was removed; delete or move those VMs first`);
    }
    try {
      await confirmed(
        () => removePortGroup(ctx, id).then(() => true),
        async () => ((await readNetworkInfo(ctx)).portGroups.some((p) => p.name === id) ? undefined : true),
      );
    } catch (e) {
      if (e instanceof VimFault && e.is("NotFound")) return;
      if (e instanceof VimFault && e.is("ResourceInUse")) {
        const again = await findNetwork(ctx, id);
        const names = again ? await vmNames(ctx, again.vms) : [];
        throw new Error(`port group ${id} is still used by VM(s) ${names.join(", ") || "(unknown)"}: nothing was removed`, { cause: e });
      }
      throw e;
    }
  } catch (e) {
    throw describe(KIND, id, h.display, e);
  }
}
