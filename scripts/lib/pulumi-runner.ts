/**
 * One Pulumi CLI operation on a program directory, run in a node process of its own:
 *
 *   node dist/scripts/lib/pulumi-runner.js <request.json>       (cwd: the program directory)
 *
 * The program directory is what a user has: Pulumi.yaml, Pulumi.<stack>.yaml, the compiled index.js, and
 * `pulumi-esx` + `@pulumi/pulumi` installed from the packed tarball in a node_modules it resolves through. This
 * runner loads `@pulumi/pulumi/automation` from there (not from the repository), so the program, the language
 * runtime and the dynamic-provider plugin that the engine starts all use the installed package.
 *
 * Why the Automation API: the Pulumi CLI here is built from the Go module github.com/pulumi/pulumi/pkg/v3, but
 * the Node.js language host (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) is refused by the
 * Go module proxy, so `pulumi up` cannot start a Node program by itself. An inline program
 * (LocalWorkspace with `program`) is served by @pulumi/pulumi's own language runtime over `--client`, and every
 * step (preview, up, refresh, destroy) is still the real `pulumi` engine: its diffs, checkpoints, plugin
 * launch (pulumi-resource-pulumi-nodejs), secrets and event stream. Commands that run no program (stack
 * init/export/import, config, cancel, stack output) are run on the binary directly by scripts/lib/pulumi.ts.
 *
 * What pulumi prints goes to this process's stdout as it comes; the result (summary, engine events without
 * debug diagnostics, stack outputs, the error) is written as JSON to `resultFile`.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";

export type RunnerOp = "preview" | "up" | "refresh" | "destroy";

export interface RunnerRequest {
  op: RunnerOp;
  stack: string;
  /** Directory holding bin/pulumi, or "" to use `pulumi` on PATH. */
  cliRoot: string;
  resultFile: string;
  /** Options of the Automation API call (UpOptions, PreviewOptions, RefreshOptions, DestroyOptions). */
  options?: {
    diff?: boolean;
    expectNoChanges?: boolean;
    refresh?: boolean;
    clearPendingCreates?: boolean;
    target?: string[];
    parallel?: number;
    continueOnError?: boolean;
  };
}

export interface RunnerResult {
  ok: boolean;
  /** The summary of the update (kind, result, resourceChanges), when the operation produced one. */
  summary?: { kind: string; result: string; resourceChanges?: Record<string, number> };
  /** changeSummary of a preview. */
  changeSummary?: Record<string, number>;
  /** Stack outputs after `up` ({value, secret}). */
  outputs?: Record<string, { value: unknown; secret: boolean }>;
  /** Engine events (the `--json`/`--event-log` stream), debug diagnostics left out. */
  events: any[];
  /** Everything pulumi printed (stdout). */
  stdout: string;
  stderr: string;
  error?: string;
}

async function main(): Promise<void> {
  const req: RunnerRequest = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const dir = process.cwd();
  const local = createRequire(path.join(dir, "package.json"));
  const auto = local("@pulumi/pulumi/automation");
  const events: any[] = [];
  const result: RunnerResult = { ok: false, events, stdout: "", stderr: "" };
  const onOutput = (s: string) => {
    result.stdout += s;
    process.stdout.write(s);
  };
  const onError = (s: string) => {
    result.stderr += s;
    process.stderr.write(s);
  };
  const onEvent = (e: any) => {
    if (e.diagnosticEvent?.severity === "debug") return;
    events.push(e);
  };
  try {
    const pulumiCommand = await auto.PulumiCommand.get(req.cliRoot ? { root: req.cliRoot } : {});
    // As the language host does: a module that exports a function is called; its result (or the module's
    // exports) become the stack outputs.
    const program = async () => {
      const m = local(path.join(dir, "index.js"));
      return typeof m === "function" ? await m() : m;
    };
    const project = /^name:\s*(\S+)/m.exec(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"))?.[1];
    const stack = await auto.LocalWorkspace.selectStack({ stackName: req.stack, projectName: project, program }, { workDir: dir, pulumiCommand });
    // showSecrets false: the summary the Automation API reads after an operation (`pulumi stack history --json`)
    // would otherwise be read with --show-secrets, the stack's secret config decrypted in it.
    const common = { onOutput, onError, onEvent, color: "never", showSecrets: false, ...req.options };
    // Only what the tests read of the summary (not its config).
    const summary = (s: any) => s && { kind: s.kind, result: s.result, resourceChanges: s.resourceChanges };
    if (req.op === "up") {
      const r = await stack.up(common);
      Object.assign(result, { summary: summary(r.summary), outputs: r.outputs });
    } else if (req.op === "preview") {
      const r = await stack.preview(common);
      result.changeSummary = r.changeSummary;
    } else if (req.op === "refresh") {
      result.summary = summary((await stack.refresh(common)).summary);
    } else if (req.op === "destroy") {
      result.summary = summary((await stack.destroy(common)).summary);
    } else {
      throw new Error(`unknown operation ${String(req.op)}`);
    }
    result.ok = true;
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
  }
  fs.writeFileSync(req.resultFile, JSON.stringify(result));
}

main().then(
  // The inline program's language server and gRPC channels would keep the process alive.
  () => process.exit(0),
  (e) => {
    process.stderr.write(`runner: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(2);
  },
);
