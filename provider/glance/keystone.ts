/**
 * Keystone v3 authentication for Glance: password auth (user + domain, scoped to a project) or
 * application-credential auth. Tokens are cached per process and per identity, refreshed before they expire and
 * when Glance refuses one (401); concurrent callers share one authentication. The service catalog of the token
 * locates Glance (type "image", interface public, optional region) when esx:glanceUrl is not set.
 * Errors name the Keystone URL and the user (or application credential id), never the password or secret.
 */
import * as crypto from "node:crypto";
import type { Got } from "got" with { "resolution-mode": "import" };
import { loadGot } from "../http/got";
import { debug } from "../log";
import type { TokenSource } from "./auth";
import { CatalogEntry, findEndpoint } from "./catalog";
import { parseGlanceMessage } from "./errors";
import { RetryPolicy, withRetry } from "./retry";

export interface KeystoneSettings {
  /** Identity endpoint, e.g. http://host:5000/v3 (a missing /v3 is added). */
  url: string;
  username?: string;
  password?: string;
  /** Domain of the user (name). Default "Default". */
  userDomain?: string;
  /** Project to scope the token to (name); without it Keystone uses the user's default project. */
  project?: string;
  /** Domain of the project (name). Default "Default". */
  projectDomain?: string;
  applicationCredentialId?: string;
  applicationCredentialSecret?: string;
  /** Region of the Glance endpoint to take from the catalog. */
  region?: string;
}

export interface KeystoneAuthOptions {
  /** Per-request timeout talking to Keystone. Default 30 s. */
  timeoutMs?: number;
  /** Extra attempts on transport errors and 503. Default 3. */
  retries?: number;
  retryDelayMs?: number;
}

export class KeystoneError extends Error {
  override name = "KeystoneError";
  constructor(
    message: string,
    /** HTTP status Keystone answered with; undefined for transport errors. */
    readonly status?: number,
    /** Transport error code (ECONNREFUSED, ...) or a client-side reason. */
    readonly code?: string,
  ) {
    super(message);
  }
}

interface CachedToken {
  value: string;
  issuedAt: number;
  expiresAt: number;
  catalog: CatalogEntry[];
}

/** A token is refreshed when less than this share of its lifetime is left (at most DEFAULT_MARGIN_MS). */
const REFRESH_SHARE = 0.25;
const DEFAULT_MARGIN_MS = 5 * 60_000;

const shared = new Map<string, KeystoneAuth>();

export class KeystoneAuth implements TokenSource {
  readonly url: string;
  readonly describe: string;
  private readonly settings: KeystoneSettings;
  private readonly timeoutMs: number;
  private readonly policy: RetryPolicy;
  private current: CachedToken | undefined;
  private pending: Promise<CachedToken> | undefined;

  /** One instance per identity and process, so every resource in the plugin shares the cached token. */
  static shared(settings: KeystoneSettings, opts: KeystoneAuthOptions = {}): KeystoneAuth {
    const secret = settings.password ?? settings.applicationCredentialSecret ?? "";
    const key = JSON.stringify([
      settings.url,
      settings.username,
      settings.userDomain,
      settings.project,
      settings.projectDomain,
      settings.applicationCredentialId,
      settings.region,
      crypto.createHash("sha256").update(secret).digest("hex"),
    ]);
    let a = shared.get(key);
    if (!a) {
      a = new KeystoneAuth(settings, opts);
      shared.set(key, a);
    }
    return a;
  }

  constructor(settings: KeystoneSettings, opts: KeystoneAuthOptions = {}) {
    const url = settings.url.replace(/\/+$/, "");
    this.url = /\/v3$/.test(url) ? url : `${url}/v3`;
    this.settings = settings;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.policy = { retries: opts.retries ?? 3, baseDelayMs: opts.retryDelayMs ?? 500, maxDelayMs: 5000 };
    this.describe = `Keystone ${this.url} ${this.who()}`;
    const appCred = settings.applicationCredentialId || settings.applicationCredentialSecret;
    if (appCred) {
      if (!settings.applicationCredentialId || !settings.applicationCredentialSecret) {
        throw new KeystoneError(
          `${this.describe}: application-credential auth needs both esx:keystoneApplicationCredentialId and esx:keystoneApplicationCredentialSecret`,
          undefined,
          "incomplete_config",
        );
      }
    } else if (!settings.username || !settings.password) {
      throw new KeystoneError(
        `Keystone ${this.url}: set esx:keystoneUsername and esx:keystonePassword (secret), or ` +
          "esx:keystoneApplicationCredentialId and esx:keystoneApplicationCredentialSecret (secret)",
        undefined,
        "incomplete_config",
      );
    }
  }

  private who(): string {
    const s = this.settings;
    if (s.applicationCredentialId) return `application credential ${s.applicationCredentialId}`;
    const project = s.project ? `, project ${s.project} (domain ${s.projectDomain || "Default"})` : "";
    return `user ${s.username} (domain ${s.userDomain || "Default"}${project})`;
  }

  async token(minValidityMs?: number): Promise<string> {
    return (await this.valid(minValidityMs)).value;
  }

  refused(token: string | undefined): boolean {
    if (this.current && this.current.value === token) {
      this.current = undefined;
      void debug(`${this.describe}: Glance refused the token (HTTP 401); authenticating again`);
    }
    return true;
  }

  /** Glance's public endpoint from the token's catalog (type "image", esx:keystoneRegion if set). */
  async imageEndpoint(): Promise<string> {
    const t = await this.valid();
    const found = findEndpoint(t.catalog, "image", "public", this.settings.region);
    if (typeof found === "string") return found;
    throw new KeystoneError(`${this.describe}: ${found.problem}; set esx:glanceUrl or fix the catalog`, undefined, "no_endpoint");
  }

  /** A cached token valid for at least minValidityMs (default: a quarter of its lifetime, at most 5 min). */
  private async valid(minValidityMs?: number): Promise<CachedToken> {
    const t = this.current;
    if (t) {
      const margin = minValidityMs ?? Math.min(DEFAULT_MARGIN_MS, (t.expiresAt - t.issuedAt) * REFRESH_SHARE);
      // A token whose lifetime is shorter than the requested validity cannot do better: take a fresh one once.
      const wanted = Math.min(margin, (t.expiresAt - t.issuedAt) * 0.9);
      if (t.expiresAt - Date.now() > wanted) return t;
    }
    this.pending ??= this.authenticate().finally(() => {
      this.pending = undefined;
    });
    const fresh = await this.pending;
    if (this.current !== fresh) {
      this.current = fresh;
      void debug(`${this.describe}: authenticated, token valid until ${new Date(fresh.expiresAt).toISOString()}`);
    }
    return fresh;
  }

  private body(): unknown {
    const s = this.settings;
    if (s.applicationCredentialId) {
      return {
        auth: {
          identity: {
            methods: ["application_credential"],
            application_credential: { id: s.applicationCredentialId, secret: s.applicationCredentialSecret },
          },
        },
      };
    }
    const auth: Record<string, unknown> = {
      identity: {
        methods: ["password"],
        password: { user: { name: s.username, domain: { name: s.userDomain || "Default" }, password: s.password } },
      },
    };
    if (s.project) auth.scope = { project: { name: s.project, domain: { name: s.projectDomain || "Default" } } };
    return { auth };
  }

  private async authenticate(): Promise<CachedToken> {
    const got: Got = await loadGot();
    return withRetry(this.policy, async () => {
      const started = Date.now();
      let res;
      try {
        res = await got(`${this.url}/auth/tokens`, {
          method: "POST",
          json: this.body(),
          headers: { accept: "application/json", "user-agent": "pulumi-esx" },
          throwHttpErrors: false,
          retry: { limit: 0 },
          timeout: { request: this.timeoutMs },
          responseType: "text",
        });
      } catch (e) {
        // got errors hold the request options (the password): keep only code and message.
        const err = e as { code?: unknown; message?: unknown };
        const code = typeof err.code === "string" ? err.code : undefined;
        throw new KeystoneError(
          `${this.describe}: authentication failed: ${code ?? "error"}: ${typeof err.message === "string" ? err.message : String(e)}`,
          undefined,
          code,
        );
      }
      if (res.statusCode !== 201) {
        const hint = res.statusCode === 401 ? " (wrong credentials, or the user/project/domain does not exist or is disabled)" : "";
        throw new KeystoneError(`${this.describe}: authentication failed: HTTP ${res.statusCode}: ${parseGlanceMessage(res.body)}${hint}`, res.statusCode);
      }
      const value = res.headers["x-subject-token"];
      let parsed: { token?: { expires_at?: string; issued_at?: string; catalog?: CatalogEntry[] } } = {};
      try {
        parsed = JSON.parse(res.body);
      } catch {
        /* checked below */
      }
      const expiresAt = Date.parse(parsed.token?.expires_at ?? "");
      if (typeof value !== "string" || !value || !Number.isFinite(expiresAt)) {
        throw new KeystoneError(`${this.describe}: Keystone answered 201 without a token or its expiry`, res.statusCode, "bad_response");
      }
      const issued = Date.parse(parsed.token?.issued_at ?? "");
      // Measure the lifetime with Keystone's own clock, then place it on ours (clocks may differ).
      const lifetime = Number.isFinite(issued) ? expiresAt - issued : expiresAt - started;
      return { value, issuedAt: started, expiresAt: started + lifetime, catalog: parsed.token?.catalog ?? [] };
    });
  }
}
