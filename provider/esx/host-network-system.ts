/** HostNetworkSystem: the port groups of the host's standard vSwitches. */
import type { HostPortGroupSpec } from "../vim/types.generated";
import { ManagedObject } from "./managed-object";

export class HostNetworkSystem extends ManagedObject<"HostNetworkSystem"> {
  /** AddPortGroup */
  async addPortGroup(portgrp: HostPortGroupSpec): Promise<void> {
    await this.session.call("AddPortGroup", this.ref, { portgrp });
  }

  /** UpdatePortGroup of the port group named `pgName` (its spec may rename it). */
  async updatePortGroup(pgName: string, portgrp: HostPortGroupSpec): Promise<void> {
    await this.session.call("UpdatePortGroup", this.ref, { pgName, portgrp });
  }

  /** RemovePortGroup */
  async removePortGroup(pgName: string): Promise<void> {
    await this.session.call("RemovePortGroup", this.ref, { pgName });
  }
}
