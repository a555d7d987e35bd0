/**
 * Engine-side value handling and the JSON state file of the harness engine.
 * Wire values from the SDK may hold secret and resource-reference markers; the dynamic-provider plugin does
 * not accept either (acceptSecrets/acceptResources false), so the engine strips secrets (remembering the
 * top-level keys) and downgrades resource references to their id (custom) or URN (component).
 */
import * as fs from "node:fs";
import { Props, SECRET_SIG, SIG_KEY } from "./grpc";

const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";

export interface StateEntry {
  type: string;
  custom: boolean;
  /** "" for components and for resources only previewed. */
  id: string;
  parent: string;
  dependencies: string[];
  /** Checked inputs and provider outputs as the plugin saw them (plain values). */
  inputs: Props;
  outputs: Props;
  /** Top-level output keys that are secret (from secret inputs or additionalSecretOutputs). */
  secretOutputs: string[];
}
/** The state file: URN -> entry, in registration order. Secret values are stored encoded (see encodeSecret). */
export type State = Record<string, StateEntry>;

function isSig(v: any, sig: string): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v) && v[SIG_KEY] === sig;
}

/** Removes secret markers and resource references; returns the plain value and whether a secret was inside. */
export function plainValue(v: any): { value: any; secret: boolean } {
  if (isSig(v, SECRET_SIG)) return { value: plainValue(v.value).value, secret: true };
  if (isSig(v, RESOURCE_SIG)) return { value: v.id !== undefined && v.id !== "" ? v.id : v.urn, secret: false };
  if (Array.isArray(v)) {
    const items = v.map(plainValue);
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (v !== null && typeof v === "object") {
    let secret = false;
    const out: Props = {};
    for (const [k, x] of Object.entries(v)) {
      const p = plainValue(x);
      out[k] = p.value;
      secret ||= p.secret;
    }
    return { value: out, secret };
  }
  return { value: v, secret: false };
}

/** Plain top-level properties and the keys whose values held a secret. */
export function plainProps(wire: Props): { props: Props; secretKeys: string[] } {
  const props: Props = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries(wire)) {
    const p = plainValue(v);
    props[k] = p.value;
    if (p.secret) secretKeys.push(k);
  }
  return { props, secretKeys };
}

/** Marks the given top-level keys secret, in the wire form the SDK understands. */
export function markSecrets(props: Props, keys: string[]): Props {
  const out: Props = { ...props };
  for (const k of keys) if (k in out) out[k] = { [SIG_KEY]: SECRET_SIG, value: out[k] };
  return out;
}

/** Stand-in for the state encryption of a real backend: reversible, but no plaintext in the file. */
function encodeSecret(v: any): any {
  return { [SIG_KEY]: SECRET_SIG, ciphertext: Buffer.from(JSON.stringify(v)).toString("base64") };
}
function decodeSecret(v: any): any {
  return isSig(v, SECRET_SIG) && typeof v.ciphertext === "string" ? JSON.parse(Buffer.from(v.ciphertext, "base64").toString()) : v;
}

export function loadState(file: string): State {
  if (!fs.existsSync(file)) return {};
  const raw = JSON.parse(fs.readFileSync(file, "utf8")) as State;
  for (const e of Object.values(raw)) {
    for (const bag of [e.inputs, e.outputs]) for (const k of Object.keys(bag)) bag[k] = decodeSecret(bag[k]);
  }
  return raw;
}

/** Writes the state atomically; inputs and outputs under secret keys are encoded. */
export function saveState(file: string, state: State): void {
  const out: State = {};
  for (const [urn, e] of Object.entries(state)) {
    const enc = (bag: Props) => {
      const b: Props = { ...bag };
      for (const k of e.secretOutputs) if (k in b) b[k] = encodeSecret(b[k]);
      return b;
    };
    out[urn] = { ...e, inputs: enc(e.inputs), outputs: enc(e.outputs) };
  }
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(out, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

/** URNs ordered so that every resource comes before the resources it depends on (deletion order). */
export function deletionOrder(state: State, urns: string[]): string[] {
  const left = new Set(urns);
  const order: string[] = [];
  const regOrder = Object.keys(state);
  while (left.size) {
    // Latest-registered resource that nothing remaining depends on (dependencies and parents).
    const candidates = regOrder.filter((u) => left.has(u)).reverse();
    const next = candidates.find((u) => ![...left].some((o) => o !== u && (state[o].dependencies.includes(u) || state[o].parent === u)));
    const pick = next ?? candidates[0]; // a cycle cannot happen with a real program; do not hang if it does
    order.push(pick);
    left.delete(pick);
  }
  return order;
}
