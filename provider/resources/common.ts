/** Input fields and rules shared by the three resources. */
import { z } from "zod";

/**
 * No control characters, quotes, or characters that break datastore paths or VM configuration values; not "." or
 * ".." (a datastore or folder name that would step out of its directory).
 */
export const SAFE_NAME = /^(?!\.{1,2}$)[^\x00-\x1f\x7f"'`\\/[\]#;<>|]+$/;
export const SAFE_NAME_MESSAGE = "must not be . or .. and must not contain control characters, quotes, / \\ [ ] # ; < > |";
/** The characters SAFE_NAME forbids (for deriving a safe name from free text). */
export const UNSAFE_CHARS = /[\x00-\x1f\x7f"'`\\/[\]#;<>|]/g;

/** vSphere guest OS identifiers (ubuntu64Guest, rhel7_64Guest, ...): letters, digits and _. */
export const GUEST_ID = /^[A-Za-z0-9_]{1,64}$/;

export const hostAlias = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be the alias of a host configured in esx:hosts (letters, digits, _ . -)")
  .optional()
  .describe("Alias of the ESX host in esx:hosts this resource belongs to; default: the host of esx:host. Changing it replaces the resource.");

export const ipv4 = z
  .string()
  .refine((s) => /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(s), "must be a dotted-quad IPv4 address");

/** Field-by-field comparison for diff: the fields that differ between old outputs and new inputs. */
export function changedFields(
  olds: Record<string, any>,
  news: Record<string, any>,
  fields: string[],
  normalise: (f: string, v: any) => any = (_f, v) => v,
): string[] {
  return fields.filter((f) => JSON.stringify(normalise(f, olds[f] ?? null)) !== JSON.stringify(normalise(f, news[f] ?? null)));
}

/** Outputs must be JSON-clean: undefined becomes null (arrays and objects too). */
export function jsonClean<T>(v: T): T {
  return JSON.parse(JSON.stringify(v, (_k, x) => (x === undefined ? null : x)));
}
