/**
 * EsxInstance: a VM booted from an EsxImage's base disk. check (zod and the cross-field rules), diff (the field
 * table), one driver call (driver/instance/*), outputs. What happens on the host: create.ts (CreateVM_Task and
 * the power state), converge.ts with plan.ts (update: one ReconfigVM_Task, power steps around it), destroy.ts.
 */
import { randomBytes } from "node:crypto";
import { checkWithSchema, CheckFailure, CheckOutcome } from "../dynamic/check";
import { resourceError } from "../dynamic/errors";
import { hostHandle } from "../dynamic/runtime";
import { PartialFailure } from "../driver/errors";
import { createInstance, PartialInstance } from "../driver/instance/create";
import { destroyInstance } from "../driver/instance/destroy";
import { GiB } from "../driver/instance/plan";
import { InstanceSpec } from "../driver/instance/spec";
import { readInstance, updateInstance } from "../driver/instance/update";
import { parseAdapterType } from "../hardware";
import { operationLogger } from "../log";
import { checkCidr, validateInstanceAddress } from "../net/addressing";
import { parseInputs, ResourceProps, UNSAFE_CHARS } from "./common";
import { ESX_INSTANCE_FIELDS, EsxInstanceInputs, esxInstanceInputs, STATIC_MAC } from "./esx-instance.schema";
import { instanceOutputs, nicInputsFromOutputs, recordedLeases } from "./esx-instance-outputs";
import { diffByTable } from "./fields";

const KIND = "EsxInstance";

function defaultName(resourceName: string): string {
  const base = resourceName.replace(UNSAFE_CHARS, "-").slice(0, 73);
  return `${base}-${randomBytes(3).toString("hex")}`;
}

function extraChecks(v: EsxInstanceInputs): CheckFailure[] {
  const f: CheckFailure[] = [];
  const fail = (property: string, reason: string) => f.push({ property, reason: `${property}: ${reason}` });
  const cap = v.image.capacityBytes;
  if (v.diskGb !== undefined) {
    const bytes = v.diskGb * GiB;
    if (bytes < cap) fail("diskGb", `${v.diskGb} GiB is smaller than the image (${(cap / GiB).toFixed(3)} GiB); disks never shrink`);
    else if (v.cloneMode === "linked" && Math.round(bytes) > cap)
      fail(
        "diskGb",
        `a linked clone's delta disk has the image's size (${(cap / GiB).toFixed(3)} GiB) and cannot grow: use cloneMode: "full" to get a larger disk`,
      );
  }
  const macs = new Map<string, number>();
  const ips = new Map<string, number>();
  v.networks.forEach((n, i) => {
    if (n.mac) {
      const m = n.mac.toLowerCase();
      if (!STATIC_MAC.test(m)) fail(`networks[${i}].mac`, `${m} is outside VMware's static range 00:50:56:00:00:00-00:50:56:3f:ff:ff`);
      if (macs.has(m)) fail(`networks[${i}].mac`, `${m} is also the MAC of networks[${macs.get(m)}]`);
      macs.set(m, i);
    }
    const net = n.network;
    if (net.cidr) for (const issue of checkCidr(net.cidr, `networks[${i}].network.cidr`)) fail(issue.field, issue.message.replace(`${issue.field}: `, ""));
    if (n.ip === "auto" && (!net.cidr || !net.allocationRange))
      fail(`networks[${i}].ip`, `"auto" needs a network with cidr and allocationRange (${net.portGroup} has ${net.cidr ? "no allocationRange" : "no cidr"})`);
    if (n.ip && n.ip !== "auto") {
      if (!net.cidr) fail(`networks[${i}].ip`, `a static address needs a network with a cidr (${net.portGroup} has none)`);
      else {
        for (const issue of validateInstanceAddress(n.ip, { cidr: net.cidr, gateway: net.gateway ?? undefined }, `networks[${i}].ip`))
          f.push({ property: issue.field, reason: issue.message });
        if (ips.has(n.ip)) fail(`networks[${i}].ip`, `${n.ip} is also the address of networks[${ips.get(n.ip)}]`);
        ips.set(n.ip, i);
      }
    }
  });
  return f;
}

export function check(olds: ResourceProps, news: ResourceProps): CheckOutcome<EsxInstanceInputs> {
  const filled = { ...news };
  if (filled.name === undefined || filled.name === null) {
    if (typeof olds?.name === "string" && olds.resourceName === news.resourceName) filled.name = olds.name;
    else if (typeof news.resourceName === "string" && news.resourceName) filled.name = defaultName(news.resourceName);
    else return { inputs: news, failures: [{ property: "name", reason: "name: required (the sdk sets resourceName to derive a default)" }] };
  }
  return checkWithSchema(esxInstanceInputs, filled, extraChecks);
}

export function diff(_id: string, olds: ResourceProps, news: ResourceProps) {
  const { changes, replaces } = diffByTable(ESX_INSTANCE_FIELDS, olds, news);
  return { changes, replaces, deleteBeforeReplace: replaces.length > 0 };
}

function parse(news: ResourceProps): EsxInstanceInputs {
  return parseInputs(check({ name: news.name }, news));
}

const orUndefined = <T>(v: T | null | undefined): T | undefined => v ?? undefined;

/** The validated inputs as the driver's domain input. */
export function instanceSpec(inputs: EsxInstanceInputs): InstanceSpec {
  return {
    name: inputs.name!,
    resourceUrn: inputs.resourceUrn,
    image: {
      datastorePath: inputs.image.datastorePath,
      datastore: inputs.image.datastore,
      capacityBytes: inputs.image.capacityBytes,
      adapterType: parseAdapterType(inputs.image.adapterType),
      guestId: orUndefined(inputs.image.guestId),
      nicType: orUndefined(inputs.image.nicType),
    },
    cpus: inputs.cpus,
    memoryMb: inputs.memoryMb,
    diskGb: inputs.diskGb,
    cloneMode: inputs.cloneMode,
    networks: inputs.networks.map((n) => ({
      network: {
        portGroup: n.network.portGroup,
        cidr: orUndefined(n.network.cidr),
        gateway: orUndefined(n.network.gateway),
        dnsServers: orUndefined(n.network.dnsServers),
        allocationRange: orUndefined(n.network.allocationRange),
      },
      ip: n.ip,
      nicType: n.nicType,
      mac: n.mac,
    })),
    guestId: inputs.guestId,
    adapterType: inputs.adapterType,
    powerState: inputs.powerState,
    userData: inputs.userData,
    waitForIpSeconds: inputs.waitForIp?.timeoutSeconds,
    shutdownTimeoutSeconds: inputs.shutdownTimeoutSeconds,
    adopt: inputs.adopt,
  };
}

export async function create(news: ResourceProps) {
  const inputs = parse(news);
  const name = inputs.name!;
  const target = hostHandle(inputs.host);
  try {
    const r = await createInstance(await target.host(), instanceSpec(inputs), operationLogger(`${KIND} ${name}`, inputs.resourceUrn));
    return { id: r.vm.ref.value, outs: instanceOutputs(inputs, r.vm, inputs.networks, r.adopted) };
  } catch (e) {
    if (!(e instanceof PartialFailure)) throw resourceError(KIND, name, target.display, e);
    const partial = e as PartialInstance;
    // A partial resource is stored by the engine as is: it needs the serialized provider like any output.
    const properties: Record<string, unknown> = { ...instanceOutputs(inputs, partial.state.vm, inputs.networks, partial.state.adopted) };
    if (news.__provider !== undefined) properties.__provider = news.__provider;
    throw resourceError(KIND, name, target.display, e, { id: partial.id, properties, reasons: [partial.message] });
  }
}

export async function read(id: string, props: ResourceProps) {
  const target = hostHandle(props.host as string | undefined);
  try {
    const vm = await readInstance(await target.host(), id);
    if (!vm) return { id: undefined, props: undefined };
    return { id, props: instanceOutputs(props, vm, nicInputsFromOutputs(props), props.adopted === true) };
  } catch (e) {
    throw resourceError(KIND, String(props.name ?? id), target.display, e);
  }
}

export async function update(id: string, olds: ResourceProps, news: ResourceProps) {
  const inputs = parse(news);
  const target = hostHandle(inputs.host);
  try {
    const reboot = (olds.rebootTrigger ?? null) !== (inputs.rebootTrigger ?? null);
    const r = await updateInstance(await target.host(), id, instanceSpec(inputs), { reboot, previous: recordedLeases(olds) });
    return { outs: instanceOutputs(inputs, r.vm, inputs.networks, olds.adopted === true) };
  } catch (e) {
    throw resourceError(KIND, inputs.name ?? id, target.display, e);
  }
}

export async function remove(id: string, props: ResourceProps) {
  const target = hostHandle(props.host as string | undefined);
  try {
    await destroyInstance(await target.host(), id, {
      shutdownTimeoutSeconds: typeof props.shutdownTimeoutSeconds === "number" ? props.shutdownTimeoutSeconds : 60,
      vmxPath: typeof props.vmxPath === "string" ? props.vmxPath : undefined,
      leases: recordedLeases(props),
    });
  } catch (e) {
    throw resourceError(KIND, String(props.name ?? id), target.display, e);
  }
}
