/**
 * Starts the embedded ESX host (sim/esx: govmomi's ESX simulator with our gaps closed) for tests.
 * The binary is built on demand (sim/esx/build.sh, cached). The child gets a pipe as stdin: if this
 * process dies, the pipe closes and the simulator exits by itself (it also removes its datastore dirs).
 */
import { ChildProcess, execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { spawnTracked, stopTracked } from "./processes";

export interface EsxSimOptions {
  tls?: boolean;
  /** Serve a certificate whose validity ended yesterday (implies tls). */
  expiredCert?: boolean;
  /** Default "root". */
  username?: string;
  /** Default: random. */
  password?: string;
  /** Delay of every SOAP method, ms. */
  delayMs?: number;
  /** Per-method delays in ms, keyed by SOAP method name (e.g. "CreateVM_Task"). */
  methodDelays?: Record<string, number>;
  /** Delay jitter, coefficient of variation (stddev/mean). */
  jitter?: number;
  /** VMs the host starts with (default 0). */
  vms?: number;
  /**
   * Emulate guests with VMware Tools (ESXSIM_TOOLS=1, sim/esx/tools.go): a powered-on VM reports tools running and
   * its machine.id addresses as guest.ipAddress / guest.net.
   */
  tools?: boolean;
  /** Time to wait for the READY line, ms (default 60000, not counting the build). */
  startTimeoutMs?: number;
}

export interface EsxSim {
  /** SOAP endpoint, e.g. https://127.0.0.1:PORT/sdk */
  url: string;
  /** "127.0.0.1:PORT" */
  host: string;
  username: string;
  password: string;
  /** Certificate thumbprints as ESX shows them (AA:BB:...); empty strings on plain HTTP. */
  thumbprintSha1: string;
  thumbprintSha256: string;
  /** Datastore name -> local directory holding its files. */
  datastores: Record<string, string>;
  pid: number;
  /** The state file the simulator wrote (removed by the simulator on exit). */
  stateFile: string;
  /** Terminates every SOAP session: the next call with an old session cookie answers NotAuthenticated. */
  expireSessions(): Promise<void>;
  /** Last part of the simulator's stderr (its log), for diagnostics. */
  logs(): string;
  /** Stops the simulator (SIGTERM by PID, SIGKILL after a grace period) and waits for its exit. */
  stop(): Promise<void>;
}

interface StateJson {
  url: string;
  host: string;
  username: string;
  password: string;
  thumbprintSha1?: string;
  thumbprintSha256?: string;
  pid: number;
  datastores: Record<string, string>;
}

function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "sim", "esx", "build.sh"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`sim/esx/build.sh not found above ${__dirname}`);
  }
}

export const ESXSIM_DIR = path.join(repoRoot(), "sim", "esx");
export const ESXSIM_BIN = path.join(ESXSIM_DIR, "bin", "esxsim");

let building: Promise<void> | undefined;

/** Builds sim/esx/bin/esxsim if a .go file is newer than it (once per process). */
export function buildEsxSim(): Promise<void> {
  building ??= new Promise<void>((resolve, reject) => {
    execFile("bash", [path.join(ESXSIM_DIR, "build.sh")], { timeout: 300_000, maxBuffer: 16 << 20 }, (err, _out, stderr) => {
      if (err) reject(new Error(`building esxsim failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  }).catch((e: unknown) => {
    building = undefined;
    throw e;
  });
  return building;
}

function simArgs(o: EsxSimOptions, stateFile: string): string[] {
  const args = ["-port", "0", "-state", stateFile];
  if (o.tls || o.expiredCert) args.push("-tls");
  if (o.expiredCert) args.push("-expired-cert");
  if (o.username !== undefined) args.push("-username", o.username);
  if (o.password !== undefined) args.push("-password", o.password);
  if (o.delayMs) args.push("-delay", String(o.delayMs));
  if (o.methodDelays && Object.keys(o.methodDelays).length > 0) {
    args.push(
      "-method-delay",
      Object.entries(o.methodDelays)
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
    );
  }
  if (o.jitter) args.push("-jitter", String(o.jitter));
  if (o.vms) args.push("-vms", String(o.vms));
  return args;
}

function waitReady(child: ChildProcess, timeoutMs: number, stderrTail: () => string): Promise<StateJson> {
  return new Promise<StateJson>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    const fail = (why: string) => {
      cleanup();
      reject(new Error(`esxsim ${why}\n--- stderr ---\n${stderrTail()}`));
    };
    const onLine = (line: string) => {
      const m = /^ESXSIM READY (.*)$/.exec(line);
      if (!m) return;
      try {
        const st = JSON.parse(m[1]) as StateJson;
        cleanup();
        resolve(st);
      } catch (e) {
        fail(`printed a bad READY line: ${line} (${String(e)})`);
      }
    };
    const onExit = (code: number | null, sig: string | null) => fail(`exited before READY (code ${code}, signal ${sig})`);
    const onError = (e: Error) => fail(`failed: ${e.message}`);
    const timer = setTimeout(() => fail(`not READY after ${timeoutMs} ms`), timeoutMs);
    function cleanup() {
      clearTimeout(timer);
      lines.off("line", onLine);
      child.off("exit", onExit);
      child.off("error", onError);
      // keep draining stdout so the child never blocks on a full pipe
      child.stdout!.resume();
    }
    lines.on("line", onLine);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}

/** Builds (if needed) and starts an ESX simulator on 127.0.0.1 on a free port. */
export async function startEsxSim(opts: EsxSimOptions = {}): Promise<EsxSim> {
  await buildEsxSim();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "esxsim-"));
  const stateFile = path.join(dir, "state.json");
  const child = spawnTracked(ESXSIM_BIN, simArgs(opts, stateFile), {
    label: "esxsim",
    stdio: ["pipe", "pipe", "pipe"],
    ...(opts.tools ? { env: { ...process.env, ESXSIM_TOOLS: "1" } } : {}),
  });
  let tail = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => {
    tail = (tail + d).slice(-32_768);
  });

  let st: StateJson;
  try {
    st = await waitReady(child, opts.startTimeoutMs ?? 60_000, () => tail);
  } catch (e) {
    await stopTracked(child, 2000);
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const scheme = st.url.startsWith("https:") ? "https:" : "http:";
  return {
    url: st.url,
    host: st.host,
    username: st.username,
    password: st.password,
    thumbprintSha1: st.thumbprintSha1 ?? "",
    thumbprintSha256: st.thumbprintSha256 ?? "",
    datastores: st.datastores,
    pid: st.pid,
    stateFile,
    logs: () => tail,
    async expireSessions() {
      await controlPost(scheme, st.host, "/_sim/expire-sessions");
    },
    async stop() {
      await stopTracked(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** POSTs to a control endpoint; TLS verification is off (loopback only, self-signed certificate). */
async function controlPost(scheme: string, host: string, p: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onRes = (res: http.IncomingMessage) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`${p}: HTTP ${res.statusCode}`))));
    };
    const url = `${scheme}//${host}${p}`;
    const req = scheme === "https:" ? https.request(url, { method: "POST", rejectUnauthorized: false }, onRes) : http.request(url, { method: "POST" }, onRes);
    req.on("error", reject);
    req.end();
  });
}
