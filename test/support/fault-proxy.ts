/**
 * A fault-injecting forwarding HTTP proxy for tests, on 127.0.0.1 (free port), in front of one target: the ESX
 * simulator (https with its self-signed certificate: not verified upstream, loopback only) or Glance (http).
 * The provider talks plain HTTP to it (esx:host = proxy.url, esx:glanceUrl = proxy.url).
 *
 * - Every request is logged (`calls`): method, path, SOAP operation (first element inside the SOAP Body of
 *   POST /sdk), status, bytes each way, duration, and the fault applied if any.
 * - Only POST /sdk request bodies are buffered (to read the operation); everything else (datastore /folder
 *   transfers, Glance data) streams through, bytes counted, never buffered.
 * - Rules (`addRule`) pick requests by SOAP operation, method and path prefix, skip the first `skip` matches,
 *   then act `times` times: reset the connection, answer 503, delay, cut the response or the request body after
 *   `cutAfterBytes`, or expire the vSphere session (onExpireSession, then forward: the host answers
 *   NotAuthenticated). `when: "after"` forwards first (the host did the work), then acts on the answer.
 *   `onMatch` runs when a rule fires (e.g. to kill the provider at a precise point).
 */
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";

export interface ProxyCall {
  method: string;
  path: string;
  soapOp?: string;
  status?: number;
  requestBytes: number;
  responseBytes: number;
  ms: number;
  /** When the request arrived (Date.now()). */
  startedAt: number;
  fault?: string;
}

export type FaultAction = "reset" | "503" | "cut-response" | "cut-request" | "expire-session" | "hang" | { delayMs: number };

export interface FaultRule {
  soapOp?: string;
  method?: string;
  pathPrefix?: string;
  /** Which matching requests: skip the first `skip` (default 0), then apply `times` times (default 1; Infinity: always). */
  skip?: number;
  times?: number;
  /** "hang": never answer (the request stays open until the client gives up or the proxy stops). */
  action: FaultAction;
  /** "before": act without forwarding; "after": forward to the host, then act on the response (the host did the work, the client never learns). */
  when?: "before" | "after";
  /** cut-response: body bytes passed on before the cut (default: half the body). cut-request: request body bytes forwarded before the cut (default: half of Content-Length). */
  cutAfterBytes?: number;
  /** Called when the rule fires (awaited): "before" rules before their action, "after" rules once the host has answered, cuts at the cut. E.g. to kill the provider plugin. */
  onMatch?: (call: ProxyCall) => void | Promise<void>;
}

export interface FaultProxy {
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** "127.0.0.1:PORT" */
  hostPort: string;
  calls: ProxyCall[];
  /** SOAP operations seen, in order (one per round trip). */
  soapOps(): string[];
  clearCalls(): void;
  addRule(r: FaultRule): void;
  clearRules(): void;
  /** Resolves when a rule has fired `n` times in total since it was added (default 1). */
  fired(r: FaultRule, n?: number): Promise<void>;
  stop(): Promise<void>;
}

interface LiveRule {
  rule: FaultRule;
  seen: number;
  applied: number;
  waiters: { n: number; resolve: () => void }[];
}

const SOAP_OP = /<(?:[\w.-]+:)?Body\b[^>]*>\s*<(?:[\w.-]+:)?([\w.-]+)/;

export function soapOpOf(body: string): string | undefined {
  return SOAP_OP.exec(body)?.[1];
}

function actionName(a: FaultAction): string {
  return typeof a === "string" ? a : `delay ${a.delayMs}ms`;
}

export async function startFaultProxy(opts: { target: string; onExpireSession?: () => Promise<void> }): Promise<FaultProxy> {
  const target = new URL(opts.target);
  const secure = target.protocol === "https:";
  const agent = secure ? new https.Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 32 }) : new http.Agent({ keepAlive: true, maxSockets: 32 });
  const calls: ProxyCall[] = [];
  let rules: LiveRule[] = [];
  const sockets = new Set<net.Socket>();
  const timers = new Set<{ t: NodeJS.Timeout; done: () => void }>();
  let stopped = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const entry = { t: setTimeout(() => finish(), ms), done: () => finish() };
      function finish() {
        clearTimeout(entry.t);
        timers.delete(entry);
        resolve();
      }
      timers.add(entry);
    });

  function pick(call: ProxyCall): LiveRule | undefined {
    for (const lr of rules) {
      const r = lr.rule;
      if (r.soapOp !== undefined && r.soapOp !== call.soapOp) continue;
      if (r.method !== undefined && r.method.toUpperCase() !== call.method) continue;
      if (r.pathPrefix !== undefined && !call.path.startsWith(r.pathPrefix)) continue;
      lr.seen++;
      if (lr.seen <= (r.skip ?? 0) || lr.applied >= (r.times ?? 1)) continue;
      lr.applied++;
      return lr;
    }
    return undefined;
  }

  function notify(lr: LiveRule) {
    lr.waiters = lr.waiters.filter((w) => {
      if (lr.applied < w.n) return true;
      w.resolve();
      return false;
    });
  }

  function upstream(req: http.IncomingMessage, headers: http.OutgoingHttpHeaders): http.ClientRequest {
    const h: http.OutgoingHttpHeaders = { ...headers, host: target.host };
    delete h.connection;
    delete h["keep-alive"];
    const o = { protocol: target.protocol, hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers: h, agent };
    return secure ? https.request(o) : http.request(o);
  }

  function reset(res: http.ServerResponse) {
    res.socket?.resetAndDestroy?.();
    res.socket?.destroy();
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const started = Date.now();
    const call: ProxyCall = { method: req.method ?? "GET", path: req.url ?? "/", requestBytes: 0, responseBytes: 0, ms: 0, startedAt: started };
    calls.push(call);
    const end = () => (call.ms = Date.now() - started);
    res.once("close", end);

    let body: Buffer | undefined;
    if (call.method === "POST" && call.path.split("?")[0].replace(/\/+$/, "") === "/sdk") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = Buffer.concat(chunks);
      call.requestBytes = body.length;
      call.soapOp = soapOpOf(body.toString("utf8"));
    }

    const lr = pick(call);
    const rule = lr?.rule;
    const action = rule?.action;
    const when = rule?.when ?? "before";
    // A rule fires when its action takes effect: "before" now, "after" once the host has answered.
    const fire = async () => {
      if (!rule) return;
      call.fault = `${actionName(rule.action)} ${when}`;
      if (rule.onMatch) await rule.onMatch(call);
      notify(lr!);
    };
    // Cuts fire at the cut (the bytes before it have passed), everything else as described above.
    const cutting = action === "cut-request" || action === "cut-response";
    if (when === "before" && !cutting) await fire();
    if (stopped) return reset(res);

    if (action === "hang") {
      await sleep(24 * 3600_000);
      return reset(res);
    }
    if (when === "before" && action !== undefined) {
      if (action === "reset") {
        req.resume();
        return reset(res);
      }
      if (action === "503") {
        req.resume();
        call.status = 503;
        res.writeHead(503, { "content-type": "text/plain", connection: "close" });
        return res.end("Service Unavailable (fault-proxy)");
      }
      if (typeof action === "object") await sleep(action.delayMs);
      if (action === "expire-session") await opts.onExpireSession?.();
    }
    if (stopped) return reset(res);

    // Forward the request.
    const headers: http.OutgoingHttpHeaders = { ...req.headers };
    if (body) headers["content-length"] = String(body.length);
    const up = upstream(req, headers);
    const cutRequest = action === "cut-request";
    const requestLimit = cutRequest ? (rule!.cutAfterBytes ?? Math.floor(Number(req.headers["content-length"] ?? body?.length ?? 0) / 2)) : Infinity;
    let upRes: http.IncomingMessage;
    try {
      upRes = await new Promise<http.IncomingMessage>((resolve, reject) => {
        up.once("response", resolve);
        up.once("error", reject);
        if (body) {
          if (cutRequest) {
            up.write(body.subarray(0, requestLimit));
            setImmediate(async () => {
              await fire().catch(() => undefined);
              up.destroy();
              reset(res);
              reject(new Error("cut-request"));
            });
          } else up.end(body);
          return;
        }
        let sent = 0;
        // The host has received the first part; then both connections drop.
        const cutNow = () =>
          void setTimeout(async () => {
            await fire().catch(() => undefined);
            up.destroy();
            req.destroy();
            reset(res);
            reject(new Error("cut-request"));
          }, 50);
        if (requestLimit <= 0) {
          up.flushHeaders();
          return cutNow();
        }
        req.on("data", (c: Buffer) => {
          if (sent >= requestLimit) return;
          const take = Math.min(c.length, requestLimit - sent);
          sent += take;
          call.requestBytes = sent;
          const ok = up.write(take < c.length ? c.subarray(0, take) : c);
          if (sent >= requestLimit) return cutNow();
          if (!ok) {
            req.pause();
            up.once("drain", () => req.resume());
          }
        });
        req.once("end", () => {
          if (sent < requestLimit) up.end();
        });
        req.once("error", (e) => up.destroy(e));
        res.once("close", () => {
          if (!res.writableFinished) up.destroy();
        });
      });
    } catch (e) {
      if ((e as Error).message !== "cut-request") {
        call.fault ??= `upstream error: ${(e as Error).message}`;
        if (!res.headersSent && !res.destroyed) {
          call.status = 502;
          res.writeHead(502, { "content-type": "text/plain", connection: "close" });
          res.end(`fault-proxy: upstream error: ${(e as Error).message}`);
        }
      }
      return;
    }
    call.status = upRes.statusCode;
    if (when === "after" && !cutting) await fire();
    if (stopped) return reset(res);

    if (when === "after" && (action === "reset" || action === "503")) {
      // The host did the work: read its whole answer, then act.
      for await (const c of upRes) call.responseBytes += (c as Buffer).length;
      if (action === "reset") return reset(res);
      call.status = 503;
      res.writeHead(503, { "content-type": "text/plain", connection: "close" });
      return res.end("Service Unavailable (fault-proxy)");
    }
    if (when === "after" && typeof action === "object") {
      // The host answered (its work is done); hold the answer (paused, not buffered), then pass it on.
      upRes.pause();
      await sleep(action.delayMs);
      if (stopped) return reset(res);
    }
    if (when === "after" && action === "expire-session") {
      // The host did the work; the session ends before its answer is passed on (gone for the next call).
      upRes.pause();
      await opts.onExpireSession?.();
    }

    const resHeaders = { ...upRes.headers };
    delete resHeaders.connection;
    delete resHeaders["keep-alive"];
    res.writeHead(upRes.statusCode ?? 502, resHeaders);
    const cutAt = action === "cut-response" ? (rule!.cutAfterBytes ?? Math.floor(Number(upRes.headers["content-length"] ?? 0) / 2)) : Infinity;
    let passed = 0;
    let cut = false;
    upRes.on("data", (c: Buffer) => {
      if (cut) return;
      const take = Math.min(c.length, cutAt - passed);
      if (take > 0) {
        passed += take;
        call.responseBytes = passed;
        if (!res.write(take < c.length ? c.subarray(0, take) : c)) {
          upRes.pause();
          res.once("drain", () => upRes.resume());
        }
      }
      if (passed >= cutAt) {
        cut = true;
        upRes.destroy();
        void fire().catch(() => undefined);
        // Let the bytes reach the client, then drop the connection mid-body.
        setTimeout(() => reset(res), 50);
      }
    });
    upRes.once("end", () => {
      if (cut) return;
      if (cutAt !== Infinity) {
        // The body was shorter than the cut point: still never complete it.
        return reset(res);
      }
      res.end();
    });
    upRes.once("error", () => reset(res));
    res.once("close", () => upRes.destroy());
    upRes.resume();
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502, { "content-type": "text/plain", connection: "close" });
        res.end(`fault-proxy: ${(e as Error).message}`);
      } else reset(res);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on("connection", (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  server.on("clientError", (_e, s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const hostPort = `127.0.0.1:${port}`;

  return {
    url: `http://${hostPort}`,
    hostPort,
    calls,
    soapOps: () => calls.filter((c) => c.soapOp).map((c) => c.soapOp!),
    clearCalls: () => void calls.splice(0),
    addRule(r) {
      rules.push({ rule: r, seen: 0, applied: 0, waiters: [] });
    },
    clearRules() {
      for (const lr of rules) for (const w of lr.waiters) w.resolve();
      rules = [];
    },
    fired(r, n = 1) {
      const lr = rules.find((x) => x.rule === r);
      if (!lr) return Promise.reject(new Error("fired(): the rule was not added"));
      if (lr.applied >= n) return Promise.resolve();
      return new Promise((resolve) => lr.waiters.push({ n, resolve }));
    },
    async stop() {
      stopped = true;
      for (const t of [...timers]) t.done();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
