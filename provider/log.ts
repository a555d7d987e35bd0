/**
 * Logging from inside the dynamic-provider plugin so that `pulumi up` shows it.
 *
 * How it works: the Pulumi engine starts every provider plugin with the address of its own gRPC service
 * (pulumirpc.Engine) as the first argument; @pulumi/pulumi's dynamic-provider plugin
 * (cmd/dynamic-provider/index.js) checks that it is there but never connects to it, and `pulumi.log.*` in the
 * plugin connects to an engine only when PULUMI_NODEJS_ENGINE is set (the engine sets that for programs, not
 * for plugins), so `pulumi.log.info` in a dynamic provider ends up as plain stdout. This module connects to
 * that address itself and sends Engine.Log, as providers written in Go do: the engine prints the message under
 * the resource (`urn`) or as a global diagnostic (no urn); `ephemeral` messages are status updates that the
 * display shows while the step runs (progress). When there is no engine address (provider code used outside
 * the plugin) or a call fails, the message goes to stderr as "<severity>: [runtime] <message>", the form
 * `pulumi.log` itself falls back to; the engine passes plugin stderr through to the user.
 *
 * Messages are sent in order; `flushLogs()` waits until every message so far was delivered.
 */
import * as path from "node:path";

export type Severity = "debug" | "info" | "warning" | "error";

export interface LogOptions {
  /** URN of the resource the message is about; "" or omitted: a global message. */
  urn?: string;
  /** A status message (progress): shown while the step runs, not kept in the final output. */
  ephemeral?: boolean;
  /** Messages with the same non-zero stream id belong together (e.g. one progress stream). */
  streamId?: number;
}

/** pulumirpc.LogSeverity: DEBUG 0, INFO 1, WARNING 2, ERROR 3 (read from the generated stubs, not hard-coded). */
function severityCode(s: Severity): number {
  const e = engproto!.LogSeverity;
  return { debug: e.DEBUG, info: e.INFO, warning: e.WARNING, error: e.ERROR }[s];
}

interface EngineClient {
  log(req: unknown, cb: (err: Error | null) => void): void;
  close(): void;
}

/** The engine address the plugin was started with, or undefined outside the dynamic-provider plugin. */
export function engineAddress(argv: string[] = process.argv): string | undefined {
  const script = argv[1] ?? "";
  const addr = argv[2];
  if (!/dynamic-provider[\\/]index\.js$/.test(script) || !addr) return undefined;
  return /^[\w.\-[\]:]+:\d+$/.test(addr) ? addr : undefined;
}

/** The generated protobuf message of Engine.Log (@pulumi/pulumi/proto/engine_pb.js, loaded at run time). */
interface LogRequestMessage {
  setSeverity(v: number): void;
  setMessage(v: string): void;
  setUrn(v: string): void;
  setStreamid(v: number): void;
  setEphemeral(v: boolean): void;
}

let client: EngineClient | undefined;
let engproto: { LogRequest: new () => LogRequestMessage; LogSeverity: Record<"DEBUG" | "INFO" | "WARNING" | "ERROR", number> } | undefined;
let failed = false;
let last: Promise<void> = Promise.resolve();

function pulumiDir(): string {
  return path.dirname(require.resolve("@pulumi/pulumi/package.json"));
}

function connect(): EngineClient | undefined {
  if (failed) return undefined;
  if (client) return client;
  const addr = engineAddress();
  if (!addr) return undefined;
  try {
    const dir = pulumiDir();
    // The same grpc-js and generated stubs @pulumi/pulumi uses, so the messages match the engine's protocol.
    const grpc = require(require.resolve("@grpc/grpc-js", { paths: [dir] }));
    const engrpc = require(path.join(dir, "proto", "engine_grpc_pb"));
    engproto = require(path.join(dir, "proto", "engine_pb"));
    client = new engrpc.EngineClient(addr, grpc.credentials.createInsecure()) as EngineClient;
    return client;
  } catch {
    failed = true;
    return undefined;
  }
}

function toStderr(severity: Severity, message: string): void {
  process.stderr.write(`${severity}: [runtime] ${message}\n`);
}

/** Sends one message to the engine (or stderr). Never throws; the returned promise settles once it is out. */
export function log(severity: Severity, message: string, opts: LogOptions = {}): Promise<void> {
  const engine = connect();
  if (!engine) {
    if (severity !== "debug") toStderr(severity, message);
    return Promise.resolve();
  }
  last = last.then(
    () =>
      new Promise<void>((resolve) => {
        const req = new engproto!.LogRequest();
        req.setSeverity(severityCode(severity));
        req.setMessage(message);
        req.setUrn(opts.urn ?? "");
        req.setStreamid(opts.streamId ?? 0);
        req.setEphemeral(opts.ephemeral === true);
        engine.log(req, (err) => {
          if (err) {
            // The engine went away or does not answer Log: everything from now on goes to stderr.
            failed = true;
            toStderr(severity, message);
          }
          resolve();
        });
      }),
  );
  return last;
}

export const debug = (m: string, o?: LogOptions) => log("debug", m, o);
export const info = (m: string, o?: LogOptions) => log("info", m, o);
export const warn = (m: string, o?: LogOptions) => log("warning", m, o);
export const error = (m: string, o?: LogOptions) => log("error", m, o);

/** Waits until every message logged so far was delivered (or fell back to stderr). */
export function flushLogs(): Promise<void> {
  return last;
}

let streams = 0;
/**
 * A logger for one operation: each message prefixed, info severity. With a urn, messages starting with a
 * percentage (progress) are sent as ephemeral status of that resource on their own stream; without one they
 * are kept as ordinary messages (the display shows status only for resources).
 */
export function operationLogger(prefix: string, urn?: string): (message: string) => void {
  const streamId = ++streams;
  return (m: string) => {
    const progress = !!urn && /^\d+%/.test(m);
    void log("info", `${prefix}: ${m}`, progress ? { urn, ephemeral: true, streamId } : { urn });
  };
}
