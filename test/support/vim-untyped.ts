/**
 * The vim layer's reads and task calls with loose types, for tests (and the demo) that inspect the host in ways
 * the provider itself does not: any property path, specs built by hand. The provider uses the typed functions in
 * provider/vim; these only widen their types.
 */
import * as pc from "../../provider/vim/property-collector";
import type { VimSession } from "../../provider/vim/session";
import * as tasks from "../../provider/vim/tasks";
import type { MoRef } from "../../provider/vim/xml";

export interface LooseObjectProps {
  ref: MoRef;
  props: Record<string, any>;
  missing: Record<string, string>;
}

/** All objects of the given types in the host's inventory, with the requested properties, in one call. */
export function retrieveInventory(session: VimSession, want: Record<string, string[]>): Promise<LooseObjectProps[]> {
  return (pc.retrieveInventory as (s: VimSession, w: Record<string, string[]>) => Promise<LooseObjectProps[]>)(session, want);
}

/** Properties of one object; undefined when it no longer exists. */
export function retrieveOne(session: VimSession, ref: MoRef, paths: string[]): Promise<Record<string, any> | undefined> {
  return (pc.retrieveOne as (s: VimSession, r: MoRef, p: string[]) => Promise<Record<string, any> | undefined>)(session, ref, paths);
}

/** Invokes a `*_Task` method and waits for it. */
export function runTask<T = any>(session: VimSession, op: string, self: MoRef, args: Record<string, unknown> = {}): Promise<T> {
  return (tasks.runTask as (s: VimSession, o: string, m: MoRef, a: Record<string, unknown>) => Promise<T>)(session, op, self, args);
}
