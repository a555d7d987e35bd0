/**
 * Waiting on tasks with `WaitForUpdatesEx`, never by polling at a fixed interval.
 *
 * Each session has one task watcher: a property collector of its own with one filter on the TaskManager's
 * `recentTask` list, traversing to each task's `info.state`, `info.error` and `info.result`. One outstanding
 * WaitForUpdatesEx serves every task the process waits on, so waiting adds no round trips per task beyond the
 * updates the host sends, and a finished task is noticed as soon as the host reports it.
 */
import { VimFault } from "./faults";
import { VimSession } from "./session";
import type { LocalizedMethodFault, ObjectUpdate, TaskInfoState, UpdateSet, VimMethod } from "./types.generated";
import type { ArgsParam } from "./session";
import { MoRef } from "./xml";

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  label: string;
}

interface TaskState {
  state?: TaskInfoState;
  error?: LocalizedMethodFault;
  result?: unknown;
}

export class TaskWatcher {
  private static readonly watchers = new WeakMap<VimSession, TaskWatcher>();

  static for(session: VimSession): TaskWatcher {
    let w = TaskWatcher.watchers.get(session);
    if (!w) {
      w = new TaskWatcher(session);
      TaskWatcher.watchers.set(session, w);
    }
    return w;
  }

  private collector?: Promise<MoRef<"PropertyCollector">>;
  private version = "";
  private looping = false;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly states = new Map<string, TaskState>();

  private constructor(private readonly session: VimSession) {}

  /**
   * Resolves with the task's result when it succeeds (`info.result`, of the type the task's method documents: the
   * caller states it as T); rejects with a VimFault naming the task's fault.
   */
  wait<T>(task: MoRef, label: string): Promise<T> {
    const p = new Promise<T>((resolve, reject) => {
      const list = this.waiters.get(task.value) ?? [];
      list.push({ resolve: (v) => resolve(v as T), reject, label });
      this.waiters.set(task.value, list);
    });
    const known = this.states.get(task.value);
    if (known) this.settle(task.value, known);
    void this.loop();
    return p;
  }

  private setup(): Promise<MoRef<"PropertyCollector">> {
    this.collector ??= (async () => {
      const content = await this.session.serviceContent();
      const created = await this.session.call("CreatePropertyCollector", content.propertyCollector, {});
      const pc: MoRef<"PropertyCollector"> = { type: "PropertyCollector", value: created.value };
      await this.session.call("CreateFilter", pc, {
        spec: {
          propSet: [{ type: "Task", pathSet: ["info.state", "info.error", "info.result"] }],
          objectSet: [
            {
              obj: content.taskManager,
              skip: true,
              selectSet: [{ _type: "TraversalSpec", name: "tasks", type: "TaskManager", path: "recentTask", skip: false }],
            },
          ],
        },
        partialUpdates: false,
      });
      return pc;
    })().catch((e) => {
      this.collector = undefined;
      throw e;
    });
    return this.collector;
  }

  private async loop(): Promise<void> {
    if (this.looping) return;
    this.looping = true;
    try {
      while (this.waiters.size > 0) {
        const pc = await this.setup();
        let update: UpdateSet | undefined;
        try {
          update = await this.session.call("WaitForUpdatesEx", pc, { version: this.version, options: { maxWaitSeconds: 60 } }, { timeoutMs: 90_000 });
        } catch (e) {
          if (e instanceof VimFault && e.is("ManagedObjectNotFound", "InvalidCollectorVersion")) {
            // The collector died with an expired session: build a new one and read the full state again.
            this.collector = undefined;
            this.version = "";
            continue;
          }
          throw e;
        }
        if (!update) continue;
        this.version = update.version ?? this.version;
        for (const fu of update.filterSet ?? []) {
          for (const ou of fu.objectSet ?? []) this.apply(ou);
        }
      }
    } catch (e) {
      for (const [key, list] of this.waiters) {
        this.waiters.delete(key);
        for (const w of list) w.reject(e as Error);
      }
    } finally {
      this.looping = false;
      if (this.waiters.size > 0) void this.loop();
    }
  }

  private apply(ou: ObjectUpdate): void {
    const key = ou.obj?.value;
    if (!key) return;
    if (ou.kind === "leave") {
      this.states.delete(key);
      return;
    }
    const st = this.states.get(key) ?? {};
    for (const c of ou.changeSet ?? []) {
      if (c.name === "info.state") st.state = c.val as TaskInfoState;
      else if (c.name === "info.error") st.error = c.val as LocalizedMethodFault;
      else if (c.name === "info.result") st.result = c.val;
    }
    this.states.set(key, st);
    this.settle(key, st);
  }

  private settle(key: string, st: TaskState): void {
    if (st.state !== "success" && st.state !== "error") return;
    const list = this.waiters.get(key);
    if (!list) return;
    this.waiters.delete(key);
    this.states.delete(key);
    for (const w of list) {
      if (st.state === "success") w.resolve(st.result);
      else {
        const fault = st.error?.fault ?? {};
        const name = fault._type ?? "SystemError";
        w.reject(new VimFault(name, this.session.host, st.error?.localizedMessage ?? "", w.label, fault as Record<string, unknown>));
      }
    }
  }
}

/** The `*_Task` methods of the WSDL (they answer a Task reference). */
export type TaskMethod = Extract<VimMethod, `${string}_Task`>;

/**
 * A task the host runs: the reference a `*_Task` method answered, and a wait for its completion through the
 * session's task watcher. `R` is the type of the task's result (void for most; the VM for CreateVM_Task).
 */
export class Task<R = void> {
  constructor(
    readonly session: VimSession,
    readonly ref: MoRef<"Task">,
    /** The method that started it (names the task in errors). */
    readonly method: TaskMethod,
  ) {}

  /** Resolves with the task's result when it succeeds; rejects with a VimFault naming the task's fault. */
  wait(): Promise<R> {
    return TaskWatcher.for(this.session).wait<R>(this.ref, this.method);
  }
}

/** Starts a `*_Task` method on a managed object: one call, answering the task (wait for it with `wait()`). */
export async function startTask<R = void, M extends TaskMethod = TaskMethod>(session: VimSession, op: M, self: MoRef, ...args: ArgsParam<M>): Promise<Task<R>> {
  const ref = (await session.call(op, self, ...args)) as MoRef;
  return new Task<R>(session, { type: "Task", value: ref.value }, op);
}

/** Invokes a `*_Task` method and waits for it. */
export async function runTask<R = void, M extends TaskMethod = TaskMethod>(session: VimSession, op: M, self: MoRef, ...args: ArgsParam<M>): Promise<R> {
  return (await startTask<R, M>(session, op, self, ...args)).wait();
}
