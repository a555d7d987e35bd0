/**
 * The base of the managed-object wrappers in this directory (the model is govmomi's `object/` package): a wrapper
 * holds the session and the object's reference; each method is one typed vim25 request that answers a value or
 * a Task (wait for it with `task.wait()`), with no policy inside (retries, tolerated faults and what a lost answer
 * means are decided by the driver's use cases).
 */
import { ManagedObjectType, PathOf, PropertiesOf } from "../vim/managed-objects";
import { retrieveOne } from "../vim/property-collector";
import { VimSession } from "../vim/session";
import { PropertyWaitOptions, PropertyWaitResult, waitForProperties } from "../vim/wait";
import { MoRef } from "../vim/xml";

export class ManagedObject<T extends ManagedObjectType> {
  constructor(
    readonly session: VimSession,
    readonly ref: MoRef<T>,
  ) {}

  /** The object's id on the host (e.g. "vm-12"). */
  get id(): string {
    return this.ref.value;
  }

  /** RetrievePropertiesEx of some properties; undefined when the object no longer exists. */
  properties<K extends PathOf<T>>(paths: readonly K[]): Promise<PropertiesOf<T, K> | undefined> {
    return retrieveOne(this.session, this.ref, paths);
  }

  /**
   * Waits until `until` holds for some properties (WaitForUpdatesEx on a property collector of the wait's own:
   * several requests, none of them a poll), or until the timeout; the result says which.
   */
  waitFor<K extends PathOf<T>>(
    paths: readonly K[],
    until: (props: PropertiesOf<T, K>) => boolean,
    opts: PropertyWaitOptions,
  ): Promise<PropertyWaitResult<PropertiesOf<T, K>>> {
    return waitForProperties(this.session, this.ref, paths, until, opts);
  }
}
