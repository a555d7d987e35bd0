/**
 * check(): inputs validated against the resource's zod schema, without calling the host. Values unknown during
 * preview pass untouched (issues on a path that holds an unknown, or below it, are dropped); every failure names
 * its field.
 */
import { z } from "zod";
import { at, containsUnknown, UNKNOWN } from "./unknown";

export interface CheckFailure {
  property: string;
  reason: string;
}

export interface CheckOutcome<T> {
  inputs: Record<string, unknown>;
  failures: CheckFailure[];
  /** The parsed inputs when nothing is unknown and nothing failed. */
  value?: T;
}

export function fieldPath(path: PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s;
}

/** Path prefixes whose value is unknown: an issue there (or deeper) is not reported. */
function coveredByUnknown(news: Record<string, unknown>, path: PropertyKey[]): boolean {
  for (let i = path.length; i >= 0; i--) {
    const v = at(news, path.slice(0, i) as (string | number)[]);
    if (i === path.length ? containsUnknown(v) : v === UNKNOWN) return true;
  }
  return false;
}

export function checkWithSchema<S extends z.ZodType>(
  schema: S,
  news: Record<string, unknown>,
  extra?: (v: z.infer<S>) => CheckFailure[],
): CheckOutcome<z.infer<S>> {
  const input = { ...news };
  delete input.__provider;
  const res = schema.safeParse(input);
  if (res.success) {
    const failures = containsUnknown(input) ? [] : (extra?.(res.data) ?? []);
    return { inputs: { ...news, ...(res.data as object) }, failures, value: failures.length || containsUnknown(input) ? undefined : res.data };
  }
  const failures: CheckFailure[] = [];
  for (const issue of res.error.issues) {
    if (coveredByUnknown(input, issue.path)) continue;
    if (issue.code === "unrecognized_keys") {
      // Name each unknown field itself, not the object holding it.
      for (const key of issue.keys) {
        const property = fieldPath([...issue.path, key]);
        failures.push({ property, reason: `${property}: not an input of this resource (check its spelling)` });
      }
      continue;
    }
    const property = fieldPath(issue.path) || "(inputs)";
    failures.push({ property, reason: `${property}: ${issue.message}` });
  }
  return { inputs: news, failures };
}
