/**
 * EsxInstance: a VM booted from an EsxImage's base disk (linked: a delta disk whose parent is the base disk;
 * full: a copy), NICs on GuestNetworks with fixed MACs, guest addressing in machine.id and cloud-init guestinfo,
 * and a marker (extraConfig pulumi-esx.urn) with the Pulumi URN so an interrupted create is finished, not repeated.
 *
 * | field | change |
 * |---|---|
 * | cpus, memoryMb, guestId | in place, powered off (graceful shutdown first), then back to powerState |
 * | diskGb (grow) | in place (full clones; a linked clone's delta cannot grow: rejected in check) |
 * | networks (port group, address, NIC type, NICs added/removed) | in place, guest data rewritten |
 * | powerState | in place |
 * | rebootTrigger | reboot (RebootGuest with VMware Tools running, else ResetVM) |
 * | host, name, image, cloneMode, userData, adapterType | replace |
 */
import { randomBytes } from "node:crypto";
import { VimFault } from "../vim/faults";
import { checkWithSchema, CheckFailure } from "../dynamic/check";
import { describe } from "../dynamic/errors";
import { host, HostHandle } from "../dynamic/runtime";
import { HostContext } from "../esx/host";
import { addNicSpec, controllerSpec, rootDiskSpec, AdapterType, HostNic } from "../esx/devices";
import {
  copyDisk,
  createVm,
  deleteDatastorePath,
  deleteDisk,
  destroyVm,
  extendDisk,
  listVms,
  makeDirectory,
  powerOn,
  readVm,
  reconfigVm,
  stopVm,
  suspend,
  vmRef,
  VmState,
} from "../esx/vm";
import { checkCidr, normaliseCidr, validateInstanceAddress } from "../net/addressing";
import { retrieveOne } from "../vim/property-collector";
import { MoRef } from "../vim/xml";
import { decodeMachineId } from "../guest/machine-id";
import { confirmed } from "../vim/session";
import { UNSAFE_CHARS } from "./common";
import { ESX_INSTANCE_REPLACE, EsxInstanceInputs, esxInstanceInputs, normaliseAdapter, STATIC_MAC, VM_NAME } from "./esx-instance.schema";
import { converge, desiredDiskBytes, effectiveGuestId, GiB } from "./esx-instance-converge";
import { effectiveNicType, guestConfig, MARKER_KEY, releaseAddresses, resolveNics, ResolvedNic, usedAddresses } from "./esx-instance-guest";
import { instanceOutputs, nicInputsFromOutputs } from "./esx-instance-outputs";

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

export function check(olds: Record<string, any>, news: Record<string, any>) {
  const filled = { ...news };
  if (filled.name === undefined || filled.name === null) {
    if (typeof olds?.name === "string" && olds.resourceName === news.resourceName) filled.name = olds.name;
    else if (typeof news.resourceName === "string" && news.resourceName) filled.name = defaultName(news.resourceName);
    else return { inputs: news, failures: [{ property: "name", reason: "name: required (the sdk sets resourceName to derive a default)" }] };
  }
  return checkWithSchema(esxInstanceInputs, filled, extraChecks);
}

function parse(news: Record<string, any>): EsxInstanceInputs {
  const r = check({ name: news.name }, news);
  if (r.failures.length || !r.value) throw new Error(r.failures.map((f) => f.reason).join("; ") || "inputs are not known");
  return r.value;
}

export function effectiveAdapter(inp: { adapterType?: string | null; image: { adapterType?: string | null } }): AdapterType {
  return (normaliseAdapter(inp.adapterType ?? inp.image?.adapterType ?? "lsilogic") as AdapterType) ?? "lsilogic";
}

// ---------------------------------------------------------------------------------------------------- diff

function normNetwork(n: any): any {
  if (!n) return null;
  let cidr = n.cidr ?? null;
  try {
    if (cidr) cidr = normaliseCidr(cidr);
  } catch {
    /* compared as written */
  }
  return { portGroup: n.portGroup ?? null, cidr, gateway: n.gateway ?? null, dnsServers: n.dnsServers ?? [], allocationRange: n.allocationRange ?? null };
}

function imageKey(i: any): any {
  return i ? { datastorePath: i.datastorePath ?? null, datastore: i.datastore ?? null, capacityBytes: i.capacityBytes ?? null } : null;
}

function networksChanged(olds: any[], news: any[], image: any): boolean {
  if (olds.length !== news.length) return true;
  return news.some((n, i) => {
    const o = olds[i];
    const want = {
      network: normNetwork(n.network),
      ip: n.ip ?? null,
      nicType: n.nicType ?? image?.nicType ?? "vmxnet3",
      mac: n.mac ? String(n.mac).toLowerCase() : null,
    };
    const oldIp = o.requestedIp === "auto" && o.ip ? "auto" : (o.ip ?? null);
    const have = { network: { ...normNetwork(o.network), portGroup: o.portGroup }, ip: oldIp, nicType: o.nicType, mac: n.mac ? o.mac : null };
    return JSON.stringify(want) !== JSON.stringify(have);
  });
}

export function diff(_id: string, olds: Record<string, any>, news: Record<string, any>) {
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  const replaces: string[] = [];
  if (!same(olds.host, news.host)) replaces.push("host");
  if (!same(olds.name, news.name)) replaces.push("name");
  if (!same(imageKey(olds.image), imageKey(news.image))) replaces.push("image");
  if (!same(olds.cloneMode ?? "linked", news.cloneMode ?? "linked")) replaces.push("cloneMode");
  if (!same(olds.userData, news.userData)) replaces.push("userData");
  if (news.image && olds.image && effectiveAdapter(olds as any) !== effectiveAdapter(news as any)) replaces.push("adapterType");
  const updates: string[] = [];
  if (!same(olds.cpus, news.cpus)) updates.push("cpus");
  if (!same(olds.memoryMb, news.memoryMb)) updates.push("memoryMb");
  if (news.image?.capacityBytes !== undefined && typeof olds.diskBytes === "number" && desiredDiskBytes(news as any) > olds.diskBytes) updates.push("diskGb");
  if (!Array.isArray(news.networks) || !Array.isArray(olds.networks) || networksChanged(olds.networks, news.networks, news.image)) updates.push("networks");
  if (news.image && olds.image && effectiveGuestId(olds as any) !== effectiveGuestId(news as any)) updates.push("guestId");
  if (!same(olds.powerState, news.powerState ?? "on")) updates.push("powerState");
  for (const k of ["rebootTrigger", "resourceUrn", "waitForIp"]) if (!same(olds[k], news[k])) updates.push(k);
  if (!same(olds.shutdownTimeoutSeconds ?? 60, news.shutdownTimeoutSeconds ?? 60)) updates.push("shutdownTimeoutSeconds");
  if (!same(olds.adopt ?? false, news.adopt ?? false)) updates.push("adopt");
  const changed = [...replaces, ...updates];
  return { changes: changed.length > 0, replaces: replaces.filter((r) => ESX_INSTANCE_REPLACE.includes(r)), deleteBeforeReplace: replaces.length > 0 };
}

// ---------------------------------------------------------------------------------------------------- create

/** With PULUMI_ESX_TRACE_CALLS set, logs the SOAP calls an operation made (stderr; meaningful when it ran alone). */
function traceStart(h: HostHandle, what: string): () => void {
  if (!process.env.PULUMI_ESX_TRACE_CALLS) return () => undefined;
  const start = h.session.calls.length;
  return () => {
    const ops = h.session.calls.slice(start).map((c) => c.op);
    console.error(`pulumi-esx trace: EsxInstance ${what} ${ops.length} calls: ${ops.join(",")}`);
  };
}

function checkHostLimits(ctx: HostContext, inp: EsxInstanceInputs): void {
  if (ctx.cpuCores > 0 && inp.cpus > ctx.cpuCores) throw new Error(`cpus: ${inp.cpus} is more than the host's ${ctx.cpuCores} cores`);
  const hostMb = Math.floor(ctx.memoryBytes / 1024 / 1024);
  if (hostMb > 0 && inp.memoryMb > hostMb) throw new Error(`memoryMb: ${inp.memoryMb} is more than the host's ${hostMb} MB`);
  if (!ctx.datastores.some((d) => d.name === inp.image.datastore)) {
    throw new Error(`image.datastore: ${inp.image.datastore} is not a datastore of the host (it has ${ctx.datastores.map((d) => d.name).join(", ")})`);
  }
}

/** CreateVM found the name taken (a create racing with ours, e.g. one still running from a killed process). */
class NameTaken extends Error {
  constructor(readonly fault: VimFault) {
    super(fault.message);
  }
}

/** Creation order of two VMs by their managed object ids (ESX numbers them increasingly: "12", "vm-12"). */
function olderThan(a: string, b: string): boolean {
  const n = (s: string) => Number(s.replace(/\D/g, ""));
  return n(a) !== n(b) ? n(a) < n(b) : a < b;
}

/**
 * Another plugin process (another stack) may have allocated the same "auto" address at the same time: in-process
 * reservations do not reach it. After CreateVM, before power-on, the VMs on the host are listed; an address this VM
 * shares with an older VM is given up (the younger VM moves), allocated anew and written to the guest data.
 */
async function settleAllocations(ctx: HostContext, inp: EsxInstanceInputs, name: string, ref: MoRef, nics: ResolvedNic[]): Promise<ResolvedNic[]> {
  for (let round = 0; nics.some((n) => n.input.ip === "auto") && round < 10; round++) {
    const vms = await listVms(ctx);
    const older = new Set<string>();
    for (const v of vms) {
      if (v.ref.value === ref.value || !olderThan(v.ref.value, ref.value)) continue;
      for (const n of decodeMachineId(v.extraConfig["machine.id"] ?? "").nics) older.add(n.ip);
    }
    const clash = nics.filter((n) => n.input.ip === "auto" && n.ip && older.has(n.ip));
    if (!clash.length) return nics;
    releaseAddresses(nics.map((n) => ({ ip: n.input.ip === "auto" ? n.ip : null, cidr: n.input.network.cidr })));
    const keep = new Map(nics.filter((n) => n.ip && !clash.includes(n)).map((n) => [n.mac, n.ip!] as [string, string]));
    const current = nics.map((n) => ({ mac: n.mac }) as HostNic);
    nics = resolveNics(inp, name, usedAddresses(vms, ref.value), current, keep);
    const extra = guestConfig(name, nics, inp.userData, inp.resourceUrn);
    await reconfigVm(ctx, ref, { extraConfig: Object.entries(extra).map(([key, value]) => ({ key, value })) });
  }
  return nics;
}

async function createNew(ctx: HostContext, inp: EsxInstanceInputs, name: string, used: Set<string>): Promise<{ vm: VmState; nics: ResolvedNic[] }> {
  const ds = inp.image.datastore;
  const dir = `[${ds}] ${name}`;
  const diskPath = `${dir}/${name}.vmdk`;
  const adapter = effectiveAdapter(inp);
  const capacity = desiredDiskBytes(inp);
  const full = inp.cloneMode === "full";
  let nics = resolveNics(inp, name, used);
  let madeDir = full;
  let ref;
  try {
    if (full) {
      await makeDirectory(ctx, dir);
      const vimAdapter = adapter === "ide" ? "ide" : adapter === "buslogic" ? "busLogic" : "lsiLogic";
      try {
        await copyDisk(ctx, inp.image.datastorePath, diskPath, vimAdapter);
      } catch (e) {
        // No VM of this name is registered (checked before): a disk at our path is a leftover of an interrupted create.
        if (!(e instanceof VimFault && e.is("FileAlreadyExists"))) throw e;
        await deleteDisk(ctx, diskPath);
        await copyDisk(ctx, inp.image.datastorePath, diskPath, vimAdapter);
      }
      if (capacity > inp.image.capacityBytes) await extendDisk(ctx, diskPath, capacity);
    }
    const ctl = controllerSpec(adapter);
    const deviceChange = [
      ...(ctl.change ? [ctl.change] : []),
      rootDiskSpec({
        controllerKey: ctl.controllerKey,
        fileName: diskPath,
        capacityBytes: capacity,
        parentFileName: full ? undefined : inp.image.datastorePath,
        existing: full,
      }),
      ...nics.map((n, i) => addNicSpec(i, n)),
    ];
    const extra = guestConfig(name, nics, inp.userData, inp.resourceUrn);
    const config = {
      name,
      guestId: effectiveGuestId(inp),
      // A full .vmx path: a second CreateVM of the same name fails (FileAlreadyExists) instead of making "name_1".
      files: { vmPathName: `${dir}/${name}.vmx` },
      numCPUs: inp.cpus,
      memoryMB: inp.memoryMb,
      deviceChange,
      extraConfig: Object.entries(extra).map(([key, value]) => ({ key, value })),
    };
    // CreateVM is not repeated when its answer is lost: the VM this create made is found by name and marker.
    const made = async () => {
      const vm = inp.resourceUrn ? (await listVms(ctx)).find((v) => v.name === name && v.extraConfig[MARKER_KEY] === inp.resourceUrn) : undefined;
      return vm?.ref;
    };
    try {
      ref = await confirmed(() => createVm(ctx, config), made);
    } catch (e) {
      if (e instanceof VimFault && e.is("FileAlreadyExists", "DuplicateName", "AlreadyExists")) throw new NameTaken(e);
      if (!(e instanceof VimFault && e.is("FileNotFound", "CannotCreateFile")) || full) throw e;
      // The host did not make the VM's directory itself: make it and try once more.
      await makeDirectory(ctx, dir);
      madeDir = true;
      try {
        ref = await confirmed(() => createVm(ctx, config), made);
      } catch (e2) {
        if (e2 instanceof VimFault && e2.is("FileNotFound"))
          throw new Error(`image.datastorePath: the base disk ${inp.image.datastorePath} was not found on the host (${e2.hostMessage || e2.faultName})`, {
            cause: e2,
          });
        throw e2;
      }
    }
  } catch (e) {
    releaseAddresses(nics.map((n) => ({ ip: n.input.ip === "auto" ? n.ip : null, cidr: n.input.network.cidr })));
    // Undo what this create made (never a folder another VM of this name owns).
    if (madeDir && !(e instanceof NameTaken)) await deleteDatastorePath(ctx, dir).catch(() => undefined);
    throw e;
  }
  try {
    nics = await settleAllocations(ctx, inp, name, ref, nics);
    if (inp.powerState !== "off") await powerOn(ctx, ref);
    if (inp.powerState === "suspended") await suspend(ctx, ref);
  } catch (e) {
    const vm = await readVm(ctx, ref).catch(() => undefined);
    const msg = e instanceof Error ? e.message : String(e);
    const err = new Error(`VM ${name} (${ref.value}) was created but could not be brought to powerState ${inp.powerState}: ${msg}`);
    if (vm) (err as any).partial = { id: ref.value, properties: instanceOutputs(inp, vm, inp.networks, false), reasons: [msg] };
    throw err;
  }
  const vm = await readVm(ctx, ref);
  if (!vm) throw new Error(`VM ${name} (${ref.value}) disappeared right after its creation`);
  return { vm, nics };
}

async function waitForIp(ctx: HostContext, vm: VmState, timeoutSeconds: number): Promise<string[]> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (let wait = 500; ; wait = Math.min(wait * 2, 5000)) {
    const p = await retrieveOne(ctx.session, vm.ref, ["guest.ipAddress"]);
    const ip = p?.["guest.ipAddress"];
    if (typeof ip === "string" && /^\d+\.\d+\.\d+\.\d+$/.test(ip)) return [ip];
    if (Date.now() >= deadline) throw new Error(`waitForIp: VMware Tools reported no IPv4 address within ${timeoutSeconds} s`);
    await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(0, deadline - Date.now()))));
  }
}

export async function create(news: Record<string, any>) {
  const inp = parse(news);
  const name = inp.name!;
  const h = host(inp.host);
  const trace = traceStart(h, "create");
  try {
    const ctx = await h.ctx();
    checkHostLimits(ctx, inp);
    const vms = await listVms(ctx);
    const existing = vms.find((v) => v.name === name);
    let result: { vm: VmState; nics: ResolvedNic[] };
    let adopted = false;
    if (existing) {
      const marker = existing.extraConfig[MARKER_KEY];
      const ours = !!inp.resourceUrn && marker === inp.resourceUrn;
      if (!ours && !inp.adopt) {
        throw new Error(
          `a VM named ${name} already exists on the host (${existing.ref.value}${marker ? `, made for ${marker}` : ", not made by this provider"}): set adopt: true to take it over`,
        );
      }
      const vm = await readVm(ctx, existing.ref);
      if (!vm) throw new Error(`VM ${name} (${existing.ref.value}) disappeared while being taken over`);
      adopted = !ours;
      result = await converge(ctx, vm, inp, { used: usedAddresses(vms, existing.ref.value) });
    } else {
      try {
        result = await createNew(ctx, inp, name, usedAddresses(vms));
      } catch (e) {
        if (!(e instanceof NameTaken)) throw e;
        const again = (await listVms(ctx)).find((v) => v.name === name);
        const vm = again && inp.resourceUrn && again.extraConfig[MARKER_KEY] === inp.resourceUrn ? await readVm(ctx, again.ref) : undefined;
        if (!vm)
          throw new Error(
            `a VM named ${name} appeared on the host while this one was being created (${e.fault.faultName}): set adopt: true to take it over, or choose another name`,
            { cause: e },
          );
        result = await converge(ctx, vm, inp, { used: usedAddresses(await listVms(ctx), vm.ref.value) });
      }
    }
    let guestIps = result.vm.guestIps;
    if (inp.waitForIp && inp.powerState === "on") {
      try {
        guestIps = await waitForIp(ctx, result.vm, inp.waitForIp.timeoutSeconds);
      } catch (e) {
        const msg = (e as Error).message;
        const err = new Error(msg);
        (err as any).partial = { id: result.vm.ref.value, properties: instanceOutputs(inp, result.vm, inp.networks, adopted), reasons: [msg] };
        throw err;
      }
    }
    trace();
    return { id: result.vm.ref.value, outs: instanceOutputs(inp, { ...result.vm, guestIps }, inp.networks, adopted) };
  } catch (e) {
    // A partial resource is stored by the engine as is: it needs the serialized provider like any output.
    const partial = (e as any)?.partial;
    if (partial?.properties && news.__provider !== undefined) partial.properties.__provider = news.__provider;
    throw describe(KIND, name, h.display, e);
  }
}

// ---------------------------------------------------------------------------------------------------- read

export async function read(id: string, props: Record<string, any>) {
  const h = host(props.host);
  try {
    const ctx = await h.ctx();
    const vm = await readVm(ctx, vmRef(id));
    if (!vm) return { id: undefined, props: undefined };
    return { id, props: instanceOutputs(props as any, vm, nicInputsFromOutputs(props), props.adopted === true) };
  } catch (e) {
    throw describe(KIND, props.name ?? id, h.display, e);
  }
}

// ---------------------------------------------------------------------------------------------------- update

export async function update(id: string, olds: Record<string, any>, news: Record<string, any>) {
  const inp = parse(news);
  const h = host(inp.host);
  try {
    const ctx = await h.ctx();
    const vm = await readVm(ctx, vmRef(id));
    if (!vm) throw new Error(`VM ${id} no longer exists on the host: run pulumi refresh, then up to create it again`);
    checkHostLimits(ctx, inp);
    // The host's other VMs matter only for allocating "auto" addresses: no list otherwise (one round trip less).
    const auto = inp.networks.some((n: { ip?: string | null }) => n.ip === "auto");
    const used = auto ? usedAddresses(await listVms(ctx), id) : new Set<string>();
    const reboot = (olds.rebootTrigger ?? null) !== (inp.rebootTrigger ?? null);
    const trace = traceStart(h, "update");
    const r = await converge(ctx, vm, inp, { used, reboot });
    const kept = new Set(r.nics.map((n) => n.ip));
    releaseAddresses(nicAddresses(olds).filter((n) => !kept.has(n.ip)));
    trace();
    return { outs: instanceOutputs(inp, r.vm, inp.networks, olds.adopted === true) };
  } catch (e) {
    throw describe(KIND, inp.name ?? id, h.display, e);
  }
}

// ---------------------------------------------------------------------------------------------------- delete

function nicAddresses(props: Record<string, any>): { ip: string | null; cidr: string | null }[] {
  return (Array.isArray(props.networks) ? props.networks : []).map((n: any) => ({ ip: n.ip ?? null, cidr: n.network?.cidr ?? null }));
}

function folderOf(vmxPath: string | null | undefined): string | undefined {
  const m = /^\[([^\]]+)\] ?(.*)$/.exec(vmxPath ?? "");
  if (!m) return undefined;
  const dir = m[2].includes("/") ? m[2].slice(0, m[2].lastIndexOf("/")) : "";
  return dir ? `[${m[1]}] ${dir}` : undefined;
}

export async function remove(id: string, props: Record<string, any>) {
  const h = host(props.host);
  try {
    const ctx = await h.ctx();
    const vm = await readVm(ctx, vmRef(id));
    if (!vm) return void releaseAddresses(nicAddresses(props));
    const folder = folderOf(vm.vmxPath ?? props.vmxPath);
    await stopVm(ctx, vm, props.shutdownTimeoutSeconds ?? 60);
    // A linked clone's disk names the image's base disk as parent: detach it (no file operation) so that
    // Destroy_Task has no disk chain to delete; the delta files go with the VM's folder.
    const linked = vm.devices.disks.filter((d) => d.parentFileName);
    if (linked.length) {
      const detach = {
        deviceChange: linked.map((d) => ({
          operation: "remove",
          device: {
            _type: "VirtualDisk",
            key: d.key,
            controllerKey: Number(d.raw.controllerKey),
            unitNumber: Number(d.raw.unitNumber),
            capacityInKB: Math.ceil(d.capacityBytes / 1024),
          },
        })),
      };
      await confirmed(
        () => reconfigVm(ctx, vm.ref, detach).then(() => true),
        async () => ((await readVm(ctx, vm.ref))?.devices.disks.some((d) => d.parentFileName) === false ? true : undefined),
      );
    }
    await destroyVm(ctx, vm.ref);
    releaseAddresses(nicAddresses(props));
    if (folder) await deleteDatastorePath(ctx, folder);
  } catch (e) {
    throw describe(KIND, props.name ?? id, h.display, e);
  }
}

export { VM_NAME, effectiveNicType };
