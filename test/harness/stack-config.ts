/**
 * Stack configuration as the Pulumi CLI reads it from a project directory: Pulumi.yaml (project name, config
 * declarations with defaults) and Pulumi.<stack>.yaml (config values; `secure:` values encrypted by the
 * passphrase secrets provider). Produces what the CLI hands to programs and plugins: namespaced keys, string
 * values (structured values as JSON), and the list of secret keys.
 *
 * Passphrase secrets provider (pulumi/pulumi pkg/secrets/passphrase): the stack file's `encryptionsalt` is
 * "v1:<base64 salt>:<check>", the key is PBKDF2-SHA256(passphrase, salt, 1,000,000 iterations, 32 bytes), and
 * every secure value (and <check>, the encryption of "pulumi") is "v1:<base64 nonce>:<base64 AES-256-GCM
 * ciphertext||tag>".
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";

export interface ProjectInfo {
  dir: string;
  name: string;
  /** Stack names from Pulumi.<stack>.yaml files, sorted. */
  stacks: string[];
  /** Project config declarations (Pulumi.yaml `config:`), unqualified key -> declaration. */
  declared: Record<string, { type?: string; default?: unknown; description?: string }>;
}

export interface StackConfig {
  /** Namespaced key -> string value, as PULUMI_CONFIG holds it. */
  config: Record<string, string>;
  secretKeys: string[];
  /** The same config with structured values kept as objects (secure values decrypted). */
  values: Record<string, unknown>;
}

export function readProject(dir: string): ProjectInfo {
  const project = YAML.parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"));
  const stacks = fs
    .readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => !!s)
    .sort();
  const declared: ProjectInfo["declared"] = {};
  for (const [k, v] of Object.entries<any>(project.config ?? {})) declared[k] = v && typeof v === "object" ? v : { default: v };
  return { dir, name: project.name, stacks, declared };
}

const ITERATIONS = 1_000_000;

function deriveKey(passphrase: string, salt: Buffer): Buffer {
  return crypto.pbkdf2Sync(passphrase, salt, ITERATIONS, 32, "sha256");
}

function encryptWith(key: Buffer, plaintext: string): string {
  const nonce = crypto.randomBytes(12);
  const c = crypto.createCipheriv("aes-256-gcm", key, nonce);
  const ct = Buffer.concat([c.update(plaintext, "utf8"), c.final(), c.getAuthTag()]);
  return `v1:${nonce.toString("base64")}:${ct.toString("base64")}`;
}

function decryptWith(key: Buffer, value: string): string {
  const [v, nonce, data] = value.split(":");
  if (v !== "v1" || !nonce || !data) throw new Error(`not a v1 secure value: ${value.slice(0, 12)}...`);
  const buf = Buffer.from(data, "base64");
  const d = crypto.createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64"));
  d.setAuthTag(buf.subarray(buf.length - 16));
  return Buffer.concat([d.update(buf.subarray(0, buf.length - 16)), d.final()]).toString("utf8");
}

/** A passphrase secrets provider: a new `encryptionsalt` and an encrypter for `secure:` values. */
export function newPassphraseCrypter(passphrase: string): { encryptionsalt: string; encrypt(plaintext: string): string } {
  const salt = crypto.randomBytes(8);
  const key = deriveKey(passphrase, salt);
  return { encryptionsalt: `v1:${salt.toString("base64")}:${encryptWith(key, "pulumi")}`, encrypt: (p) => encryptWith(key, p) };
}

/** The decrypter for a stack file's `encryptionsalt`; throws when the passphrase is wrong. */
export function passphraseDecrypter(encryptionsalt: string, passphrase: string): (secure: string) => string {
  const m = /^v1:([^:]+):(v1:.*)$/.exec(encryptionsalt);
  if (!m) throw new Error(`unsupported encryptionsalt ${encryptionsalt}`);
  const key = deriveKey(passphrase, Buffer.from(m[1], "base64"));
  let check: string;
  try {
    check = decryptWith(key, m[2]);
  } catch {
    check = "";
  }
  if (check !== "pulumi") throw new Error("incorrect passphrase");
  return (v) => decryptWith(key, v);
}

/** Resolves `secure:` values; reports whether any was inside. */
function resolveSecure(v: unknown, decrypt: () => (s: string) => string): { value: unknown; secret: boolean } {
  if (Array.isArray(v)) {
    const items = v.map((x) => resolveSecure(x, decrypt));
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.secure === "string") return { value: decrypt()(o.secure), secret: true };
    let secret = false;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      const r = resolveSecure(x, decrypt);
      out[k] = r.value;
      secret ||= r.secret;
    }
    return { value: out, secret };
  }
  return { value: v, secret: false };
}

/**
 * The config of one stack: Pulumi.<stack>.yaml values (secure values decrypted with `passphrase`), plus
 * defaults declared in Pulumi.yaml for keys the stack does not set. Unqualified keys get the project namespace.
 */
export function readStackConfig(project: ProjectInfo, stack: string, passphrase?: string): StackConfig {
  const file = ["yaml", "yml"].map((e) => path.join(project.dir, `Pulumi.${stack}.${e}`)).find((f) => fs.existsSync(f));
  const doc = file ? (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) : {};
  let decrypter: ((s: string) => string) | undefined;
  const decrypt = () => {
    if (!decrypter) {
      if (!doc.encryptionsalt) throw new Error(`Pulumi.${stack}.yaml has secure values but no encryptionsalt`);
      if (passphrase === undefined) throw new Error(`Pulumi.${stack}.yaml has secure values: a passphrase is needed`);
      decrypter = passphraseDecrypter(doc.encryptionsalt, passphrase);
    }
    return decrypter;
  };
  const qualify = (k: string) => (k.includes(":") ? k : `${project.name}:${k}`);
  const values: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries<unknown>(doc.config ?? {})) {
    const r = resolveSecure(v, decrypt);
    values[qualify(k)] = r.value;
    if (r.secret) secretKeys.push(qualify(k));
  }
  for (const [k, d] of Object.entries(project.declared)) {
    if (d.default !== undefined && !(qualify(k) in values)) values[qualify(k)] = d.default;
  }
  return { config: stringify(values), secretKeys, values };
}

/** Config values as the CLI passes them: strings as they are, everything else as JSON. */
export function stringify(values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) out[k] = typeof v === "string" ? v : JSON.stringify(v);
  return out;
}
