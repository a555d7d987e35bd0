/** Waiting for the guest's IPv4 address (VMware Tools report it in guest.ipAddress), with a property wait. */
import { VirtualMachine } from "../../esx/virtual-machine";
import { ipv4OrUndefined } from "../vm-state";

/** The guest's first IPv4 address; throws when VMware Tools reported none within `timeoutSeconds`. */
export async function waitForGuestIp(vm: VirtualMachine, timeoutSeconds: number): Promise<string[]> {
  const r = await vm.waitFor(["guest.ipAddress"], (p) => ipv4OrUndefined(p["guest.ipAddress"]) !== undefined, { timeoutMs: timeoutSeconds * 1000 });
  const ip = ipv4OrUndefined(r.props?.["guest.ipAddress"]);
  if (!r.reached || !ip) throw new Error(`waitForIp: VMware Tools reported no IPv4 address within ${timeoutSeconds} s`);
  return [ip];
}
