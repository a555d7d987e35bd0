/**
 * What the driver does when a call's answer is lost (a transport error: the host may or may not have acted).
 * Reads are retried by the session itself; for calls that change the host the use case chooses one of these.
 */
import { VimFault, VimTransportError } from "../vim/faults";

/**
 * Sends a change once. If its answer is lost, `readBack` reads the host: a value other than undefined means the
 * change was made and is returned in place of the lost answer; otherwise the transport error is thrown. The
 * change itself is never repeated.
 */
export async function sendOnce<T>(send: () => Promise<T>, readBack: () => Promise<T | undefined>): Promise<T> {
  try {
    return await send();
  } catch (e) {
    if (!(e instanceof VimTransportError)) throw e;
    let found: T | undefined;
    try {
      found = await readBack();
    } catch {
      /* the host cannot be read either: report the original error */
    }
    if (found === undefined) throw e;
    return found;
  }
}

/** Sends a call once more after a transport error: only for calls whose repetition cannot do harm (deletes, mkdir). */
export async function retryOnceOnTransportError<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (e) {
    if (!(e instanceof VimTransportError)) throw e;
    return send();
  }
}

/** True when `e` is a vSphere fault of one of these names. */
export function isFault(e: unknown, ...names: string[]): e is VimFault {
  return e instanceof VimFault && e.is(...names);
}
