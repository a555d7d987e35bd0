/**
 * Errors returned to the engine name the resource, the host and (for host faults) the vSphere fault. A create
 * that made something before it failed returns it as a partial resource: the engine keeps it in state (the error
 * carries `id`, `properties` and `reasons`, which is how the dynamic-provider plugin reports a partial create).
 */
import { VimFault } from "../vim/faults";

/** What the engine keeps of a partially created resource. */
export interface PartialResource {
  id: string;
  properties: Record<string, unknown>;
  reasons: string[];
}

/** An error the engine records together with the partial resource it carries. */
export class PartialResourceError extends Error implements PartialResource {
  override name = "PartialResourceError";
  constructor(
    message: string,
    readonly id: string,
    readonly properties: Record<string, unknown>,
    readonly reasons: string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The error for the engine: `<kind> "<name>" on ESX host <host>: <message> [vSphere fault <name>]`, once (an
 * error that already names the resource is passed on), with the partial resource when there is one.
 */
export function resourceError(kind: string, name: string, host: string | undefined, e: unknown, partial?: PartialResource): Error {
  const msg = e instanceof Error ? e.message : String(e);
  if (msg.startsWith(`${kind} "${name}"`)) return e as Error;
  const where = host ? ` on ESX host ${host}` : "";
  const fault = e instanceof VimFault ? ` [vSphere fault ${e.faultName}]` : "";
  const message = `${kind} "${name}"${where}: ${msg}${fault}`;
  if (partial) return new PartialResourceError(message, partial.id, partial.properties, partial.reasons, { cause: e });
  return new Error(message, { cause: e });
}
