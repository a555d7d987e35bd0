/**
 * Process-wide state of the provider inside the plugin: the settings `configure` read from stack config, and the
 * host sessions derived from them. One plugin process serves one stack.
 */
import { hostContext, HostContext } from "../esx/host";
import { hostConnection, ProviderSettings, settingsFromConfig, ConfigGetter } from "../settings";
import { VimSession } from "../vim/session";
import { Limiter } from "./limiter";

let settings: ProviderSettings | undefined;

const limiters = new Map<string, Limiter>();

export function configure(get: ConfigGetter): void {
  settings = settingsFromConfig(get);
  limiters.clear();
}

export function currentSettings(): ProviderSettings {
  if (!settings) settings = settingsFromConfig((k) => process.env[`PULUMI_ESX_${k.replace(/^esx:/, "").toUpperCase()}`]);
  return settings;
}

export interface HostHandle {
  alias: string;
  display: string;
  session: VimSession;
  ctx: () => Promise<HostContext>;
}

export function host(alias: string | null | undefined): HostHandle {
  const { alias: a, conn } = hostConnection(currentSettings(), alias);
  const session = VimSession.for(conn);
  return { alias: a, display: session.host, session, ctx: () => hostContext(session) };
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
