/** Input fields and rules shared by the three resources, and what every handler needs. */
import { z } from "zod";
import { CheckOutcome } from "../dynamic/check";

/** The resource kinds of this package (the sdk's classes, the plugin's registry). */
export type Kind = "GuestNetwork" | "EsxImage" | "EsxInstance";

/** The properties the engine passes to a handler (inputs or outputs, with unknowns during preview). */
export type ResourceProps = Record<string, unknown>;

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

/** The validated inputs of a create or update (check passed there already; anything else is a bug upstream). */
export function parseInputs<T>(r: CheckOutcome<T>): T {
  if (r.failures.length || !r.value) throw new Error(r.failures.map((f) => f.reason).join("; ") || "inputs are not known");
  return r.value;
}

/** Outputs must be JSON-clean: undefined becomes null (arrays and objects too). */
export function jsonClean<T>(v: T): T {
  return JSON.parse(JSON.stringify(v, (_k, x) => (x === undefined ? null : x)));
}
