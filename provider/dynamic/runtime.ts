/**
 * Process-wide state of the provider inside the plugin: the settings `configure` read from stack config, and the
 * host sessions derived from them. One plugin process serves one stack.
 */
import { hostContext, HostContext } from "../esx/host";
import { hostConnection, ProviderSettings, settingsFromConfig, ConfigGetter } from "../settings";
import { VimSession } from "../vim/session";

let settings: ProviderSettings | undefined;

export function configure(get: ConfigGetter): void {
  settings = settingsFromConfig(get);
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
