/**
 * A real OpenStack Keystone (Zed, Debian's python3-keystone) for tests: sqlite database, fernet tokens, keys and
 * log in a temp dir, bootstrapped with an admin user/project and RegionOne, served by a threaded wsgiref server
 * (sim/keystone/serve.py) in one process in its own process group on 127.0.0.1 on a free port.
 * Config: sim/keystone/keystone.conf.tmpl. `startKeystoneGlance()` puts the embedded Glance behind it.
 */
import { ChildProcess, execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { freePort, GLANCE_PYTHON, GlanceSim, startGlance } from "./glance-sim";
import { spawnTracked, stopTracked, withDataDir } from "./processes";

export const KEYSTONE_REGION = "RegionOne";

export interface KeystoneSim {
  /** Identity v3 endpoint, e.g. http://127.0.0.1:41234/v3 (no trailing slash). */
  url: string;
  pid: number;
  /** Temp dir holding config, sqlite database, keys and keystone.log. */
  dataDir: string;
  admin: { username: string; password: string; project: string };
  /** A project-scoped admin token (fresh each call). */
  adminToken(): Promise<string>;
  /** Calls the identity API with an admin token; throws unless the status is in `ok`. */
  api(method: string, pathname: string, body?: unknown, ok?: number[]): Promise<any>;
  /** Creates a project (if missing), a user in Default with `password` and the given roles on that project. */
  createUser(name: string, password: string, project: string, roles: string[]): Promise<{ userId: string; projectId: string }>;
  /** Registers a service of `type` with public/internal/admin endpoints at `url` in RegionOne. */
  registerEndpoint(type: string, name: string, url: string): Promise<void>;
  /** Creates an application credential for a user (authenticating as that user, scoped to `project`). */
  createApplicationCredential(user: { name: string; password: string; project: string }, name: string): Promise<{ id: string; secret: string }>;
  /** Revokes every token of a user through the API (disable then re-enable the user: Keystone records a revocation event). */
  revokeUserTokens(userId: string): Promise<void>;
  /** Stops the server (TERM, then KILL after 5 s) and removes dataDir unless keepData was set. */
  stop(): Promise<void>;
}

export interface StartKeystoneOptions {
  keepData?: boolean;
  /** [token] expiration in seconds. Default 3600. */
  tokenExpirationSec?: number;
  /** How long to wait for GET /v3 to answer. Default 60 s. */
  startTimeoutMs?: number;
}

function keystoneConfigDir(): string {
  for (const up of [
    ["..", ".."],
    ["..", "..", ".."],
  ]) {
    const dir = path.resolve(__dirname, ...up, "sim", "keystone");
    if (fs.existsSync(path.join(dir, "keystone.conf.tmpl"))) return dir;
  }
  throw new Error(`sim/keystone not found from ${__dirname}`);
}

function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYENV_VERSION", "OS_KEYSTONE_CONFIG_DIR", "OS_KEYSTONE_CONFIG_FILES"]) {
    delete env[k];
  }
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

async function manage(confFile: string, args: string[], logFile: string): Promise<void> {
  try {
    await promisify(execFile)(GLANCE_PYTHON, ["/usr/bin/keystone-manage", "--config-file", confFile, ...args], {
      env: pythonEnv(),
      timeout: 120000,
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`keystone-manage ${args[0]} failed: ${err.message}\n${tail(err.stderr ?? "")}\n${readTail(logFile)}`, { cause: e });
  }
}

const WAL_SCRIPT = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=WAL'); c.close()";

async function fetchJson(url: string, init: RequestInit): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* keep text */
  }
  return { status: res.status, headers: res.headers, body };
}

/** Issues a project-scoped token by password; returns the token and its body. */
export async function passwordToken(url: string, user: { name: string; password: string; project: string }): Promise<{ token: string; body: any }> {
  const res = await fetchJson(`${url}/auth/tokens?nocatalog`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      auth: {
        identity: { methods: ["password"], password: { user: { name: user.name, domain: { name: "Default" }, password: user.password } } },
        scope: { project: { name: user.project, domain: { name: "Default" } } },
      },
    }),
  });
  const token = res.headers.get("x-subject-token");
  if (res.status !== 201 || !token) throw new Error(`keystone: token for ${user.name} failed: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return { token, body: res.body };
}

export async function startKeystone(opts: StartKeystoneOptions = {}): Promise<KeystoneSim> {
  return withDataDir("pulumi-esx-keystone-", opts.keepData, (dataDir, cleanup) => launch(dataDir, opts, cleanup));
}

async function launch(dataDir: string, opts: StartKeystoneOptions, cleanup: () => void): Promise<KeystoneSim> {
  const confDir = keystoneConfigDir();
  for (const d of ["fernet-keys", "credential-keys"]) fs.mkdirSync(path.join(dataDir, d), { mode: 0o700 });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/v3`;
  const values: Record<string, string> = { DATA_DIR: dataDir, TOKEN_EXPIRATION: String(opts.tokenExpirationSec ?? 3600) };
  const conf = fs.readFileSync(path.join(confDir, "keystone.conf.tmpl"), "utf8").replace(/\{\{(\w+)\}\}/g, (_m, k: string) => {
    if (!(k in values)) throw new Error(`keystone.conf.tmpl: unknown placeholder ${k}`);
    return values[k];
  });
  const confFile = path.join(dataDir, "keystone.conf");
  fs.writeFileSync(confFile, conf);
  const logFile = path.join(dataDir, "keystone.log");
  const admin = { username: "admin", password: `admin-${process.pid}-${port}`, project: "admin" };
  const owner = ["--keystone-user", os.userInfo().username, "--keystone-group", os.userInfo().username];
  await Promise.all([
    manage(confFile, ["db_sync"], logFile),
    manage(confFile, ["fernet_setup", ...owner], logFile),
    manage(confFile, ["credential_setup", ...owner], logFile),
  ]);
  // WAL journal (persistent in the file): keystone leaves read transactions open between requests, which in
  // sqlite's default rollback journal makes the next write fail with "database is locked".
  await promisify(execFile)(GLANCE_PYTHON, ["-c", WAL_SCRIPT, path.join(dataDir, "keystone.sqlite")], { env: pythonEnv() });
  await manage(
    confFile,
    [
      "bootstrap",
      "--bootstrap-password",
      admin.password,
      "--bootstrap-admin-url",
      url,
      "--bootstrap-public-url",
      url,
      "--bootstrap-internal-url",
      url,
      "--bootstrap-region-id",
      KEYSTONE_REGION,
    ],
    logFile,
  );

  // The server's stderr (tracebacks that escape keystone's own log) goes to a file beside the log.
  const errFile = path.join(dataDir, "serve.stderr");
  const errFd = fs.openSync(errFile, "a");
  let child: ChildProcess;
  try {
    child = spawnTracked(GLANCE_PYTHON, [path.join(confDir, "serve.py"), confFile, String(port)], {
      label: "keystone",
      env: pythonEnv(),
      stdio: ["ignore", "ignore", errFd],
    });
  } finally {
    fs.closeSync(errFd);
  }
  const stderr = (): string => readTail(errFile);

  const deadline = Date.now() + (opts.startTimeoutMs ?? 60000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`keystone exited during startup (code ${child.exitCode}, signal ${child.signalCode})\nstderr:\n${stderr()}\nlog:\n${readTail(logFile)}`);
    }
    const up = await fetch(url).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      await stopTracked(child);
      throw new Error(`keystone did not answer GET ${url}\nstderr:\n${stderr()}\nlog:\n${readTail(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  const adminUser = { name: admin.username, password: admin.password, project: admin.project };
  let cachedAdmin: string | undefined;
  const adminToken = async (): Promise<string> => (await passwordToken(url, adminUser)).token;
  const apiToken = async (): Promise<string> => (cachedAdmin ??= await adminToken());
  const api = async (method: string, pathname: string, body?: unknown, ok = [200, 201, 204]): Promise<any> => {
    const res = await fetchJson(`${url}${pathname}`, {
      method,
      headers: { "content-type": "application/json", "x-auth-token": await apiToken() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!ok.includes(res.status)) {
      throw new Error(`keystone ${method} ${pathname}: HTTP ${res.status} ${JSON.stringify(res.body)}\nstderr:\n${stderr()}`);
    }
    return res.body;
  };
  const findOne = async (collection: string, name: string): Promise<any | undefined> =>
    (await api("GET", `/${collection}?name=${encodeURIComponent(name)}`))[collection][0];

  const sim: KeystoneSim = {
    url,
    pid: child.pid!,
    dataDir,
    admin,
    adminToken,
    api,
    async createUser(name, password, project, roles) {
      const proj =
        (await findOne("projects", project)) ?? (await api("POST", "/projects", { project: { name: project, domain_id: "default", enabled: true } })).project;
      const user = (await api("POST", "/users", { user: { name, password, domain_id: "default", enabled: true, default_project_id: proj.id } })).user;
      for (const r of roles) {
        const role = await findOne("roles", r);
        if (!role) throw new Error(`keystone has no role ${r}`);
        await api("PUT", `/projects/${proj.id}/users/${user.id}/roles/${role.id}`);
      }
      return { userId: user.id, projectId: proj.id };
    },
    async registerEndpoint(type, name, endpointUrl) {
      const service = (await api("POST", "/services", { service: { type, name, enabled: true } })).service;
      for (const iface of ["public", "internal", "admin"]) {
        await api("POST", "/endpoints", {
          endpoint: { service_id: service.id, interface: iface, url: endpointUrl, region_id: KEYSTONE_REGION, enabled: true },
        });
      }
    },
    async createApplicationCredential(user, name) {
      const { token, body } = await passwordToken(url, user);
      const res = await fetchJson(`${url}/users/${body.token.user.id}/application_credentials`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-auth-token": token },
        body: JSON.stringify({ application_credential: { name } }),
      });
      if (res.status !== 201) throw new Error(`keystone: application credential failed: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.application_credential.id, secret: res.body.application_credential.secret };
    },
    async revokeUserTokens(userId) {
      await api("PATCH", `/users/${userId}`, { user: { enabled: false } });
      await api("PATCH", `/users/${userId}`, { user: { enabled: true } });
    },
    async stop() {
      await stopTracked(child);
      cleanup();
    },
  };
  return sim;
}

/** Keystone, a Glance behind it (service user "glance"), the image service in the catalog, and a member user. */
export interface KeystoneGlance {
  keystone: KeystoneSim;
  glance: GlanceSim;
  /** A user with the member role on project "demo", for the provider. */
  user: { name: string; password: string; project: string; userId: string; projectId: string };
  /** A project-scoped token for `user` (to upload test images). */
  userToken(): Promise<string>;
  stop(): Promise<void>;
}

export async function startKeystoneGlance(opts: StartKeystoneOptions = {}): Promise<KeystoneGlance> {
  const keystone = await startKeystone(opts);
  try {
    const service = { name: "glance", password: `glance-${process.pid}`, project: "service" };
    await keystone.createUser(service.name, service.password, service.project, ["admin"]);
    const user = { name: "demo", password: `demo-${process.pid}-pw`, project: "demo" };
    const ids = await keystone.createUser(user.name, user.password, user.project, ["member", "reader"]);
    const port = await freePort();
    await keystone.registerEndpoint("image", "glance", `http://127.0.0.1:${port}`);
    const glance = await startGlance({
      port,
      keepData: opts.keepData,
      keystone: { authUrl: keystone.url, username: service.name, password: service.password, project: service.project },
    });
    return {
      keystone,
      glance,
      user: { ...user, ...ids },
      userToken: async () => (await passwordToken(keystone.url, user)).token,
      async stop() {
        await glance.stop();
        await keystone.stop();
      },
    };
  } catch (e) {
    await keystone.stop();
    throw e;
  }
}
