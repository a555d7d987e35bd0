/** Errors returned to the engine name the resource, the host and (for host faults) the vSphere fault. */
import { VimFault } from "../vim/faults";

export class ResourceError extends Error {
  constructor(
    message: string,
    readonly cause?: unknown,
  ) {
    super(message);
    this.name = "ResourceError";
  }
}

export function describe(kind: string, name: string, host: string | undefined, e: unknown): Error {
  const msg = e instanceof Error ? e.message : String(e);
  const where = host ? ` on ESX host ${host}` : "";
  const fault = e instanceof VimFault ? ` [vSphere fault ${e.faultName}]` : "";
  if (msg.startsWith(`${kind} "${name}"`)) return e as Error;
  const err = new ResourceError(`${kind} "${name}"${where}: ${msg}${fault}`, e);
  const partial = (e as any)?.partial;
  if (partial) Object.assign(err, partial);
  return err;
}
