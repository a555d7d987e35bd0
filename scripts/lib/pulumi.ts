/**
 * Runs Pulumi programs with the real Pulumi CLI, as a user does, for the program-level tests and `npm run demo`.
 *
 * - The CLI: `.cli/bin/pulumi` (built by scripts/setup.sh from tools/pulumi-cli, pinned to PINNED_CLI) or a
 *   `pulumi` of that version on PATH. `.cli/bin` also holds `pulumi-resource-pulumi-nodejs`, the
 *   dynamic-provider plugin launcher of the @pulumi/pulumi npm package, which the engine looks for on PATH or
 *   beside `pulumi`.
 * - The package as users install it: once per process, `npm pack` of this repository (its `prepare` builds
 *   dist/) and `npm install` of the tarball and @pulumi/pulumi (the version this repository is locked to) into
 *   a shared directory under the OS temp dir; every program directory is a sub-directory of it, so the program,
 *   the inline-program runtime and the plugin the engine starts all resolve `pulumi-esx` and `@pulumi/pulumi`
 *   from that node_modules, never from the repository.
 * - A program: Pulumi.yaml, the stack files, package.json and index.ts of an example (or given source), with
 *   index.ts compiled by the TypeScript compiler against the installed package's type declarations (a type
 *   error fails the preparation; the Automation API does not register ts-node for inline programs).
 * - A workspace: its own PULUMI_HOME and local file backend (PULUMI_BACKEND_URL=file://...), a passphrase
 *   secrets provider, no update check, no plugin downloads. Nothing reaches Pulumi Cloud.
 * - Operations that run the program (preview, up, refresh, destroy) go through scripts/lib/pulumi-runner.ts (the
 *   Automation API's inline program, because the Go module proxy refuses the Node.js language host); the others
 *   (stack init, config set-all --secret, stack export, stack output --json, cancel, refresh
 *   --clear-pending-creates) run the `pulumi` binary directly.
 */
import { ChildProcess, execFileSync, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as ts from "typescript";
import * as YAML from "yaml";
import { packageRoot } from "../../provider/paths";
import { killTree, spawnTracked } from "./processes";
import type { RunnerOp, RunnerRequest, RunnerResult } from "./pulumi-runner";

export type { RunnerResult } from "./pulumi-runner";

export const REPO = packageRoot();
/** The passphrase the example stack files' secure values are encrypted with (documented in them). */
export const EXAMPLE_PASSPHRASE = "pulumi-esx-example";

/** The CLI version the repository builds: the pkg/v3 version tools/pulumi-cli/go.mod requires. */
export const PINNED_CLI: string = (() => {
  const m = /github\.com\/pulumi\/pulumi\/pkg\/v3 (v[\d.]+)/.exec(fs.readFileSync(path.join(REPO, "tools", "pulumi-cli", "go.mod"), "utf8"));
  if (!m) throw new Error("tools/pulumi-cli/go.mod does not require github.com/pulumi/pulumi/pkg/v3");
  return m[1];
})();

/** Major.minor of the pinned version: a patch release of the same line is compatible. */
const compatible = (v: string) => v.trim().startsWith(PINNED_CLI.split(".").slice(0, 2).join(".") + ".");

function versionOf(bin: string): string | undefined {
  const r = spawnSync(bin, ["version"], { encoding: "utf8", env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export interface Cli {
  /** The pulumi executable. */
  bin: string;
  /** Its installation root (bin/pulumi below it), for the Automation API's PulumiCommand. */
  root: string;
  version: string;
  /** Directories to put first on PATH for the CLI (the plugin launcher). */
  path: string[];
}

let cli: Cli | undefined;

/** The Pulumi CLI to use: .cli/bin/pulumi of the pinned version, else a compatible `pulumi` on PATH. */
export function findCli(): Cli {
  if (cli) return cli;
  const own = path.join(REPO, ".cli", "bin");
  const launcher = fs.existsSync(path.join(own, "pulumi-resource-pulumi-nodejs")) ? [own] : [];
  const ownBin = path.join(own, "pulumi");
  const ownVersion = fs.existsSync(ownBin) ? versionOf(ownBin) : undefined;
  if (ownVersion && compatible(ownVersion)) return (cli = { bin: ownBin, root: path.dirname(own), version: ownVersion, path: launcher });
  const onPath = spawnSync("sh", ["-c", "command -v pulumi"], { encoding: "utf8" }).stdout.trim();
  const pathVersion = onPath ? versionOf(onPath) : undefined;
  if (onPath && pathVersion && compatible(pathVersion)) {
    const real = fs.realpathSync(onPath);
    if (path.basename(path.dirname(real)) !== "bin") throw new Error(`${real}: the Automation API needs pulumi in a bin/ directory`);
    return (cli = { bin: real, root: path.dirname(path.dirname(real)), version: pathVersion, path: launcher });
  }
  throw new Error(
    `no Pulumi CLI ${PINNED_CLI} (.cli/bin/pulumi: ${ownVersion ?? "missing"}; pulumi on PATH: ${pathVersion ?? "missing"}): run bash scripts/setup.sh`,
  );
}

// ---- the package, installed from its tarball ----

let installed: string | undefined;

/** This process's identity: PID and start time (a later process with the same PID is another one). */
function processKey(): string {
  const stat = fs.readFileSync("/proc/self/stat", "utf8");
  return `${process.pid}-${stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]}`;
}

function programsDir(): string {
  return path.join(os.tmpdir(), `pulumi-esx-programs-${processKey()}`);
}

/**
 * Kills (SIGKILL) every process still running in this process's program directories (a runner, pulumi, and the
 * plugins pulumi starts in process groups of their own, which outlive a killed pulumi) and removes the
 * directory. Run at exit and by jest's global teardown.
 */
export function stopPrograms(): number {
  const dir = programsDir();
  if (!fs.existsSync(dir)) return 0;
  const left = processesIn(dir);
  for (const p of left) killTree(p.pid, "SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
  return left.length;
}

/**
 * The directory holding node_modules/{pulumi-esx,@pulumi/pulumi} installed from `npm pack` of this repository,
 * made once per process: jest runs every test file of a run in one process (--runInBand) but gives each its own
 * module registry, so the directory is found again by name. Removed when the process exits. Program directories
 * are created below it.
 */
export function programsRoot(): string {
  if (installed) return installed;
  const dir = programsDir();
  process.once("exit", stopPrograms);
  if (fs.existsSync(path.join(dir, "ready"))) return (installed = dir);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "programs"), { recursive: true });
  const npm = (args: string[], cwd: string) =>
    execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8", stdio: "pipe" });
  const out = npm(["pack", "--pack-destination", dir, "--json"], REPO);
  const tarball = path.join(dir, JSON.parse(out.slice(out.indexOf("[")))[0].filename);
  const sdk = JSON.parse(fs.readFileSync(require.resolve("@pulumi/pulumi/package.json"), "utf8")).version;
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "pulumi-esx-programs", private: true }));
  npm(["install", "--prefer-offline", tarball, `@pulumi/pulumi@${sdk}`], dir);
  fs.writeFileSync(path.join(dir, "ready"), "");
  return (installed = dir);
}

// ---- programs ----

const compilerOptions: ts.CompilerOptions = {
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  target: ts.ScriptTarget.ES2022,
  strict: true,
  esModuleInterop: true,
  skipLibCheck: true,
  types: ["node"],
  typeRoots: [path.join(REPO, "node_modules", "@types")],
};

/** Compiles each program's index.ts to index.js (one TypeScript program for all, type-checked). */
export function compilePrograms(dirs: string[]): void {
  const files = dirs.map((d) => path.join(d, "index.ts"));
  const program = ts.createProgram(files, compilerOptions);
  const errors = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => `${d.file ? `${d.file.fileName}: ` : ""}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
  if (errors.length) throw new Error(`program type errors:\n${errors.join("\n")}`);
  for (const f of files) {
    const r = program.emit(program.getSourceFile(f));
    if (r.emitSkipped) throw new Error(`${f}: not emitted`);
  }
}

export interface ProgramSource {
  /** An example directory (Pulumi.yaml, Pulumi.<stack>.yaml files, index.ts). */
  example?: string;
  /** Or: the project name and index.ts source. */
  project?: string;
  source?: string;
  /** Project config declarations for Pulumi.yaml (with source). */
  config?: Record<string, unknown>;
}

/** A program directory below programsRoot(), not yet compiled (see compilePrograms / Workspace.program). */
export function makeProgramDir(src: ProgramSource, label: string): string {
  const dir = fs.mkdtempSync(path.join(programsRoot(), "programs", `${label}-`));
  if (src.example) {
    for (const f of fs.readdirSync(src.example)) {
      if (/^Pulumi(\..+)?\.ya?ml$/.test(f) || f === "index.ts") fs.copyFileSync(path.join(src.example, f), path.join(dir, f));
    }
  } else {
    fs.writeFileSync(
      path.join(dir, "Pulumi.yaml"),
      YAML.stringify({ name: src.project, runtime: { name: "nodejs", options: { typescript: true } }, ...(src.config ? { config: src.config } : {}) }),
    );
    fs.writeFileSync(path.join(dir, "index.ts"), src.source ?? "");
  }
  const project = YAML.parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")).name;
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: project, private: true, main: "index.js" }));
  return dir;
}

// ---- workspaces and stacks ----

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Running {
  /** PID of the runner (the root of the process tree: runner -> pulumi -> plugin launcher -> node plugin). */
  pid: number;
  child: ChildProcess;
  /** Resolves when the runner has exited, with its result (a killed runner: ok false, error "killed by ..."). */
  done: Promise<RunnerResult>;
}

export interface OpOptions {
  diff?: boolean;
  expectNoChanges?: boolean;
  refresh?: boolean;
  clearPendingCreates?: boolean;
  target?: string[];
  /** Print what pulumi prints to this process's stdout as it comes (the demo). */
  echo?: boolean;
}

/** A PULUMI_HOME with a local file backend and a passphrase; programs and stacks live in it. */
export class Workspace {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly cli = findCli();

  constructor(opts: { passphrase?: string; env?: Record<string, string> } = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-esx-ws-"));
    fs.mkdirSync(path.join(this.dir, "home"));
    fs.mkdirSync(path.join(this.dir, "backend"));
    const { NODE_OPTIONS: _n, ...inherited } = process.env as Record<string, string>;
    this.env = {
      ...inherited,
      PATH: [...this.cli.path, process.env.PATH ?? ""].join(path.delimiter),
      PULUMI_HOME: path.join(this.dir, "home"),
      PULUMI_BACKEND_URL: `file://${path.join(this.dir, "backend")}`,
      PULUMI_CONFIG_PASSPHRASE: opts.passphrase ?? EXAMPLE_PASSPHRASE,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      ...opts.env,
    };
  }

  /** A program from an example directory or source, compiled. */
  program(src: ProgramSource, label = src.project ?? path.basename(src.example ?? "program")): Program {
    const dir = makeProgramDir(src, label);
    compilePrograms([dir]);
    return new Program(this, dir);
  }

  /** The backend directory (the local file backend's state: checkpoints, locks, history). */
  get backendDir(): string {
    return path.join(this.dir, "backend");
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

let requests = 0;

export class Program {
  readonly project: string;
  constructor(
    readonly ws: Workspace,
    readonly dir: string,
  ) {
    this.project = YAML.parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")).name;
  }

  /** Stack names of the program's Pulumi.<stack>.yaml files. */
  stackFiles(): string[] {
    return fs
      .readdirSync(this.dir)
      .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
      .filter((s): s is string => !!s)
      .sort();
  }

  /** The plain (not decrypted) config of a stack file. */
  stackFile(stack: string): Record<string, unknown> {
    const f = path.join(this.dir, `Pulumi.${stack}.yaml`);
    return fs.existsSync(f) ? (YAML.parse(fs.readFileSync(f, "utf8"))?.config ?? {}) : {};
  }

  /**
   * `pulumi <args>` on the binary, in the program directory, waiting synchronously: only for commands that do not
   * start the provider plugin (config, stack, cancel, export); see execAsync.
   */
  exec(args: string[], opts: { env?: Record<string, string>; input?: string } = {}): ExecResult {
    const r = spawnSync(this.ws.cli.bin, [...args, "--non-interactive"], {
      cwd: this.dir,
      env: { ...this.ws.env, ...opts.env },
      encoding: "utf8",
      input: opts.input,
      maxBuffer: 64 << 20,
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /**
   * `pulumi <args>` on the binary without blocking this process: for commands that start the provider plugin
   * (refresh, destroy) while a proxy or simulator of this process must keep serving it.
   */
  execAsync(args: string[], opts: { env?: Record<string, string> } = {}): Promise<ExecResult> {
    const child = spawnTracked(this.ws.cli.bin, [...args, "--non-interactive"], {
      label: `pulumi ${args.slice(0, 2).join(" ")}`,
      cwd: this.dir,
      env: { ...this.ws.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    return new Promise((resolve) => child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr })));
  }

  /** Like exec, but throws (with what pulumi printed) unless it exits 0. */
  run(args: string[], opts: { env?: Record<string, string> } = {}): string {
    const r = this.exec(args, opts);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** `pulumi stack init`, then the config: `pulumi config set-all` (secret values encrypted; path keys with --path). */
  initStack(stack: string, config: { plain?: Record<string, string>; secret?: Record<string, string>; paths?: Record<string, string> } = {}): void {
    this.run(["stack", "init", stack]);
    this.setConfig(stack, config);
  }

  setConfig(stack: string, config: { plain?: Record<string, string>; secret?: Record<string, string>; paths?: Record<string, string> }): void {
    const args = [
      ...Object.entries(config.plain ?? {}).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`]),
      ...Object.entries(config.secret ?? {}).flatMap(([k, v]) => ["--secret", `${k}=${v}`]),
    ];
    if (args.length) this.run(["config", "set-all", "--stack", stack, ...args]);
    const paths = Object.entries(config.paths ?? {}).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`]);
    if (paths.length) this.run(["config", "set-all", "--path", "--stack", stack, ...paths]);
  }

  /** Starts an operation that runs the program (scripts/lib/pulumi-runner.ts in its own process). */
  start(op: RunnerOp, stack: string, opts: OpOptions = {}, env: Record<string, string> = {}): Running {
    const { echo, ...options } = opts;
    const resultFile = path.join(this.ws.dir, `result-${process.pid}-${++requests}.json`);
    const req: RunnerRequest = { op, stack, cliRoot: this.ws.cli.root, resultFile, options };
    const reqFile = `${resultFile}.request`;
    fs.writeFileSync(reqFile, JSON.stringify(req));
    const child = spawnTracked(process.execPath, [path.join(REPO, "dist", "scripts", "lib", "pulumi-runner.js"), reqFile], {
      label: `pulumi ${op} ${this.project}/${stack}`,
      cwd: this.dir,
      env: { ...this.ws.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      if (echo) process.stdout.write(d);
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      if (echo) process.stderr.write(d);
    });
    const done = new Promise<RunnerResult>((resolve) => {
      child.once("close", (code, signal) => {
        let result: RunnerResult;
        if (fs.existsSync(resultFile)) result = JSON.parse(fs.readFileSync(resultFile, "utf8"));
        else result = { ok: false, events: [], stdout, stderr, error: signal ? `killed by ${signal}` : `runner exited ${code} without a result:\n${stderr}` };
        fs.rmSync(resultFile, { force: true });
        fs.rmSync(reqFile, { force: true });
        resolve(result);
      });
    });
    return { pid: child.pid!, child, done };
  }

  /** Runs an operation to its end; throws (with what pulumi printed) when it failed, unless allowFailure. */
  async op(op: RunnerOp, stack: string, opts: OpOptions & { allowFailure?: boolean } = {}, env: Record<string, string> = {}): Promise<RunnerResult> {
    const { allowFailure, ...rest } = opts;
    const r = await this.start(op, stack, rest, env).done;
    if (!r.ok && !allowFailure)
      throw new Error(`pulumi ${op} of ${this.project}/${stack} failed: ${r.error}\n--- pulumi printed ---\n${r.stdout}\n${r.stderr}`);
    return r;
  }

  up(stack: string, opts: OpOptions & { allowFailure?: boolean } = {}): Promise<RunnerResult> {
    return this.op("up", stack, opts);
  }
  preview(stack: string, opts: OpOptions & { allowFailure?: boolean } = {}): Promise<RunnerResult> {
    return this.op("preview", stack, opts);
  }
  refresh(stack: string, opts: OpOptions & { allowFailure?: boolean } = {}): Promise<RunnerResult> {
    return this.op("refresh", stack, opts);
  }
  destroy(stack: string, opts: OpOptions & { allowFailure?: boolean } = {}): Promise<RunnerResult> {
    return this.op("destroy", stack, opts);
  }

  /** `pulumi stack export` (secrets stay encrypted unless showSecrets). */
  export(stack: string, showSecrets = false): Deployment {
    return JSON.parse(this.run(["stack", "export", "--stack", stack, ...(showSecrets ? ["--show-secrets"] : [])]));
  }

  /** `pulumi stack output --json` (secrets shown as "[secret]" unless showSecrets). */
  outputs(stack: string, showSecrets = false): Record<string, any> {
    return JSON.parse(this.run(["stack", "output", "--json", "--stack", stack, ...(showSecrets ? ["--show-secrets"] : [])]));
  }
}

/** What `pulumi stack export` prints (the parts the tests read). */
export interface Deployment {
  version: number;
  deployment: {
    resources?: StateResource[];
    pending_operations?: { resource: StateResource; type: string }[];
    secrets_providers?: unknown;
  };
}

export interface StateResource {
  urn: string;
  type: string;
  custom?: boolean;
  id?: string;
  parent?: string;
  inputs?: Record<string, any>;
  outputs?: Record<string, any>;
  additionalSecretOutputs?: string[];
}

/** The resources of a deployment whose type ends with `:<kind>` (e.g. "EsxInstance"). */
export function resourcesOf(d: Deployment, kind?: string): StateResource[] {
  return (d.deployment.resources ?? []).filter((r) => !kind || r.type.endsWith(`:${kind}`));
}

// ---- engine events ----

/** resourcePreEvent ops per URN ("create", "update", "replace", "same", ...), in order. */
export function stepOps(r: RunnerResult): Record<string, string[]> {
  const ops: Record<string, string[]> = {};
  for (const e of r.events) {
    const m = e.resourcePreEvent?.metadata;
    if (m) (ops[m.urn] ??= []).push(m.op);
  }
  return ops;
}

/** Step ops of the resources that were not `same` (the stack and default provider resources excluded). */
export function changes(r: RunnerResult): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(stepOps(r)).filter(([urn, ops]) => !/::pulumi:(pulumi:Stack|providers:[^:]+)::/.test(urn) && !ops.every((o) => o === "same")),
  );
}

/** Diagnostics (warnings, infos, errors) the engine printed, with the URN they belong to. */
export function diagnostics(r: RunnerResult): { urn?: string; severity: string; message: string; ephemeral?: boolean }[] {
  return r.events.filter((e) => e.diagnosticEvent).map((e) => e.diagnosticEvent);
}

/** Every process in the tree below (and including) pid, from /proc (children first found breadth-first). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(Number(d));
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  for (let queue = [pid]; queue.length;) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * Processes whose working directory is inside `dir` (e.g. a program directory: the runner, pulumi and the
 * plugins it starts all run there), other than this one. A plugin whose pulumi died is re-parented and no
 * longer in a tree below the test; it still runs in the program directory.
 */
export function processesIn(dir: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  const root = fs.realpathSync(dir);
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${d}/cwd`);
      if (cwd === root || cwd.startsWith(root + path.sep))
        out.push({ pid: Number(d), cmd: fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ").trim() });
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

/** SIGKILL of every process of the tree at once (collected first: a killed parent's children are re-parented). */
export function killProcessTree(pid: number): number[] {
  const tree = processTree(pid);
  for (const p of tree) killTree(p, "SIGKILL");
  return tree;
}

/** A random value recognisable in output (for secrets). */
export function marker(prefix: string): string {
  return `${prefix}-${crypto.randomBytes(9).toString("hex")}`;
}
