/**
 * Provider settings from stack config, read through the dynamic provider's `configure` (never captured in the
 * serialized provider, so credentials never enter state):
 *   esx:host, esx:username (default root), esx:password (secret), esx:thumbprint, esx:insecure,
 *   esx:hosts (JSON object: alias -> {host, username?, password?, thumbprint?, insecure?}) for several hosts,
 *   esx:glanceUrl, esx:glanceToken (secret), esx:maxConcurrentOperations (per host, default 64).
 *   esx:glanceTimeoutMs: connect/idle timeout of Glance requests and data transfers in ms (default 30000; the
 *     environment variable PULUMI_ESX_GLANCE_TIMEOUT_MS is the fallback when the key is not set).
 * Glance behind Keystone (v3), instead of a static esx:glanceToken:
 *   esx:keystoneUrl (identity endpoint, e.g. http://keystone:5000/v3),
 *   password auth: esx:keystoneUsername, esx:keystonePassword (secret), esx:keystoneUserDomain (default "Default"),
 *     esx:keystoneProject, esx:keystoneProjectDomain (default "Default");
 *   or application-credential auth: esx:keystoneApplicationCredentialId,
 *     esx:keystoneApplicationCredentialSecret (secret);
 *   esx:keystoneRegion (optional): region of the Glance endpoint in the catalog.
 *   Without esx:glanceUrl, Glance is the public "image" endpoint of the token's service catalog. Tokens are cached
 *   per plugin process, refreshed before expiry and once when Glance answers 401. With esx:keystoneUrl set,
 *   esx:glanceToken is ignored.
 */
import type { KeystoneSettings } from "./glance/keystone";
import { HostConnection } from "./vim/config";

export interface ProviderSettings {
  hosts: Record<string, HostConnection>;
  /** The alias used when a resource names no host ("default" for esx:host). */
  defaultHost?: string;
  /** Set when esx:glanceUrl or esx:keystoneUrl is. */
  glance?: GlanceSettings;
  /** esx:glanceTimeoutMs (or env PULUMI_ESX_GLANCE_TIMEOUT_MS); undefined: the client's default. */
  glanceTimeoutMs?: number;
  maxConcurrentOperations: number;
}

export interface GlanceSettings {
  /** esx:glanceUrl; when unset, the Keystone catalog's image endpoint. */
  url?: string;
  /** esx:glanceToken (static; unused with Keystone). */
  token?: string;
  keystone?: KeystoneSettings;
}

export const DEFAULT_HOST_ALIAS = "default";

export type ConfigGetter = (key: string) => string | undefined;

function bool(v: string | undefined): boolean {
  return v === "true" || v === "1" || v === "yes";
}

export function settingsFromConfig(get: ConfigGetter): ProviderSettings {
  const hosts: Record<string, HostConnection> = {};
  const host = get("esx:host");
  if (host) {
    hosts[DEFAULT_HOST_ALIAS] = {
      host,
      username: get("esx:username") || "root",
      password: get("esx:password") ?? "",
      thumbprint: get("esx:thumbprint") || undefined,
      insecure: bool(get("esx:insecure")),
    };
  }
  const many = get("esx:hosts");
  if (many) {
    let parsed: Record<string, any>;
    try {
      parsed = JSON.parse(many);
    } catch {
      throw new Error("esx:hosts must be a JSON object: alias -> {host, username, password, thumbprint, insecure}");
    }
    for (const [alias, h] of Object.entries(parsed)) {
      if (!h || typeof h.host !== "string") throw new Error(`esx:hosts.${alias}.host is required`);
      hosts[alias] = {
        host: h.host,
        username: h.username ?? get("esx:username") ?? "root",
        password: h.password ?? get("esx:password") ?? "",
        thumbprint: h.thumbprint,
        insecure: h.insecure === true || h.insecure === "true",
      };
    }
  }
  const maxOps = maxConcurrentOperations(get("esx:maxConcurrentOperations"));
  // Every operation holds at most one connection at a time; the task watcher's long poll and transfers need a few more.
  for (const h of Object.values(hosts)) h.maxSockets = maxOps + 8;
  return {
    hosts,
    defaultHost: hosts[DEFAULT_HOST_ALIAS] ? DEFAULT_HOST_ALIAS : Object.keys(hosts).length === 1 ? Object.keys(hosts)[0] : undefined,
    glance: glanceSettings(get),
    glanceTimeoutMs: glanceTimeout(get),
    maxConcurrentOperations: maxOps,
  };
}

function glanceSettings(get: ConfigGetter): GlanceSettings | undefined {
  const url = get("esx:glanceUrl") || undefined;
  const keystoneUrl = get("esx:keystoneUrl") || undefined;
  if (!url && !keystoneUrl) return undefined;
  const keystone: KeystoneSettings | undefined = keystoneUrl
    ? {
        url: keystoneUrl,
        username: get("esx:keystoneUsername") || undefined,
        password: get("esx:keystonePassword") || undefined,
        userDomain: get("esx:keystoneUserDomain") || "Default",
        project: get("esx:keystoneProject") || undefined,
        projectDomain: get("esx:keystoneProjectDomain") || "Default",
        applicationCredentialId: get("esx:keystoneApplicationCredentialId") || undefined,
        applicationCredentialSecret: get("esx:keystoneApplicationCredentialSecret") || undefined,
        region: get("esx:keystoneRegion") || undefined,
      }
    : undefined;
  return { url, token: keystone ? undefined : get("esx:glanceToken") || undefined, keystone };
}

function glanceTimeout(get: ConfigGetter): number | undefined {
  const fromConfig = get("esx:glanceTimeoutMs");
  const raw = fromConfig || process.env.PULUMI_ESX_GLANCE_TIMEOUT_MS;
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`${fromConfig ? "esx:glanceTimeoutMs" : "PULUMI_ESX_GLANCE_TIMEOUT_MS"} must be a positive number of milliseconds, not "${raw}"`);
  }
  return n;
}

export function hostConnection(settings: ProviderSettings, alias: string | null | undefined): { alias: string; conn: HostConnection } {
  const a = alias || settings.defaultHost;
  if (!a) {
    const known = Object.keys(settings.hosts);
    throw new Error(
      known.length
        ? `this resource names no host and there are several (${known.join(", ")}): set its "host" input`
        : "no ESX host configured: set esx:host (and esx:password as a secret) in the stack config",
    );
  }
  const conn = settings.hosts[a];
  if (!conn) throw new Error(`host "${a}" is not configured (esx:hosts has ${Object.keys(settings.hosts).join(", ") || "nothing"})`);
  return { alias: a, conn };
}

export const DEFAULT_MAX_CONCURRENT_OPERATIONS = 64;

function maxConcurrentOperations(v: string | undefined): number {
  if (v === undefined || v === "") return DEFAULT_MAX_CONCURRENT_OPERATIONS;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`esx:maxConcurrentOperations must be an integer from 1 to 1024 (got "${v}")`);
  return n;
}
