/**
 * How to reach one ESX host (provider/settings.ts builds it from stack config). `host` is a name or address with
 * an optional `:port`, or a URL; an `http://` URL (no TLS: the password crosses in clear) is refused by the
 * settings unless `esx:allowHttp` is set (simulators and test proxies).
 */
export interface HostConnection {
  host: string;
  username: string;
  password: string;
  thumbprint?: string;
  insecure?: boolean;
  /** Where warnings about this connection go (esx:insecure); default stderr. */
  onWarning?: (message: string) => void;
  /** Bound on connecting to the host (ms). */
  connectTimeoutMs?: number;
  /** Connections kept to the host (default 32). */
  maxSockets?: number;
}

export interface Endpoint {
  /** SOAP endpoint URL, e.g. https://esx1:443/sdk */
  sdkUrl: string;
  /** Base for datastore HTTP transfers, e.g. https://esx1:443 */
  baseUrl: string;
  /** host[:port] as the user wrote it, for messages */
  display: string;
  secure: boolean;
}

export function endpointOf(host: string): Endpoint {
  const written = host.trim();
  if (/^https?:\/\//i.test(written)) {
    const u = new URL(written);
    const base = `${u.protocol}//${u.host}`;
    return { sdkUrl: `${base}${u.pathname && u.pathname !== "/" ? u.pathname : "/sdk"}`, baseUrl: base, display: u.host, secure: u.protocol === "https:" };
  }
  const u = new URL(`https://${written}`);
  return { sdkUrl: `https://${u.host}/sdk`, baseUrl: `https://${u.host}`, display: u.host, secure: true };
}
