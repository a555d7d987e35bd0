/**
 * Process-wide state of the provider inside the plugin: the settings `configure` read from stack config, the
 * driver (one per process: it owns what every resource shares, e.g. the address allocator), and the per-host
 * bound on concurrent operations. One plugin process serves one stack.
 */
import { Driver, EsxHost } from "../driver/host";
import { GlanceClient } from "../glance/client";
import { glanceClientFor } from "../glance/connect";
import { endpointOf } from "../vim/config";
import { hostConnection, ProviderSettings, settingsFromConfig, ConfigGetter } from "../settings";
import { Limiter } from "./limiter";

let settings: ProviderSettings | undefined;
let driver: Driver | undefined;

const limiters = new Map<string, Limiter>();

export function configure(get: ConfigGetter): void {
  settings = settingsFromConfig(get);
  limiters.clear();
}

/** The settings from `configure` (before it: no host, no Glance; every operation says what to set). */
export function currentSettings(): ProviderSettings {
  settings ??= settingsFromConfig(() => undefined);
  return settings;
}

/** The process's driver, created on first use (its options come from the environment, which does not change). */
export function currentDriver(): Driver {
  const s = currentSettings();
  driver ??= new Driver({ lockStaleMs: s.lockStaleMs, traceCalls: s.traceCalls });
  return driver;
}

export interface HostHandle {
  alias: string;
  /** host[:port], for messages (known before connecting). */
  display: string;
  /** The driver's view of the host (connects and discovers on first use). */
  host: () => Promise<EsxHost>;
}

/** The host a resource names (its alias, else the default host). */
export function hostHandle(alias: string | null | undefined): HostHandle {
  const { alias: a, conn } = hostConnection(currentSettings(), alias);
  return { alias: a, display: endpointOf(conn.host).display, host: () => currentDriver().host(conn) };
}

/** The Glance client of the stack's settings (esx:glanceUrl + esx:glanceToken, or Keystone; esx:glanceTimeoutMs). */
export function glanceClient(): GlanceClient {
  const s = currentSettings();
  if (!s.glance) {
    throw new Error(
      "no Glance endpoint configured: set esx:glanceUrl (and esx:glanceToken as a secret), or esx:keystoneUrl with " +
        "Keystone credentials, in the stack config",
    );
  }
  return glanceClientFor({ ...s.glance, timeoutMs: s.glanceTimeoutMs });
}

/**
 * Runs a host-changing operation within the host's esx:maxConcurrentOperations bound. An alias that does not
 * resolve runs unbounded here and fails inside the operation with the usual message.
 */
export function withHostSlot<T>(alias: string | null | undefined, work: () => Promise<T>): Promise<T> {
  let key: string;
  try {
    key = hostConnection(currentSettings(), alias).alias;
  } catch {
    return work();
  }
  let l = limiters.get(key);
  if (!l) limiters.set(key, (l = new Limiter(currentSettings().maxConcurrentOperations)));
  return l.run(work);
}
