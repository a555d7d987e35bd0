/**
 * Starts @pulumi/pulumi's real dynamic-provider plugin process and drives it over gRPC the way the Pulumi
 * engine does (GetPluginInfo, Configure, Check, Diff, Create, Read, Update, Delete). Values cross the wire as
 * google.protobuf.Struct and come back as plain JSON objects; the unknown sentinel passes through unchanged.
 * Only for tests that need the plugin protocol itself (single operations, a plugin process of their own); whole
 * programs run through the real Pulumi CLI (test/cli/).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import { ChildProcess } from "node:child_process";
import { killTree, spawnTracked, stopTracked } from "../../scripts/lib/processes";
import { EngineLog, EngineServer, Severity, startEngineServer } from "./engine-service";
import { emptyproto, fromStruct, grpc, plugproto, Props, provproto, provrpc, PULUMI_DIR, SECRET_SIG, SIG_KEY, statusproto, toStruct } from "./grpc";
import { makeProgramDir } from "./program-dir";

export interface StartPluginOptions {
  /** Stack config with namespaced keys ("esx:host"), string values as the CLI stores them. */
  config: Record<string, string>;
  /** Config keys that are secret: sent as secret values in Configure and listed in PULUMI_CONFIG_SECRET_KEYS. */
  secretKeys?: string[];
  /** PULUMI_NODEJS_PROJECT; unqualified config keys in the provider resolve against it. Default "test". */
  project?: string;
  /** Program directory (plugin cwd). Default: a fresh temp dir from makeProgramDir(links), removed on stop. */
  cwd?: string;
  /** Extra node_modules links for the default program directory (name -> absolute path). */
  links?: Record<string, string>;
  /** Extra environment for the plugin process (applied last). */
  env?: Record<string, string>;
  /** Label recorded with the PID (scripts/lib/processes.ts). */
  label?: string;
}

export interface PluginCall {
  method: string;
  request: unknown;
  response?: unknown;
  error?: { code: number; message: string; initFailed?: InitFailed };
}

/** Details of ErrorResourceInitFailed: the resource exists (id) but did not finish initializing. */
export interface InitFailed {
  id: string;
  properties: Props;
  reasons: string[];
}

/** A failed call: `message` is the gRPC status message (the provider's error message). */
export class PluginError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
    readonly initFailed?: InitFailed,
  ) {
    super(message);
    this.name = "PluginError";
  }
}

export interface ConfigureResult {
  acceptSecrets: boolean;
  supportsPreview: boolean;
  acceptResources: boolean;
  acceptOutputs: boolean;
}
export interface CheckResult {
  inputs: Props;
  failures: { property: string; reason: string }[];
}
export interface DiffResult {
  changes: "unknown" | "none" | "some";
  replaces: string[];
  stables: string[];
  deleteBeforeReplace: boolean;
}
export interface CreateResult {
  id: string;
  properties: Props;
}
export interface ReadResult {
  /** "" when the provider reports the resource gone. */
  id: string;
  properties: Props;
  inputs?: Props;
}

export interface PluginClient {
  readonly pid: number;
  readonly port: number;
  readonly cwd: string;
  readonly engineAddress: string;
  /** Engine Log calls and plugin stdout/stderr lines (after the port line), in arrival order. */
  readonly logs: EngineLog[];
  /** Every request and its response or error, as plain JSON, for assertions and secret scanning. */
  readonly calls: PluginCall[];
  /** The plugin process exited (stop, kill, or crash). */
  readonly exited: boolean;
  getPluginInfo(): Promise<{ version: string }>;
  /** Configure as the engine sends it; defaults to the config given to startPlugin. */
  configure(opts?: { config?: Record<string, string>; secretKeys?: string[] }): Promise<ConfigureResult>;
  check(urn: string, olds: Props, news: Props, opts?: { randomSeed?: Uint8Array }): Promise<CheckResult>;
  diff(id: string, urn: string, olds: Props, news: Props, opts?: { oldInputs?: Props; ignoreChanges?: string[] }): Promise<DiffResult>;
  create(urn: string, props: Props, opts?: { timeout?: number; preview?: boolean }): Promise<CreateResult>;
  read(id: string, urn: string, props: Props, inputs?: Props): Promise<ReadResult>;
  update(id: string, urn: string, olds: Props, news: Props, opts?: { timeout?: number; preview?: boolean; oldInputs?: Props }): Promise<{ properties: Props }>;
  delete(id: string, urn: string, props: Props, opts?: { timeout?: number; oldInputs?: Props }): Promise<void>;
  /** Resolves with the first log entry (already recorded or arriving within timeoutMs) that matches. */
  waitForLog(match: (l: EngineLog) => boolean, timeoutMs?: number): Promise<EngineLog>;
  /** SIGTERM (then SIGKILL) by PID, stops the engine server, removes the default program directory. */
  stop(): Promise<void>;
  /** SIGKILL by PID, for crash tests; calls now fail (UNAVAILABLE). Still call stop() afterwards to clean up. */
  kill(): Promise<void>;
}

/** Splits a URN into the `name` and `type` fields the engine also sends. */
function urnParts(urn: string): { name: string; type: string } {
  const parts = urn.split("::");
  const types = (parts[2] ?? "").split("$");
  return { name: parts[3] ?? "", type: types[types.length - 1] ?? "" };
}

/** Plain stdout/stderr lines: `pulumi.log.*` without an engine prints "info: [runtime] msg" etc. */
function lineToLog(source: "stdout" | "stderr", line: string): EngineLog {
  const m = /^(debug|info|warning|error): \[runtime\] (.*)$/s.exec(line);
  const severity: Severity = m ? (m[1] as Severity) : source === "stderr" ? "error" : "info";
  return { source, severity, message: m ? m[2] : line, urn: "" };
}

function decodeInitFailed(err: any): InitFailed | undefined {
  const raw = err?.metadata?.get?.("grpc-status-details-bin")?.[0];
  if (!raw) return undefined;
  const status = statusproto.Status.deserializeBinary(new Uint8Array(raw as Buffer));
  for (const any of status.getDetailsList()) {
    if (any.getTypeName() !== "pulumirpc.ErrorResourceInitFailed") continue;
    const d = provproto.ErrorResourceInitFailed.deserializeBinary(any.getValue_asU8());
    return { id: d.getId(), properties: fromStruct(d.getProperties()) ?? {}, reasons: d.getReasonsList() };
  }
  return undefined;
}

export async function startPlugin(opts: StartPluginOptions): Promise<PluginClient> {
  const logs: EngineLog[] = [];
  const listeners = new Set<(l: EngineLog) => void>();
  const record = (l: EngineLog) => {
    logs.push(l);
    for (const f of listeners) f(l);
  };
  const ownDir = opts.cwd === undefined;
  const cwd = opts.cwd ?? makeProgramDir(opts.links);
  const engine: EngineServer = await startEngineServer(record);

  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules etc. are not the engine's
  env.PULUMI_NODEJS_PROJECT = opts.project ?? "test";
  env.PULUMI_CONFIG = JSON.stringify(opts.config);
  if (opts.secretKeys?.length) env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(opts.secretKeys);
  Object.assign(env, opts.env ?? {});

  const local = path.join(cwd, "node_modules", "@pulumi", "pulumi", "cmd", "dynamic-provider", "index.js");
  const script = fs.existsSync(local) ? local : path.join(PULUMI_DIR, "cmd", "dynamic-provider", "index.js");
  let child: ChildProcess;
  try {
    child = spawnTracked(process.execPath, [script, engine.address], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      label: opts.label ?? "pulumi dynamic-provider plugin",
    });
  } catch (e) {
    await engine.stop();
    if (ownDir) fs.rmSync(cwd, { recursive: true, force: true });
    throw e;
  }
  let exited = false;
  const exitPromise = new Promise<void>((r) =>
    child.once("exit", () => {
      exited = true;
      r();
    }),
  );

  const stderrLines: string[] = [];
  readline.createInterface({ input: child.stderr! }).on("line", (line) => {
    stderrLines.push(line);
    record(lineToLog("stderr", line));
  });
  let port = 0;
  const portPromise = new Promise<number>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!port) {
        port = Number(line.trim());
        if (Number.isInteger(port) && port > 0) resolve(port);
        else reject(new Error(`plugin printed "${line}" instead of its port`));
        return;
      }
      record(lineToLog("stdout", line));
    });
    exitPromise.then(() => reject(new Error(`plugin exited before printing its port: ${stderrLines.join("\n")}`)));
  });
  try {
    await portPromise;
  } catch (e) {
    await stopTracked(child);
    await engine.stop();
    if (ownDir) fs.rmSync(cwd, { recursive: true, force: true });
    throw e;
  }

  const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const calls: PluginCall[] = [];

  /** One unary call: records request and response/error, converts errors into PluginError. */
  function unary<Res, T>(method: string, plainRequest: unknown, req: unknown, convert: (res: Res) => T): Promise<T> {
    const entry: PluginCall = { method, request: plainRequest };
    calls.push(entry);
    return new Promise<T>((resolve, reject) => {
      (client as any)[method](req, (err: any, res: Res) => {
        if (err) {
          const initFailed = decodeInitFailed(err);
          const message: string = err.details ?? err.message;
          entry.error = { code: err.code, message, ...(initFailed ? { initFailed } : {}) };
          reject(new PluginError(method, err.code, message, initFailed));
          return;
        }
        try {
          const out = convert(res);
          entry.response = out;
          resolve(out);
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  let stopped = false;
  async function kill() {
    killTree(child.pid, "SIGKILL");
    await exitPromise;
  }
  async function stop() {
    await stopTracked(child);
    await exitPromise;
    if (stopped) return;
    stopped = true;
    client.close();
    await engine.stop();
    if (ownDir) fs.rmSync(cwd, { recursive: true, force: true });
  }

  const plugin: PluginClient = {
    pid: child.pid!,
    port,
    cwd,
    engineAddress: engine.address,
    logs,
    calls,
    get exited() {
      return exited;
    },

    getPluginInfo() {
      return unary("getPluginInfo", {}, new emptyproto.Empty(), (res: InstanceType<typeof plugproto.PluginInfo>) => ({ version: res.getVersion() }));
    },

    configure(o = {}) {
      const config = o.config ?? opts.config;
      const secret = new Set(o.secretKeys ?? opts.secretKeys ?? []);
      const args: Props = {};
      for (const [k, v] of Object.entries(config)) args[k] = secret.has(k) ? { [SIG_KEY]: SECRET_SIG, value: v } : v;
      const req = new provproto.ConfigureRequest();
      for (const [k, v] of Object.entries(config)) req.getVariablesMap().set(k, v);
      req.setArgs(toStruct(args));
      req.setAcceptsecrets(true);
      req.setAcceptresources(true);
      req.setSendsOldInputs(true);
      req.setSendsOldInputsToDelete(true);
      return unary("configure", { variables: config, args }, req, (res: InstanceType<typeof provproto.ConfigureResponse>) => ({
        acceptSecrets: res.getAcceptsecrets(),
        supportsPreview: res.getSupportspreview(),
        acceptResources: res.getAcceptresources(),
        acceptOutputs: res.getAcceptoutputs(),
      }));
    },

    check(urn, olds, news, o = {}) {
      const req = new provproto.CheckRequest();
      const { name, type } = urnParts(urn);
      req.setUrn(urn);
      req.setName(name);
      req.setType(type);
      req.setOlds(toStruct(olds));
      req.setNews(toStruct(news));
      if (o.randomSeed) req.setRandomseed(o.randomSeed);
      return unary("check", { urn, olds, news }, req, (res: InstanceType<typeof provproto.CheckResponse>) => ({
        inputs: fromStruct(res.getInputs()) ?? {},
        failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
      }));
    },

    diff(id, urn, olds, news, o = {}) {
      const req = new provproto.DiffRequest();
      const { name, type } = urnParts(urn);
      req.setId(id);
      req.setUrn(urn);
      req.setName(name);
      req.setType(type);
      req.setOlds(toStruct(olds));
      req.setNews(toStruct(news));
      if (o.oldInputs) req.setOldInputs(toStruct(o.oldInputs));
      if (o.ignoreChanges) req.setIgnorechangesList(o.ignoreChanges);
      const kinds = { 0: "unknown", 1: "none", 2: "some" } as const;
      return unary("diff", { id, urn, olds, news, ...o }, req, (res: InstanceType<typeof provproto.DiffResponse>) => ({
        changes: kinds[res.getChanges() as 0 | 1 | 2] ?? "unknown",
        replaces: res.getReplacesList(),
        stables: res.getStablesList(),
        deleteBeforeReplace: res.getDeletebeforereplace(),
      }));
    },

    create(urn, props, o = {}) {
      const req = new provproto.CreateRequest();
      const { name, type } = urnParts(urn);
      req.setUrn(urn);
      req.setName(name);
      req.setType(type);
      req.setProperties(toStruct(props));
      if (o.timeout !== undefined) req.setTimeout(o.timeout);
      if (o.preview) req.setPreview(true);
      return unary("create", { urn, properties: props, ...o }, req, (res: InstanceType<typeof provproto.CreateResponse>) => ({
        id: res.getId(),
        properties: fromStruct(res.getProperties()) ?? {},
      }));
    },

    read(id, urn, props, inputs) {
      const req = new provproto.ReadRequest();
      const { name, type } = urnParts(urn);
      req.setId(id);
      req.setUrn(urn);
      req.setName(name);
      req.setType(type);
      req.setProperties(toStruct(props));
      if (inputs) req.setInputs(toStruct(inputs));
      return unary("read", { id, urn, properties: props, inputs }, req, (res: InstanceType<typeof provproto.ReadResponse>) => {
        const out: ReadResult = { id: res.getId(), properties: fromStruct(res.getProperties()) ?? {} };
        const ins = fromStruct(res.getInputs());
        if (ins) out.inputs = ins;
        return out;
      });
    },

    update(id, urn, olds, news, o = {}) {
      const req = new provproto.UpdateRequest();
      const { name, type } = urnParts(urn);
      req.setId(id);
      req.setUrn(urn);
      req.setName(name);
      req.setType(type);
      req.setOlds(toStruct(olds));
      req.setNews(toStruct(news));
      if (o.oldInputs) req.setOldInputs(toStruct(o.oldInputs));
      if (o.timeout !== undefined) req.setTimeout(o.timeout);
      if (o.preview) req.setPreview(true);
      return unary("update", { id, urn, olds, news, ...o }, req, (res: InstanceType<typeof provproto.UpdateResponse>) => ({
        properties: fromStruct(res.getProperties()) ?? {},
      }));
    },

    delete(id, urn, props, o = {}) {
      const req = new provproto.DeleteRequest();
      const { name, type } = urnParts(urn);
      req.setId(id);
      req.setUrn(urn);
      req.setName(name);
      req.setType(type);
      req.setProperties(toStruct(props));
      if (o.oldInputs) req.setOldInputs(toStruct(o.oldInputs));
      if (o.timeout !== undefined) req.setTimeout(o.timeout);
      return unary("delete", { id, urn, properties: props, ...o }, req, () => undefined);
    },

    waitForLog(match, timeoutMs = 5000) {
      const found = logs.find(match);
      if (found) return Promise.resolve(found);
      return new Promise<EngineLog>((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(on);
          reject(new Error(`no matching log within ${timeoutMs} ms; logs: ${JSON.stringify(logs)}`));
        }, timeoutMs);
        const on = (l: EngineLog) => {
          if (!match(l)) return;
          clearTimeout(timer);
          listeners.delete(on);
          resolve(l);
        };
        listeners.add(on);
      });
    },

    stop,
    kill,
  };
  return plugin;
}
