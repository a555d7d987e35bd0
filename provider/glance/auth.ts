/** Where GlanceClient gets the X-Auth-Token it sends: a static token from config, or Keystone (keystone.ts). */

export interface TokenSource {
  /**
   * A token that stays valid for at least `minValidityMs` (a source that cannot tell expiry ignores it);
   * undefined for an unauthenticated Glance.
   */
  token(minValidityMs?: number): Promise<string | undefined>;
  /**
   * Glance refused `token` with 401. Returns true when the next token() call can yield a different token
   * (the source dropped it and will authenticate again), false when retrying is pointless (a static token).
   */
  refused(token: string | undefined): boolean;
  /** Who the token is for, for error messages (never the secret), e.g. `Keystone http://k:5000/v3 user demo`. */
  readonly describe: string;
}

/** esx:glanceToken as is, or no token at all. Never refreshed. */
export class StaticToken implements TokenSource {
  readonly describe: string;
  constructor(private readonly value: string | undefined) {
    this.describe = value ? "the configured esx:glanceToken" : "no token";
  }
  async token(): Promise<string | undefined> {
    return this.value;
  }
  refused(): boolean {
    return false;
  }
}
