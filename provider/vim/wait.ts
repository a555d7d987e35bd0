/**
 * Waiting for properties of one object to reach a state (a VM powered off, a guest reporting an address) with
 * `WaitForUpdatesEx`, never by polling at a fixed interval: a property collector of the wait's own with one filter
 * on the object, whose first update is the current state and whose later updates arrive as the host changes it.
 * The collector is destroyed when the wait ends (DestroyPropertyCollector removes its filter with it).
 */
import { VimFault } from "./faults";
import { ManagedObjectType, PathOf, PropertiesOf } from "./managed-objects";
import { VimSession } from "./session";
import { MoRef } from "./xml";

export interface PropertyWaitResult<P> {
  /** The properties as last reported (undefined when the object disappeared). */
  props: P | undefined;
  /** True when `until` held before the deadline (or the object disappeared and `gone` counts as reached). */
  reached: boolean;
}

export interface PropertyWaitOptions {
  timeoutMs: number;
  /** What it means when the object is deleted while waiting: reached (e.g. waiting for a VM to stop) or not. */
  goneCountsAsReached?: boolean;
}

/**
 * Waits until `until(props)` holds for the object's `paths`, or until `timeoutMs` passed; never throws for the
 * deadline (the caller decides what a missed deadline means).
 */
export async function waitForProperties<T extends ManagedObjectType, K extends PathOf<T>>(
  session: VimSession,
  ref: MoRef<T>,
  paths: readonly K[],
  until: (props: PropertiesOf<T, K>) => boolean,
  opts: PropertyWaitOptions,
): Promise<PropertyWaitResult<PropertiesOf<T, K>>> {
  const deadline = Date.now() + opts.timeoutMs;
  const content = await session.serviceContent();
  const created = await session.call("CreatePropertyCollector", content.propertyCollector);
  const collector: MoRef<"PropertyCollector"> = { type: "PropertyCollector", value: created.value };
  const props: Record<string, unknown> = {};
  try {
    try {
      await session.call("CreateFilter", collector, {
        spec: { propSet: [{ type: ref.type, pathSet: [...paths] }], objectSet: [{ obj: ref }] },
        partialUpdates: false,
      });
    } catch (e) {
      if (e instanceof VimFault && e.is("ManagedObjectNotFound")) return { props: undefined, reached: opts.goneCountsAsReached === true };
      throw e;
    }
    let version = "";
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return { props: props as PropertiesOf<T, K>, reached: false };
      const maxWaitSeconds = Math.max(1, Math.min(60, Math.ceil(left / 1000)));
      const update = await session.call("WaitForUpdatesEx", collector, { version, options: { maxWaitSeconds } }, { timeoutMs: (maxWaitSeconds + 30) * 1000 });
      if (!update) continue;
      version = update.version ?? version;
      for (const fu of update.filterSet ?? []) {
        for (const ou of fu.objectSet ?? []) {
          if (ou.kind === "leave") return { props: undefined, reached: opts.goneCountsAsReached === true };
          for (const c of ou.changeSet ?? []) if (c.name) props[c.name] = c.op === "remove" ? undefined : c.val;
        }
      }
      // Each declared path holds the vim25 type managed-objects.ts gives it.
      if (until(props as PropertiesOf<T, K>)) return { props: props as PropertiesOf<T, K>, reached: true };
    }
  } finally {
    await session.call("DestroyPropertyCollector", collector).catch(() => undefined);
  }
}
