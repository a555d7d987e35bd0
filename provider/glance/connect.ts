/** The GlanceClient the provider uses, from the stack's settings (static token or Keystone). */
import type { ProviderSettings } from "../settings";
import { GlanceClient } from "./client";
import { KeystoneAuth } from "./keystone";

export function glanceClientFromSettings(settings: ProviderSettings): GlanceClient {
  const g = settings.glance;
  if (!g) {
    throw new Error(
      "no Glance endpoint configured: set esx:glanceUrl (and esx:glanceToken as a secret), or esx:keystoneUrl with " +
        "Keystone credentials, in the stack config",
    );
  }
  const timeoutMs = settings.glanceTimeoutMs;
  if (g.keystone) {
    const auth = KeystoneAuth.shared(g.keystone);
    return new GlanceClient({ url: g.url ?? (() => auth.imageEndpoint()), auth, timeoutMs });
  }
  return new GlanceClient({ url: g.url!, token: g.token, timeoutMs });
}
