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
import { MoRef } from "./xml";

interface Waiter {
  resolve: (v: any) => void;
  reject: (e: Error) => void;
  label: string;
}

interface TaskState {
  state?: string;
  error?: any;
  result?: any;
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

  private collector?: Promise<MoRef>;
  private version = "";
  private looping = false;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly states = new Map<string, TaskState>();

  private constructor(private readonly session: VimSession) {}

  /** Resolves with the task's result when it succeeds; rejects with a VimFault naming the task's fault. */
  wait<T = any>(task: MoRef, label: string): Promise<T> {
    const p = new Promise<T>((resolve, reject) => {
      const list = this.waiters.get(task.value) ?? [];
      list.push({ resolve, reject, label });
      this.waiters.set(task.value, list);
    });
    const known = this.states.get(task.value);
    if (known) this.settle(task.value, known);
    void this.loop();
    return p;
  }

  private setup(): Promise<MoRef> {
    this.collector ??= (async () => {
      const content = await this.session.serviceContent();
      const pc: MoRef = await this.session.call("CreatePropertyCollector", content.propertyCollector, {});
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
        let update: any;
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

  private apply(ou: any): void {
    const key: string = ou.obj?.value;
    if (!key) return;
    if (ou.kind === "leave") {
      this.states.delete(key);
      return;
    }
    const st = this.states.get(key) ?? {};
    for (const c of ou.changeSet ?? []) {
      if (c.name === "info.state") st.state = c.val;
      else if (c.name === "info.error") st.error = c.val;
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
        const name: string = fault._type ?? "SystemError";
        w.reject(new VimFault(name, this.session.host, st.error?.localizedMessage ?? "", w.label, fault));
      }
    }
  }
}

/** Invokes a `*_Task` method and waits for it. */
export async function runTask<T = any>(session: VimSession, op: string, self: MoRef, args: Record<string, unknown> = {}): Promise<T> {
  const task: MoRef = await session.call(op, self, args);
  return TaskWatcher.for(session).wait<T>(task, op);
}
