/**
 * Provider settings from stack config, read through the dynamic provider's `configure` (never captured in the
 * serialized provider, so credentials never enter state):
 *   esx:host, esx:username (default root), esx:password (secret), esx:thumbprint, esx:insecure,
 *   esx:hosts (JSON object: alias -> {host, username?, password?, thumbprint?, insecure?}) for several hosts,
 *   esx:glanceUrl, esx:glanceToken (secret), esx:maxConcurrentOperations (per host, default 16).
 */
import { HostConnection } from "./vim/config";

export interface ProviderSettings {
  hosts: Record<string, HostConnection>;
  /** The alias used when a resource names no host ("default" for esx:host). */
  defaultHost?: string;
  glance?: { url: string; token?: string };
  maxConcurrentOperations: number;
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
  const glanceUrl = get("esx:glanceUrl");
  return {
    hosts,
    defaultHost: hosts[DEFAULT_HOST_ALIAS] ? DEFAULT_HOST_ALIAS : Object.keys(hosts).length === 1 ? Object.keys(hosts)[0] : undefined,
    glance: glanceUrl ? { url: glanceUrl, token: get("esx:glanceToken") || undefined } : undefined,
    maxConcurrentOperations: Number(get("esx:maxConcurrentOperations") ?? 16) || 16,
  };
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
