/**
 * One table of field metadata per resource, beside its zod schema (`*.schema.ts`): for every input, what a change
 * does (replace the resource, update it in place, or nothing: inputs the sdk sets for bookkeeping) and how old
 * outputs and new inputs are compared. `diff` is computed from the table, and so are schema.json's
 * `replaceOnChanges` and the reference docs; the table's type requires an entry for every input of the schema.
 */
export type OnChange = "replace" | "update" | "ignore";

export interface FieldRule {
  onChange: OnChange;
  /** The value an absent input or output stands for (compared in its place). */
  default?: unknown;
  /** Maps a value to the form compared (e.g. a CIDR normalised). */
  normalise?: (v: unknown) => unknown;
  /** Whether the field changed, when comparing needs more than the field (defaults, other fields). */
  differs?: (olds: Record<string, unknown>, news: Record<string, unknown>) => boolean;
}

/** A resource's table: every input of its schema (`Inputs`) has a rule. */
export type FieldTable<Inputs> = { [K in keyof Inputs & string]-?: FieldRule };

export interface DiffResult {
  changes: boolean;
  replaces: string[];
  updates: string[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The fields that changed between old outputs and new inputs, in table order, split by what the change does. */
export function diffByTable<I>(table: FieldTable<I>, olds: Record<string, unknown>, news: Record<string, unknown>): DiffResult {
  const replaces: string[] = [];
  const updates: string[] = [];
  for (const [field, rule] of Object.entries<FieldRule>(table)) {
    if (rule.onChange === "ignore") continue;
    const norm = rule.normalise ?? ((v: unknown) => v);
    const changed = rule.differs ? rule.differs(olds, news) : !same(norm(olds[field] ?? rule.default ?? null), norm(news[field] ?? rule.default ?? null));
    if (changed) (rule.onChange === "replace" ? replaces : updates).push(field);
  }
  return { changes: replaces.length + updates.length > 0, replaces, updates };
}

/** The fields whose change replaces the resource (schema.json's replaceOnChanges). */
export function replaceFields<I>(table: FieldTable<I>): string[] {
  return Object.entries<FieldRule>(table)
    .filter(([, r]) => r.onChange === "replace")
    .map(([f]) => f);
}
