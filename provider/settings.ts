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
 *   esx:allowHttp (default false): accept an http:// esx:host (no TLS: the password crosses in clear), for
 *     simulators and test proxies; a warning is logged per host. Also per host in esx:hosts ("allowHttp": true).
 *
 * Environment variables of the plugin process (the only ones the provider reads, all here):
 *   PULUMI_ESX_GLANCE_TIMEOUT_MS  fallback for esx:glanceTimeoutMs;
 *   PULUMI_ESX_LOCK_STALE_MS      how long an image-cache lock may go unrenewed before it is taken over (default 120000);
 *   PULUMI_ESX_TRACE_CALLS        when set, each EsxInstance create/update prints the vSphere calls it made to stderr.
 * This module is the only place that reads stack config keys and environment variables.
 */
import type { GlanceConnection } from "./glance/connect";
import type { KeystoneSettings } from "./glance/keystone";
import { warn } from "./log";
import { endpointOf, HostConnection } from "./vim/config";

export interface ProviderSettings {
  hosts: Record<string, HostSettings>;
  /** The alias used when a resource names no host ("default" for esx:host). */
  defaultHost?: string;
  /** Set when esx:glanceUrl or esx:keystoneUrl is. */
  glance?: GlanceSettings;
  /** esx:glanceTimeoutMs (or env PULUMI_ESX_GLANCE_TIMEOUT_MS); undefined: the client's default. */
  glanceTimeoutMs?: number;
  maxConcurrentOperations: number;
  /** env PULUMI_ESX_LOCK_STALE_MS (default 120000). */
  lockStaleMs: number;
  /** env PULUMI_ESX_TRACE_CALLS set. */
  traceCalls: boolean;
}

/** Glance's endpoint and credentials (esx:glanceUrl, esx:glanceToken, esx:keystone*); the timeout is added on use. */
export type GlanceSettings = Omit<GlanceConnection, "timeoutMs">;

/** A host connection with the settings-only flags. */
export interface HostSettings extends HostConnection {
  /** esx:allowHttp: an http:// host is accepted (with a warning). */
  allowHttp?: boolean;
}

export const DEFAULT_HOST_ALIAS = "default";

export type ConfigGetter = (key: string) => string | undefined;

function bool(v: string | undefined): boolean {
  return v === "true" || v === "1" || v === "yes";
}

/** The environment of the plugin process (a parameter so that tests can pass their own). */
export type Environment = Record<string, string | undefined>;

/** One entry of esx:hosts as written in the JSON. */
interface HostEntry {
  host?: unknown;
  username?: string;
  password?: string;
  thumbprint?: string;
  insecure?: boolean | string;
  allowHttp?: boolean | string;
}

export function settingsFromConfig(get: ConfigGetter, env: Environment = process.env): ProviderSettings {
  const hosts: Record<string, HostSettings> = {};
  const host = get("esx:host");
  const allowHttp = bool(get("esx:allowHttp"));
  if (host) {
    hosts[DEFAULT_HOST_ALIAS] = {
      host,
      username: get("esx:username") || "root",
      password: get("esx:password") ?? "",
      thumbprint: get("esx:thumbprint") || undefined,
      insecure: bool(get("esx:insecure")),
      allowHttp,
    };
  }
  const many = get("esx:hosts");
  if (many) {
    let parsed: Record<string, HostEntry>;
    try {
      parsed = JSON.parse(many);
    } catch {
      throw new Error("esx:hosts must be a JSON object: alias -> {host, username, password, thumbprint, insecure}");
    }
    for (const [alias, entry] of Object.entries(parsed)) {
      if (!entry || typeof entry.host !== "string") throw new Error(`esx:hosts.${alias}.host is required`);
      hosts[alias] = {
        host: entry.host,
        username: entry.username ?? get("esx:username") ?? "root",
        password: entry.password ?? get("esx:password") ?? "",
        thumbprint: entry.thumbprint,
        insecure: entry.insecure === true || entry.insecure === "true",
        allowHttp: entry.allowHttp === undefined ? allowHttp : entry.allowHttp === true || entry.allowHttp === "true",
      };
    }
  }
  const maxOps = maxConcurrentOperations(get("esx:maxConcurrentOperations"));
  // Every operation holds at most one connection at a time; the task watcher's long poll and transfers need a few more.
  for (const conn of Object.values(hosts)) conn.maxSockets = maxOps + 8;
  return {
    hosts,
    defaultHost: hosts[DEFAULT_HOST_ALIAS] ? DEFAULT_HOST_ALIAS : Object.keys(hosts).length === 1 ? Object.keys(hosts)[0] : undefined,
    glance: glanceSettings(get),
    glanceTimeoutMs: glanceTimeout(get, env),
    maxConcurrentOperations: maxOps,
    lockStaleMs: Number(env.PULUMI_ESX_LOCK_STALE_MS) || DEFAULT_LOCK_STALE_MS,
    traceCalls: !!env.PULUMI_ESX_TRACE_CALLS,
  };
}

export const DEFAULT_LOCK_STALE_MS = 120_000;

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

function glanceTimeout(get: ConfigGetter, env: Environment): number | undefined {
  const fromConfig = get("esx:glanceTimeoutMs");
  const raw = fromConfig || env.PULUMI_ESX_GLANCE_TIMEOUT_MS;
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`${fromConfig ? "esx:glanceTimeoutMs" : "PULUMI_ESX_GLANCE_TIMEOUT_MS"} must be a positive number of milliseconds, not "${raw}"`);
  }
  return n;
}

/** Hosts already warned about esx:allowHttp in this process (one warning per host). */
const httpWarned = new Set<string>();

/**
 * The connection of a resource's host (its alias, else the default host). An http:// host is refused unless
 * esx:allowHttp is set, and then logged as a warning once per host.
 */
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
  const entry = settings.hosts[a];
  if (!entry) throw new Error(`host "${a}" is not configured (esx:hosts has ${Object.keys(settings.hosts).join(", ") || "nothing"})`);
  const { allowHttp, ...conn } = entry;
  const ep = endpointOf(conn.host);
  if (!ep.secure) {
    if (!allowHttp) {
      throw new Error(
        `ESX host ${conn.host} is an http:// URL: without TLS the password would cross the network in clear, so it is refused. ` +
          `Use https (the default for a host name), or set esx:allowHttp: true for a simulator or test proxy`,
      );
    }
    if (!httpWarned.has(ep.sdkUrl)) {
      httpWarned.add(ep.sdkUrl);
      void warn(`esx:allowHttp is set: ESX host ${ep.display} is reached over plain http (no TLS; the password crosses in clear)`);
    }
  }
  return { alias: a, conn: { ...conn, onWarning: (m) => void warn(m) } };
}

export const DEFAULT_MAX_CONCURRENT_OPERATIONS = 64;

function maxConcurrentOperations(v: string | undefined): number {
  if (v === undefined || v === "") return DEFAULT_MAX_CONCURRENT_OPERATIONS;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`esx:maxConcurrentOperations must be an integer from 1 to 1024 (got "${v}")`);
  return n;
}
