/**
 * A real OpenStack Glance (Zed, Debian's python3-glance) for tests: sqlite database and file store in a temp
 * dir, no Keystone (every request is an unauthenticated admin), Images API v2, one process (workers = 0) in its
 * own process group, bound to 127.0.0.1 on a free port. Config: sim/glance/glance-api.conf.tmpl + paste ini.
 * With the `keystone` option Glance runs behind Keystone instead: keystonemiddleware's auth_token validates every
 * request's X-Auth-Token (paste pipeline sim/keystone/glance-api-paste-keystone.ini); see scripts/lib/keystone-sim.ts.
 */
import { ChildProcess, execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { promisify } from "node:util";
import { spawnTracked, stopTracked, withDataDir } from "./processes";

/** The interpreter that has glance installed (the `python3` on PATH may be another one). */
export const GLANCE_PYTHON = "/usr/bin/python3";

export interface GlanceSim {
  /** Base URL without trailing slash, e.g. http://127.0.0.1:41234 (the Images API is at `${url}/v2`). */
  url: string;
  pid: number;
  /** Temp dir holding config, sqlite database, log file (glance-api.log) and the store. */
  dataDir: string;
  /** Where the file store keeps image data (one file per image, named by image id). */
  storeDir: string;
  /** Stops the server (TERM, then KILL after 5 s) and removes dataDir unless keepData was set. */
  stop(): Promise<void>;
}

export interface StartGlanceOptions {
  /** Keep dataDir after stop() (for debugging). */
  keepData?: boolean;
  /** Port to bind (default: a free one). */
  port?: number;
  /** How long to wait for GET /versions to answer. Default 60 s. */
  startTimeoutMs?: number;
  /** Put Glance behind this Keystone (auth_token middleware with these service credentials). Default: no auth. */
  keystone?: GlanceKeystoneAuth;
}

/** Service credentials Glance's auth_token middleware uses to validate tokens (Keystone v3 password auth). */
export interface GlanceKeystoneAuth {
  /** Identity endpoint, e.g. http://127.0.0.1:5000/v3. */
  authUrl: string;
  username: string;
  password: string;
  project: string;
  userDomain?: string;
  projectDomain?: string;
}

function keystoneAuthSection(k: GlanceKeystoneAuth): string {
  const base = k.authUrl.replace(/\/v3\/?$/, "");
  return [
    "",
    "[keystone_authtoken]",
    `www_authenticate_uri = ${base}`,
    `auth_url = ${base}`,
    "auth_type = password",
    `username = ${k.username}`,
    `password = ${k.password}`,
    `project_name = ${k.project}`,
    `user_domain_name = ${k.userDomain ?? "Default"}`,
    `project_domain_name = ${k.projectDomain ?? "Default"}`,
    "# No token cache: a token Keystone revoked is refused at once.",
    "token_cache_time = -1",
    "service_token_roles_required = false",
    "",
  ].join("\n");
}

function glanceConfigDir(): string {
  // Works from the TypeScript sources (test/support) and from compiled output (dist/test/support).
  for (const up of [
    ["..", ".."],
    ["..", "..", ".."],
  ]) {
    const dir = path.resolve(__dirname, ...up, "sim", "glance");
    if (fs.existsSync(path.join(dir, "glance-api.conf.tmpl"))) return dir;
  }
  throw new Error(`sim/glance not found from ${__dirname}`);
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYENV_VERSION"]) delete env[k];
  return env;
}

function tail(text: string, lines = 40): string {
  return text.split("\n").slice(-lines).join("\n");
}

function readTail(file: string): string {
  try {
    return tail(fs.readFileSync(file, "utf8"));
  } catch {
    return "";
  }
}

function versionsAnswer(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${url}/versions`, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 || res.statusCode === 300);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
  });
}

function writeConfig(confDir: string, dataDir: string, storeDir: string, port: number, keystone?: GlanceKeystoneAuth): string {
  const values: Record<string, string> = {
    PORT: String(port),
    DATA_DIR: dataDir,
    STORE_DIR: storeDir,
    PASTE_INI: keystone ? path.join(confDir, "..", "keystone", "glance-api-paste-keystone.ini") : path.join(confDir, "glance-api-paste.ini"),
  };
  const conf = fs.readFileSync(path.join(confDir, "glance-api.conf.tmpl"), "utf8").replace(/\{\{(\w+)\}\}/g, (_m, k: string) => {
    if (!(k in values)) throw new Error(`glance-api.conf.tmpl: unknown placeholder ${k}`);
    return values[k];
  });
  const confFile = path.join(dataDir, "glance-api.conf");
  fs.writeFileSync(confFile, keystone ? conf + keystoneAuthSection(keystone) : conf);
  return confFile;
}

async function dbSync(confFile: string, logFile: string): Promise<void> {
  try {
    await promisify(execFile)(GLANCE_PYTHON, ["-m", "glance.cmd.manage", "--config-file", confFile, "db_sync"], {
      env: pythonEnv(),
      timeout: 60000,
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`glance db_sync failed: ${err.message}\n${tail(err.stderr ?? "")}\n${readTail(logFile)}`, { cause: e });
  }
}

export async function startGlance(opts: StartGlanceOptions = {}): Promise<GlanceSim> {
  return withDataDir("pulumi-esx-glance-", opts.keepData, (dataDir, cleanup) => launch(dataDir, opts, cleanup));
}

async function launch(dataDir: string, opts: StartGlanceOptions, cleanup: () => void): Promise<GlanceSim> {
  const storeDir = path.join(dataDir, "store");
  for (const d of ["store", "cache", "staging", "tasks", "locks", "work"]) fs.mkdirSync(path.join(dataDir, d));
  const port = opts.port ?? (await freePort());
  const confFile = writeConfig(glanceConfigDir(), dataDir, storeDir, port, opts.keystone);
  const logFile = path.join(dataDir, "glance-api.log");
  await dbSync(confFile, logFile);

  const child: ChildProcess = spawnTracked(GLANCE_PYTHON, ["-m", "glance.cmd.api", "--config-file", confFile], {
    label: "glance-api",
    env: pythonEnv(),
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    stderr = tail(stderr + d, 200);
  });
  const url = `http://127.0.0.1:${port}`;
  const sim: GlanceSim = {
    url,
    pid: child.pid!,
    dataDir,
    storeDir,
    async stop() {
      await stopTracked(child);
      cleanup();
    },
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 60000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `glance-api exited during startup (code ${child.exitCode}, signal ${child.signalCode})\n` + `stderr:\n${tail(stderr)}\nlog:\n${readTail(logFile)}`,
      );
    }
    if (await versionsAnswer(url)) return sim;
    if (Date.now() > deadline) {
      await stopTracked(child);
      throw new Error(`glance-api did not answer GET /versions on ${url}\nstderr:\n${tail(stderr)}\nlog:\n${readTail(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
