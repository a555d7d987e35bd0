/** Bounded retry with exponential backoff, for idempotent Glance calls only (GET, DELETE). */
import { GlanceError } from "./errors";

const TRANSPORT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/**
 * Transport failures and 503 Service Unavailable are worth another try; everything else is final. Applies to
 * GlanceError and KeystoneError (keystone.ts; matched by name, it imports this module).
 */
export function isRetryable(e: unknown): boolean {
  if (!(e instanceof GlanceError) && !(e instanceof Error && e.name === "KeystoneError")) return false;
  const { status, code } = e as { status?: number; code?: string };
  if (status !== undefined) return status === 503;
  return code !== undefined && TRANSPORT_CODES.has(code);
}

export interface RetryPolicy {
  /** Extra attempts after the first. */
  retries: number;
  /** First delay; doubles each attempt up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export async function withRetry<T>(policy: RetryPolicy, fn: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= policy.retries || !isRetryable(e)) throw e;
      const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
