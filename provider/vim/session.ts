/**
 * One logged-in vSphere API session per host and user per process, shared by every resource.
 *
 * - `RetrieveServiceContent` + `Login` once; the `vmware_soap_session` cookie goes on every call (and on datastore
 *   HTTP transfers, see `cookieHeader`).
 * - A `NotAuthenticated` fault (session expired or terminated on the host) logs in again and repeats the call once.
 * - Transport failures are retried with bounded backoff only for read-only calls; a call that changes the host is
 *   never repeated blindly (the caller checks what the host did).
 * - Wrong credentials fail at once with no retry (hosts lock accounts).
 * - `Logout` when the process ends (SIGTERM/SIGINT/beforeExit), bounded in time.
 *
 * What `soap` (node-soap) does here and what this package does itself: node-soap reads the WSDL into a client with
 * one method per operation, wraps the request body in the SOAP envelope, posts it (SOAPAction header, our cookie,
 * our TLS agent) and hands back the raw answer and its headers. The body is written by our serializer (xml.ts:
 * vim25's element order, which real ESX insists on, and xsi:type for subtypes, which node-soap's object
 * serializer does not keep) and the answer is parsed by our decoder (xml.ts, typed by the WSDL's model), so the
 * types in types.generated.ts describe exactly what goes over the wire.
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import * as soap from "soap";
import { endpointOf, Endpoint, HostConnection } from "./config";
import { licenseHint, VimAuthError, VimFault, VimLicenseError, VimTlsError, VimTransportError } from "./faults";
import { vimSchema, VimSchema, wsdlPath } from "./schema";
import { createAgent, createPlainAgent } from "./tls";
import type { ServiceContent, VimMethod, VimMethods } from "./types.generated";
import { decodeValue, isElement, MoRef, parseEnvelope, serializeRequest, XmlNode, xsiTypeOf } from "./xml";

/** Calls that only read: safe to repeat after a transport error. */
const READ_ONLY = new Set<VimMethod>(["RetrieveServiceContent", "RetrievePropertiesEx", "ContinueRetrievePropertiesEx", "WaitForUpdatesEx", "SessionIsActive"]);

/** The service content after login: the managers every host has are present. */
export type HostServiceContent = ServiceContent & {
  rootFolder: MoRef<"Folder">;
  propertyCollector: MoRef<"PropertyCollector">;
  sessionManager: MoRef;
  fileManager: MoRef<"FileManager">;
  virtualDiskManager: MoRef<"VirtualDiskManager">;
  taskManager: MoRef<"TaskManager">;
};

/** The arguments of a vim25 method (without `_this`) and its answer, from the generated declarations. */
export type ArgsOf<M extends VimMethod> = VimMethods[M]["args"];
export type ReturnOf<M extends VimMethod> = VimMethods[M]["returns"];
/** The arguments as a parameter: optional when the method has no required argument. */
export type ArgsParam<M extends VimMethod> = Record<string, never> extends ArgsOf<M> ? [args?: ArgsOf<M>] : [args: ArgsOf<M>];
type CallRest<M extends VimMethod> = Record<string, never> extends ArgsOf<M> ? [args?: ArgsOf<M>, opts?: CallOptions] : [args: ArgsOf<M>, opts?: CallOptions];

export interface CallOptions {
  timeoutMs?: number;
}

export interface CallRecord {
  op: VimMethod;
  ms: number;
}

export class VimSession {
  private static readonly registry = new Map<string, VimSession>();

  /** The shared session for this host and user (created on first use; logs in lazily). */
  static for(conn: HostConnection): VimSession {
    const ep = endpointOf(conn.host);
    const secret = createHash("sha256").update(conn.password).digest("hex");
    const key = `${ep.sdkUrl}|${conn.username}|${secret}|${conn.thumbprint ?? ""}|${conn.insecure ? 1 : 0}`;
    let s = VimSession.registry.get(key);
    if (!s || s.closed) {
      s = new VimSession(conn, ep);
      VimSession.registry.set(key, s);
      hookProcessExit();
    }
    return s;
  }

  /** Logs out of every session of this process (bounded). */
  static async closeAll(timeoutMs = 3000): Promise<void> {
    const all = [...VimSession.registry.values()];
    VimSession.registry.clear();
    await Promise.race([Promise.allSettled(all.map((s) => s.logout())), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  readonly endpoint: Endpoint;
  readonly schema: VimSchema = vimSchema();
  readonly agent: http.Agent;
  /** Every SOAP call made, in order (for round-trip counts). */
  readonly calls: CallRecord[] = [];
  private client?: Promise<soap.Client>;
  private cookie?: string;
  private login?: Promise<void>;
  private relogging?: Promise<void>;
  private content?: HostServiceContent;
  private closed = false;
  private logins = 0;

  private constructor(
    readonly conn: HostConnection,
    ep: Endpoint,
  ) {
    this.endpoint = ep;
    this.agent = ep.secure
      ? createAgent(
          ep.display,
          { thumbprint: conn.thumbprint, insecure: conn.insecure, connectTimeoutMs: conn.connectTimeoutMs, maxSockets: conn.maxSockets },
          conn.onWarning,
        )
      : createPlainAgent(conn.maxSockets);
  }

  get host(): string {
    return this.endpoint.display;
  }

  /** Number of successful logins so far (1 in a healthy process; +1 per expired session). */
  get loginCount(): number {
    return this.logins;
  }

  /** Cookie header for datastore HTTP transfers of this session. */
  async cookieHeader(): Promise<string> {
    await this.ensureLogin();
    return this.cookie ?? "";
  }

  /**
   * A datastore transfer was refused with this cookie (HTTP 401: the session expired on the host): logs in again
   * (once, however many transfers noticed it) and returns the new cookie header.
   */
  async renewCookie(rejected: string): Promise<string> {
    await this.ensureLogin();
    await this.relogin(rejected);
    return this.cookie ?? "";
  }

  async serviceContent(): Promise<HostServiceContent> {
    await this.ensureLogin();
    return this.content!;
  }

  /** Invokes a vim25 operation on a managed object and returns its decoded `returnval`. */
  async call<M extends VimMethod>(op: M, self: MoRef, ...[args, opts]: CallRest<M>): Promise<ReturnOf<M>> {
    return this.callWith(op, self, (args ?? {}) as ArgsOf<M>, opts ?? {});
  }

  private async callWith<M extends VimMethod>(op: M, self: MoRef, args: ArgsOf<M>, opts: CallOptions): Promise<ReturnOf<M>> {
    await this.ensureLogin();
    const used = this.cookie;
    try {
      return await this.send(op, self, args, opts);
    } catch (e) {
      if (e instanceof VimFault && e.is("NotAuthenticated")) {
        await this.relogin(used);
        return this.send(op, self, args, opts);
      }
      throw e;
    }
  }

  private ensureLogin(): Promise<void> {
    if (this.closed) throw new Error(`the session to ${this.host} was closed`);
    this.login ??= this.doLogin().catch((e) => {
      this.login = undefined;
      throw e;
    });
    return this.login;
  }

  /**
   * Logs in again after the host refused the cookie `rejected`: once, however many calls noticed it (a login in
   * progress is shared; a cookie already replaced means another call has logged in again).
   */
  private relogin(rejected: string | undefined): Promise<void> {
    if (this.relogging) return this.relogging;
    if (this.cookie !== undefined && this.cookie !== rejected) return Promise.resolve();
    const p: Promise<void> = this.doLogin().then(
      () => {
        if (this.relogging === p) this.relogging = undefined;
      },
      (e) => {
        if (this.relogging === p) this.relogging = undefined;
        if (this.login === p) this.login = undefined;
        throw e;
      },
    );
    p.catch(() => undefined);
    this.relogging = p;
    this.login = p;
    return p;
  }

  private async doLogin(): Promise<void> {
    this.cookie = undefined;
    const si = { type: "ServiceInstance", value: "ServiceInstance" };
    const content = await this.send("RetrieveServiceContent", si, {});
    const { rootFolder, propertyCollector, sessionManager, fileManager, virtualDiskManager, taskManager } = content;
    if (!rootFolder || !propertyCollector || !sessionManager || !fileManager || !virtualDiskManager || !taskManager) {
      throw new Error(
        `ESX host ${this.host} answered a service content without one of its managers (root folder, property collector, session, file, virtual disk, task)`,
      );
    }
    this.content = {
      ...content,
      rootFolder: { type: "Folder", value: rootFolder.value },
      propertyCollector: { type: "PropertyCollector", value: propertyCollector.value },
      sessionManager,
      fileManager: { type: "FileManager", value: fileManager.value },
      virtualDiskManager: { type: "VirtualDiskManager", value: virtualDiskManager.value },
      taskManager: { type: "TaskManager", value: taskManager.value },
    };
    try {
      await this.send("Login", sessionManager, { userName: this.conn.username, password: this.conn.password });
    } catch (e) {
      if (e instanceof VimFault && e.is("InvalidLogin", "NoPermission", "InvalidArgument")) {
        throw new VimAuthError(this.host, this.conn.username, e.hostMessage);
      }
      throw e;
    }
    this.logins++;
  }

  async logout(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.login && this.content) {
      try {
        await this.login;
        await this.send("Logout", this.content.sessionManager, {}, { timeoutMs: 2000 });
      } catch {
        /* best effort */
      }
    }
    this.agent.destroy();
  }

  private soapClient(): Promise<soap.Client> {
    this.client ??= (async () => {
      const c = await soap.createClientAsync(wsdlPath(), { endpoint: this.endpoint.sdkUrl, disableCache: false });
      c.on("response", (_body: unknown, res: { headers?: Record<string, string | string[] | undefined> } | undefined) => this.takeCookie(res?.headers));
      return c;
    })();
    return this.client;
  }

  private takeCookie(headers: Record<string, string | string[] | undefined> | undefined): void {
    const sc = headers?.["set-cookie"];
    for (const c of Array.isArray(sc) ? sc : sc ? [sc] : []) {
      const m = /(vmware_soap_session=[^;]+)/.exec(String(c));
      if (m) this.cookie = m[1];
    }
  }

  private async send<M extends VimMethod>(op: M, self: MoRef, args: ArgsOf<M>, opts: CallOptions = {}): Promise<ReturnOf<M>> {
    const body = serializeRequest(this.schema, op, self, args);
    const client = await this.soapClient();
    const attempts = READ_ONLY.has(op) ? 4 : 1;
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      try {
        const raw = await this.post(client, op, body, opts);
        this.calls.push({ op, ms: Date.now() - started });
        const result = this.decode(op, raw) as ReturnOf<M>;
        if (op === "RetrievePropertiesEx" || op === "ContinueRetrievePropertiesEx") this.checkMissing(op, result as ReturnOf<"RetrievePropertiesEx">);
        return result;
      } catch (e) {
        if (e instanceof VimFault) this.calls.push({ op, ms: Date.now() - started });
        if (!(e instanceof VimTransportError) || attempt >= attempts) throw e;
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt) * (0.5 + Math.random())));
      }
    }
  }

  private post(client: soap.Client, op: VimMethod, body: string, opts: CallOptions): Promise<string> {
    const headers: Record<string, string> = { SOAPAction: this.schema.soapAction };
    if (this.cookie) headers.Cookie = this.cookie;
    const options: Record<string, unknown> = {
      timeout: opts.timeoutMs ?? 10 * 60 * 1000,
      httpsAgent: this.agent,
      httpAgent: this.agent,
      maxRedirects: 0,
    };
    return new Promise<string>((resolve, reject) => {
      // node-soap's client has one method per WSDL operation; `_xml` hands it our serialized body as is.
      const fn = (client as unknown as Record<string, SoapOperation | undefined>)[op];
      if (typeof fn !== "function") return reject(new Error(`operation ${op} missing from the WSDL client`));
      fn.call(
        client,
        { _xml: body },
        (err, _result, raw) => {
          if (!err) return resolve(raw ?? "");
          reject(this.toError(op, err));
        },
        options,
        headers,
      );
    });
  }

  /**
   * A session that expired on the host can answer reads with every property "missing" for NotAuthenticated
   * instead of a fault (ESX does, and so does the simulator): treat that as the fault it is.
   */
  private checkMissing(op: VimMethod, result: ReturnOf<"RetrievePropertiesEx">): void {
    for (const o of result?.objects ?? []) {
      for (const m of o.missingSet ?? []) {
        if (m.fault?.fault?._type === "NotAuthenticated") throw new VimFault("NotAuthenticated", this.host, "session is not authenticated", op);
      }
    }
  }

  private toError(op: VimMethod, err: SoapError): Error {
    const raw: unknown = err?.body ?? err?.response?.data;
    if (typeof raw === "string" && raw.includes("Fault")) {
      try {
        return this.fault(op, raw);
      } catch {
        /* fall through */
      }
    }
    for (let c: SoapError | undefined = err; c; c = c.cause) if (c instanceof VimTlsError) return c;
    const status = err?.response?.status;
    if (status && status !== 503) {
      return new VimFault(`HTTP${status}`, this.host, `HTTP status ${status} from ${this.endpoint.sdkUrl}`, op);
    }
    const code = err?.code ?? err?.cause?.code;
    const msg = status === 503 ? "HTTP 503 Service Unavailable" : (err?.cause?.message ?? err?.message ?? String(err));
    return new VimTransportError(this.host, op, code && !msg.includes(code) ? `${code}: ${msg}` : msg, code);
  }

  private fault(op: VimMethod, raw: string): VimFault {
    const { body, xsiPrefixes } = parseEnvelope(raw);
    const f = isElement(body.Fault) ? body.Fault : undefined;
    const detail = f && isElement(f.detail) ? f.detail : {};
    const [childName, childValue] = Object.entries(detail).find(([k]) => !k.startsWith("@") && k !== "#text") ?? [];
    const child: XmlNode = Array.isArray(childValue) ? childValue[0] : childValue;
    const name = xsiTypeOf(child, xsiPrefixes) ?? (childName ? childName.replace(/Fault$/, "") : "SystemError");
    const faultstring = f?.faultstring;
    const message = typeof faultstring === "string" ? faultstring : isElement(faultstring) ? String(faultstring["#text"] ?? "") : "";
    const decoded = child ? decodeValue(this.schema, "anyType", child, xsiPrefixes) : {};
    const fault = new VimFault(name, this.host, message, op, decoded && typeof decoded === "object" ? (decoded as Record<string, unknown>) : {});
    const hint = licenseHint(fault);
    if (hint) throw new VimLicenseError(fault, hint);
    return fault;
  }

  private decode(op: VimMethod, raw: string): unknown {
    const { body, xsiPrefixes } = parseEnvelope(raw);
    if (body.Fault) throw this.fault(op, raw);
    const ret = this.schema.returns.get(op);
    const resp = body[`${op}Response`];
    if (!ret || !isElement(resp)) return undefined;
    const node = resp.returnval;
    if (node === undefined) return undefined;
    return decodeValue(this.schema, ret.type, Array.isArray(node) ? node[0] : node, xsiPrefixes);
  }
}

/** A node-soap operation method: (args, callback(err, result, rawResponse), options, extraHeaders). */
type SoapOperation = (
  args: { _xml: string },
  callback: (err: SoapError | null, result: unknown, raw?: string) => void,
  options: Record<string, unknown>,
  headers: Record<string, string>,
) => void;

/** What node-soap's (axios's) errors may carry: the answer's status and body, a system error code, a cause. */
interface SoapError extends Error {
  body?: unknown;
  response?: { status?: number; data?: unknown };
  code?: string;
  cause?: SoapError;
}

let exitHooked = false;
function hookProcessExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  const onSignal = (sig: NodeJS.Signals) => {
    void VimSession.closeAll(2000).finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  process.once("beforeExit", () => void VimSession.closeAll(2000));
}
