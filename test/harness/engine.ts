/**
 * A small Pulumi engine for tests: runs a whole program (a function that declares resources, as in
 * index.ts) in this process with the SDK's mock monitor replaced by one that performs the engine's steps
 * against the real dynamic-provider plugin (PluginClient), with state kept in a JSON file.
 *
 * Design: in-process. The SDK's runtime state is global to the module instance, so runs are serialized by
 * a lock, and every run starts with settings.setMockOptions (which calls resetOptions: stack resource,
 * monitor, feature flags) and runtime.setAllConfig (which overwrites the config). Jest gives every test file
 * its own module registry and global, so test files do not share this state. A fresh process per run was
 * rejected: programs are functions of the test, and PluginClient's call log must see every call.
 *
 * Steps per registered dynamic resource, as the engine does them:
 *   Check(old inputs, new inputs) -> failures abort that resource;
 *   in state: Diff(id, old outputs, checked inputs) -> none: same; replaces: replace (create then delete the
 *   old one at the end, or delete first when deleteBeforeReplace); unknown: compare inputs; else Update;
 *   not in state: Create.
 * After the program: delete replaced and no-longer-declared resources in dependency order. Preview calls
 * only Check and Diff. The first failed step stops the deployment as `pulumi up` does: steps in flight
 * finish, no registration is answered any more (the abandoned program's promises stay pending instead of
 * rejecting, so no unhandled rejections), deletions are skipped, and runUp rejects with an EngineError
 * holding the steps so far (state keeps what was done, like a real engine's checkpoints).
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { fromStruct, Props, PROVIDER_KEY, PULUMI_DIR, structproto, UNKNOWN } from "./grpc";
import { PluginClient, PluginError } from "./plugin";
import { deletionOrder, loadState, markSecrets, plainProps, saveState, State, StateEntry } from "./state";

const settings: { setMockOptions(m: any, project?: string, stack?: string, preview?: boolean): void; waitForRPCs(): Promise<void> } = require(
  path.join(PULUMI_DIR, "runtime/settings"),
);
const runtimeState: { getStore(): any } = require(path.join(PULUMI_DIR, "runtime/state"));
const { MockMonitor }: { MockMonitor: new (mocks: pulumi.runtime.Mocks) => any } = require(path.join(PULUMI_DIR, "runtime/mocks"));
const resproto = require(path.join(PULUMI_DIR, "proto/resource_pb"));

export type StepOp = "create" | "update" | "same" | "replace" | "delete";
export interface Step {
  urn: string;
  type: string;
  op: StepOp;
  /** Resource id after the step ("" in preview for new resources, the old id for delete). */
  id: string;
}

export interface RunOptions {
  plugin: PluginClient;
  stateFile: string;
  project: string;
  stack: string;
  /** Stack config for the program (pulumi.Config), namespaced keys. Default {}. */
  config?: Record<string, string>;
  secretKeys?: string[];
  /** Check and Diff only; nothing is created, changed or deleted, state is not written. */
  preview?: boolean;
}

export interface UpResult {
  /** Stack outputs as plain values (secrets unwrapped; their keys are in secretOutputs). */
  outputs: Record<string, any>;
  secretOutputs: string[];
  steps: Step[];
}

export class EngineError extends Error {
  constructor(
    message: string,
    readonly steps: Step[],
    readonly errors: Error[],
  ) {
    super(message);
    this.name = "EngineError";
  }
}

const DYNAMIC_PREFIX = "pulumi-nodejs:dynamic";
const STACK_TYPE = "pulumi:pulumi:Stack";

let lock: Promise<unknown> = Promise.resolve();
function serialized<T>(f: () => Promise<T>): Promise<T> {
  const run = lock.then(f, f);
  lock = run.catch(() => undefined);
  return run;
}

/** As the Go engine builds URNs: parent's qualified type chain + "$" + type, except under the root stack. */
function urnOf(stack: string, project: string, parent: string, type: string, name: string): string {
  const parentType = parent ? parent.split("::")[2] : "";
  const qualified = parentType && parentType !== STACK_TYPE ? `${parentType}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

function sameJSON(a: unknown, b: unknown): boolean {
  const norm = (v: any): any =>
    Array.isArray(v)
      ? v.map(norm)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, norm(v[k])]),
          )
        : v;
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

function errorOf(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

class Deployment {
  readonly state: State;
  readonly steps: Step[] = [];
  readonly errors: Error[] = [];
  readonly declared = new Set<string>();
  /** Old resources replaced create-before-delete: deleted after the program. */
  readonly pendingDeletes: { urn: string; entry: StateEntry }[] = [];
  stackOutputs: Props = {};
  /** Set at the first failed step; `halted` resolves once no step is in flight any more. */
  failed = false;
  private inflight = 0;
  private halt!: () => void;
  readonly halted = new Promise<void>((r) => (this.halt = r));

  begin(): boolean {
    if (this.failed) return false;
    this.inflight++;
    return true;
  }
  end(error?: unknown) {
    this.inflight--;
    if (error !== undefined) {
      this.errors.push(errorOf(error));
      this.failed = true;
    }
    if (this.failed && this.inflight === 0) this.halt();
  }

  constructor(readonly opts: RunOptions) {
    this.state = loadState(opts.stateFile);
  }

  save() {
    if (!this.opts.preview) saveState(this.opts.stateFile, this.state);
  }

  /** One resource registration: the engine's step for it. Returns the state the program sees. */
  async register(req: any): Promise<{ urn: string; id: string; object: Props }> {
    const { plugin, preview } = this.opts;
    const type: string = req.getType();
    const parent: string = req.getParent();
    const urn = urnOf(this.opts.stack, this.opts.project, parent, type, req.getName());
    if (this.declared.has(urn)) throw new Error(`duplicate resource URN ${urn}`);
    this.declared.add(urn);
    const dependencies: string[] = req.getDependenciesList();
    const old = this.state[urn];

    if (!req.getCustom()) {
      this.steps.push({ urn, type, op: old ? "same" : "create", id: "" });
      this.state[urn] = { type, custom: false, id: "", parent, dependencies, inputs: {}, outputs: {}, secretOutputs: [] };
      this.save();
      return { urn, id: "", object: {} };
    }
    if (!type.startsWith(DYNAMIC_PREFIX)) throw new Error(`the harness engine runs only dynamic resources, not ${type}`);

    const wire = fromStruct(req.getObject()) ?? {};
    const { props: news, secretKeys } = plainProps(wire);
    for (const k of req.getIgnorechangesList() as string[]) if (old && k in old.inputs) news[k] = old.inputs[k];
    const secretOutputs = [...new Set([...secretKeys, ...(req.getAdditionalsecretoutputsList() as string[])])];

    const checked = await plugin.check(urn, old?.inputs ?? {}, news);
    if (checked.failures.length) {
      throw new Error(`${urn}: check failed: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    }
    const inputs = checked.inputs;
    let op: StepOp = "create";
    let deleteFirst = req.getDeletebeforereplace() as boolean;
    if (old) {
      const d = await plugin.diff(old.id, urn, old.outputs, inputs, { oldInputs: old.inputs });
      deleteFirst ||= d.deleteBeforeReplace;
      if (d.replaces.length) op = "replace";
      else if (d.changes === "none") op = "same";
      else if (d.changes === "some") op = "update";
      else op = sameJSON(old.inputs, inputs) ? "same" : "update";
    }
    const entry = (id: string, outputs: Props): StateEntry => ({ type, custom: true, id, parent, dependencies, inputs, outputs, secretOutputs });

    if (preview) {
      // The Node plugin cannot preview create/update: the program sees the inputs; other outputs are unknown.
      const id = op === "create" || op === "replace" ? "" : old!.id;
      this.steps.push({ urn, type, op, id });
      const outputs = op === "same" ? old!.outputs : inputs;
      return { urn, id, object: markSecrets(outputs, secretOutputs) };
    }

    let result: StateEntry;
    if (op === "same") {
      result = { ...old!, dependencies, parent, inputs, secretOutputs: [...new Set([...old!.secretOutputs, ...secretOutputs])] };
    } else if (op === "update") {
      const u = await plugin.update(old!.id, urn, old!.outputs, inputs, { oldInputs: old!.inputs });
      result = entry(old!.id, u.properties);
    } else {
      if (op === "replace" && deleteFirst) {
        await plugin.delete(old!.id, urn, old!.outputs, { oldInputs: old!.inputs });
        delete this.state[urn];
        this.save();
      } else if (op === "replace") {
        this.pendingDeletes.push({ urn, entry: old! });
      }
      try {
        const c = await plugin.create(urn, inputs);
        result = entry(c.id, c.properties);
      } catch (e) {
        if (e instanceof PluginError && e.initFailed) {
          this.state[urn] = entry(e.initFailed.id, e.initFailed.properties); // partially created: kept in state
          this.save();
        }
        throw e;
      }
    }
    this.state[urn] = result;
    this.save();
    this.steps.push({ urn, type, op, id: result.id });
    return { urn, id: result.id, object: markSecrets(result.outputs, result.secretOutputs) };
  }

  async deleteEntry(urn: string, e: StateEntry) {
    if (e.custom) await this.opts.plugin.delete(e.id, urn, e.outputs, { oldInputs: e.inputs });
    this.steps.push({ urn, type: e.type, op: "delete", id: e.id });
  }

  /** Deletes replaced resources and resources in state that were not declared, dependents first. */
  async deleteUndeclared() {
    for (const { urn, entry } of this.pendingDeletes) {
      if (!this.opts.preview) await this.deleteEntry(urn, entry);
      else this.steps.push({ urn, type: entry.type, op: "delete", id: entry.id });
    }
    const gone = Object.keys(this.state).filter((u) => !this.declared.has(u));
    for (const urn of deletionOrder(this.state, gone)) {
      if (this.opts.preview) {
        this.steps.push({ urn, type: this.state[urn].type, op: "delete", id: this.state[urn].id });
        continue;
      }
      await this.deleteEntry(urn, this.state[urn]);
      delete this.state[urn];
      this.save();
    }
  }

  /** A mock monitor whose registrations are engine steps. */
  monitor(): any {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the monitor callbacks are not methods of this class
    const dep = this;
    const mon = new MockMonitor({
      newResource: () => {
        throw new Error("unused");
      },
      call: () => {
        throw new Error("the harness engine does not support invokes");
      },
    });
    mon.registerResource = async (req: any, cb: (err: any, res?: any) => void) => {
      if (!dep.begin()) return; // deployment halted: never answered
      let res: any;
      try {
        const r = await dep.register(req);
        res = new resproto.RegisterResourceResponse();
        res.setUrn(r.urn);
        res.setId(r.id);
        res.setObject(structproto.Struct.fromJavaScript(r.object));
      } catch (e) {
        dep.end(e);
        return;
      }
      dep.end();
      if (!dep.failed) cb(null, res);
    };
    mon.readResource = async (_req: any, cb: (err: any) => void) => cb(new Error("the harness engine does not support reading existing resources (get)"));
    mon.registerResourceOutputs = (req: any, cb: (err: any, res?: any) => void) => {
      if (req.getUrn().split("::")[2] === STACK_TYPE) dep.stackOutputs = fromStruct(req.getOutputs()) ?? {};
      cb(null, {});
    };
    return mon;
  }
}

function installRuntime(d: Deployment, opts: RunOptions) {
  settings.setMockOptions(d.monitor(), opts.project, opts.stack, opts.preview ?? false);
  const store = runtimeState.getStore();
  // As runtime.setMocks does, minus outputValues (so inputs arrive resolved).
  Object.assign(store, {
    supportsSecrets: true,
    supportsResourceReferences: true,
    supportsOutputValues: false,
    supportsDeletedWith: true,
    supportsAliasSpecs: true,
    supportsTransforms: false,
  });
  pulumi.runtime.setAllConfig(opts.config ?? {}, opts.secretKeys ?? []);
}

/** `pulumi up` (or `pulumi preview` with opts.preview) of a program against the plugin. */
export function runUp(program: () => Promise<Record<string, any> | void> | Record<string, any> | void, opts: RunOptions): Promise<UpResult> {
  return serialized(async () => {
    const d = new Deployment(opts);
    installRuntime(d, opts);
    let programError: Error | undefined;
    const finished = (async () => {
      try {
        await pulumi.runtime.runInPulumiStack(async () => (await program()) ?? undefined);
        await settings.waitForRPCs();
      } catch (e) {
        programError = errorOf(e);
      }
    })();
    await Promise.race([finished, d.halted]);
    const errors = [...d.errors, ...(programError ? [programError] : [])];
    if (errors.length) {
      throw new EngineError(`update failed: ${errors.map((e) => e.message).join("; ")}`, d.steps, errors);
    }
    try {
      await d.deleteUndeclared();
    } catch (e) {
      throw new EngineError(`update failed: ${errorOf(e).message}`, d.steps, [errorOf(e)]);
    }
    const { props: outputs, secretKeys } = plainProps(d.stackOutputs);
    return { outputs, secretOutputs: secretKeys, steps: d.steps };
  });
}

/** `pulumi destroy`: deletes every resource in state, dependents first. */
export function runDestroy(opts: Omit<RunOptions, "config" | "secretKeys">): Promise<{ steps: Step[] }> {
  return serialized(async () => {
    const d = new Deployment(opts);
    try {
      await d.deleteUndeclared();
    } catch (e) {
      throw new EngineError(`destroy failed: ${errorOf(e).message}`, d.steps, [errorOf(e)]);
    }
    return { steps: d.steps };
  });
}

/** Plain inputs of a resource in a state file (for assertions), without __provider. */
export function stateInputs(state: State, urn: string): Props {
  const { [PROVIDER_KEY]: _p, ...rest } = state[urn]?.inputs ?? {};
  return rest;
}

export { UNKNOWN };
