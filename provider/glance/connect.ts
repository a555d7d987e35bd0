/** The GlanceClient for an endpoint and its credentials (a static token or Keystone); the caller reads its settings. */
import { GlanceClient } from "./client";
import { KeystoneAuth, KeystoneSettings } from "./keystone";

export interface GlanceConnection {
  /** Glance's URL; when unset, the Keystone catalog's image endpoint. */
  url?: string;
  /** A static token (unused with Keystone). */
  token?: string;
  keystone?: KeystoneSettings;
  /** Connect/idle timeout of requests and data transfers; undefined: the client's default. */
  timeoutMs?: number;
}

export function glanceClientFor(c: GlanceConnection): GlanceClient {
  if (c.keystone) {
    const auth = KeystoneAuth.shared(c.keystone);
    return new GlanceClient({ url: c.url ?? (() => auth.imageEndpoint()), auth, timeoutMs: c.timeoutMs });
  }
  if (!c.url) throw new Error("Glance needs a URL (or Keystone to find it in the catalog)");
  return new GlanceClient({ url: c.url, token: c.token, timeoutMs: c.timeoutMs });
}
