/**
 * HTTPS agents for an ESX host. Certificates are verified by default; `thumbprint` pins a host's (usually
 * self-signed) certificate by its SHA-256 or SHA-1 fingerprint; `insecure` skips verification explicitly.
 * The check happens in the agent's createConnection before the socket is handed to HTTP, so no request byte
 * (and no password) is sent to a host that failed it. The same agent serves SOAP calls and datastore transfers.
 */
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as tls from "node:tls";
import { VimTlsError } from "./faults";

export interface TlsOptions {
  thumbprint?: string;
  insecure?: boolean;
  connectTimeoutMs?: number;
  maxSockets?: number;
}

/** "AA:BB:..." or "aabb..." -> upper-case hex without separators. */
export function normalizeThumbprint(t: string): string {
  return t.replace(/[\s:-]/g, "").toUpperCase();
}

export function validThumbprint(t: string): boolean {
  const n = normalizeThumbprint(t);
  return /^[0-9A-F]{40}$/.test(n) || /^[0-9A-F]{64}$/.test(n);
}

type ConnectionFactory = (options: tls.ConnectionOptions, callback: (err: Error | null, s?: net.Socket) => void) => net.Socket | undefined;

/** Hosts already warned about esx:insecure in this process (one warning per host). */
const insecureWarned = new Set<string>();

const RENEW =
  "Renew the host's certificate (on the host: /sbin/generate-certificates, then restart hostd; or from vCenter), " +
  "check the new thumbprint on the host (DCUI, or `openssl x509 -fingerprint -sha256` on the host) and set it as esx:thumbprint";

export function createAgent(host: string, opts: TlsOptions, onWarn: (msg: string) => void = (m) => void process.stderr.write(`warning: ${m}\n`)): https.Agent {
  const pin = opts.thumbprint ? normalizeThumbprint(opts.thumbprint) : undefined;
  if (opts.insecure && !pin && !insecureWarned.has(host)) {
    insecureWarned.add(host);
    onWarn(`esx:insecure is set: the certificate of ESX host ${host} is not verified`);
  }
  const timeout = opts.connectTimeoutMs ?? 15000;
  const agent = new https.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 32, rejectUnauthorized: false });
  // https.Agent's createConnection is part of its (untyped) http.Agent contract: replaced so the check runs first.
  (agent as unknown as { createConnection: ConnectionFactory }).createConnection = (options, callback) => {
    const socket = tls.connect({ ...options, rejectUnauthorized: false, servername: net.isIP(String(options.host)) ? undefined : options.host });
    const timer = setTimeout(() => fail(new VimTlsError(host, `connecting to ESX host ${host} timed out after ${timeout} ms`)), timeout);
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      callback(err);
    };
    socket.once("error", (e) => fail(e));
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate();
      const sha256 = (cert.fingerprint256 ?? "").toUpperCase();
      const sha1 = (cert.fingerprint ?? "").toUpperCase();
      let problem: string | undefined;
      const expired = !!cert.valid_to && Date.parse(cert.valid_to) < Date.now();
      if (pin) {
        if (pin !== normalizeThumbprint(sha256) && pin !== normalizeThumbprint(sha1)) {
          problem =
            `the certificate of ESX host ${host} does not match esx:thumbprint: the host presented SHA-256 ${sha256} ` +
            `(SHA-1 ${sha1}). If the host's certificate was renewed, update esx:thumbprint after checking it on the host.`;
        } else if (expired) {
          problem = `the pinned certificate of ESX host ${host} expired on ${cert.valid_to} (SHA-256 ${sha256}). ${RENEW}.`;
        }
      } else if (!opts.insecure && expired) {
        problem =
          `the certificate of ESX host ${host} expired on ${cert.valid_to}: it presented SHA-256 ${sha256}. ${RENEW} ` +
          `(or set esx:insecure: true to skip verification).`;
      } else if (!opts.insecure && !socket.authorized) {
        problem =
          `the certificate of ESX host ${host} is not trusted (${socket.authorizationError}): it presented SHA-256 ` +
          `${sha256}. Pin it with esx:thumbprint (compare it with the host's own, e.g. in the DCUI or ` +
          `\`openssl x509 -fingerprint -sha256\` on the host), or set esx:insecure: true to skip verification.`;
      }
      if (problem) return fail(new VimTlsError(host, problem, sha256, sha1));
      done = true;
      clearTimeout(timer);
      socket.removeAllListeners("error");
      callback(null, socket);
    });
    return undefined;
  };
  return agent;
}

/** Plain-HTTP agent (simulators only; never for a real host). */
export function createPlainAgent(maxSockets = 32): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets });
}
