/**
 * Automatic IPv4 addresses (`ip: "auto"`): the lowest address of the network's range that no VM on the host has
 * in its machine.id and that no allocation in flight in this process holds. The allocator is owned by the
 * driver (one per provider process, shared by every host and resource), so concurrent creates of one process
 * never get the same address; creates in other processes are settled after CreateVM (instance/create.ts).
 */
import { decodeMachineId } from "../guest/machine-id";
import { allocate, AllocationRange, contains, ipv4ToNumber, normaliseCidr } from "../net/addressing";

export interface AddressLease {
  ip: string | null;
  cidr?: string | null;
}

export class AddressAllocator {
  /** Addresses handed out and not released, per normalised subnet. */
  private readonly reservations = new Map<string, Set<string>>();

  /**
   * Reserves an address in `cidr`'s `range`: `keep` when it is still in the range, else the lowest address not
   * `used` by another VM, not reserved here and not `excluded`. Synchronous, so concurrent
   * allocations in this process never share an address. Undefined when the range is exhausted.
   */
  allocate(cidr: string, range: AllocationRange, used: Set<string>, excluded: Iterable<string>, keep?: string): { ip: string; fresh: boolean } | undefined {
    const subnet = normaliseCidr(cidr);
    const set = this.reservations.get(subnet) ?? new Set<string>();
    this.reservations.set(subnet, set);
    const inRange = (a: string) => contains(subnet, a) && ipv4ToNumber(a) >= ipv4ToNumber(range.start) && ipv4ToNumber(a) <= ipv4ToNumber(range.end);
    let out: { ip: string; fresh: boolean } | undefined;
    if (keep && inRange(keep)) out = { ip: keep, fresh: false };
    else {
      const got = allocate(range, used, [...set, ...excluded]);
      out = got ? { ip: got, fresh: true } : undefined;
    }
    if (out) {
      set.add(out.ip);
      used.add(out.ip);
    }
    return out;
  }

  /** Gives addresses back (a deleted VM's, a failed create's, an update that moved away from them). */
  release(leases: AddressLease[]): void {
    for (const l of leases) if (l.ip && l.cidr) this.reservations.get(normaliseCidr(l.cidr))?.delete(l.ip);
  }
}

/** IPv4 addresses in the machine.id of every VM except `self`. */
export function usedAddresses(vms: { ref: { value: string }; extraConfig: Record<string, string> }[], selfId?: string): Set<string> {
  const used = new Set<string>();
  for (const vm of vms) {
    if (vm.ref.value === selfId) continue;
    for (const n of decodeMachineId(vm.extraConfig["machine.id"] ?? "").nics) used.add(n.ip);
  }
  return used;
}
