/**
 * The driver and its view of one host. The driver is owned by the provider's runtime (one per process): it holds
 * what the use cases share across hosts and resources (the address allocator, options). An EsxHost is one
 * host's context (its discovered objects and placement, vim/esx wrappers for its service objects) that every
 * use case takes as its first argument.
 */
import { FileManager } from "../esx/file-manager";
import { Folder } from "../esx/folder";
import { connect, HostContext, hostContext, Placement } from "../esx/host";
import { HostNetworkSystem } from "../esx/host-network-system";
import { VirtualDiskManager } from "../esx/virtual-disk-manager";
import { VirtualMachine } from "../esx/virtual-machine";
import type { HostConnection } from "../vim/config";
import type { VimSession } from "../vim/session";
import type { MoRef } from "../vim/xml";
import { AddressAllocator } from "./addresses";

export interface DriverOptions {
  /** An image-cache lock whose holder stopped renewing it for this long is taken over (ms). */
  lockStaleMs: number;
  /** Print the vSphere calls each instance operation made (stderr). */
  traceCalls: boolean;
}

export const DEFAULT_DRIVER_OPTIONS: DriverOptions = { lockStaleMs: 120_000, traceCalls: false };

/** Progress and notes of a use case (the caller shows them, e.g. under the resource). */
export type Logger = (message: string) => void;

export class Driver {
  /** Automatic addresses handed out by this process (instance/nics.ts). */
  readonly addresses = new AddressAllocator();
  private readonly hosts = new WeakMap<HostContext, EsxHost>();

  constructor(readonly options: DriverOptions = DEFAULT_DRIVER_OPTIONS) {}

  /** The host reached through `conn` (its session is shared per host and user; its objects discovered once). */
  async host(conn: HostConnection): Promise<EsxHost> {
    return this.hostOf(connect(conn));
  }

  async hostOf(session: VimSession): Promise<EsxHost> {
    const ctx = await hostContext(session);
    let h = this.hosts.get(ctx);
    if (!h) this.hosts.set(ctx, (h = new EsxHost(this, ctx)));
    return h;
  }
}

export class EsxHost {
  readonly fileManager: FileManager;
  readonly virtualDiskManager: VirtualDiskManager;
  readonly networkSystem: HostNetworkSystem;

  constructor(
    readonly driver: Driver,
    readonly ctx: HostContext,
  ) {
    this.fileManager = new FileManager(ctx.session, ctx.fileManager);
    this.virtualDiskManager = new VirtualDiskManager(ctx.session, ctx.virtualDiskManager);
    this.networkSystem = new HostNetworkSystem(ctx.session, ctx.networkSystem);
  }

  get session(): VimSession {
    return this.ctx.session;
  }

  /** host[:port] as configured, for messages. */
  get display(): string {
    return this.ctx.session.host;
  }

  get addresses(): AddressAllocator {
    return this.driver.addresses;
  }

  /** Where new VMs go (the standalone host's datacenter, VM folder, resource pool). */
  get placement(): Placement {
    return this.ctx.placement;
  }

  get vmFolder(): Folder {
    return new Folder(this.session, this.placement.vmFolder);
  }

  vm(ref: MoRef<"VirtualMachine">): VirtualMachine {
    return new VirtualMachine(this.session, ref);
  }

  /** With traceCalls, returns a function that prints the vSphere calls made since (meaningful when run alone). */
  trace(what: string): () => void {
    if (!this.driver.options.traceCalls) return () => undefined;
    const start = this.session.calls.length;
    return () => {
      const ops = this.session.calls.slice(start).map((c) => c.op);
      console.error(`pulumi-esx trace: ${what} ${ops.length} calls: ${ops.join(",")}`);
    };
  }
}
