/** Errors of the use cases that carry more than a message. */

/**
 * A create that made something and then failed: the resource exists on the host (its id) in the state given,
 * and should be tracked (the next run finishes it) rather than forgotten. `state` is the use case's own view of
 * what exists (an instance's VM state); the caller turns it into what it records.
 */
export class PartialFailure<S> extends Error {
  override name = "PartialFailure";
  constructor(
    message: string,
    readonly id: string,
    readonly state: S,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
