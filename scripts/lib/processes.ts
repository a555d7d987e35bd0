/**
 * Child processes that tests start (simulators, Glance, provider plugins). Every child is recorded with its
 * PID in a file under .sim/pids so that jest's global teardown can stop what a crashed test left behind, and
 * each child is stopped by PID when the test process exits. Never kill by name.
 */
import { ChildProcess, spawn, SpawnOptions } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const PID_DIR = path.resolve(__dirname, "..", "..", ".sim", "pids");

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", () => {
    for (const c of live) killTree(c.pid);
  });
}

/** Kills a process group started with detached: true (and the process itself). */
export function killTree(pid: number | undefined, signal: NodeJS.Signals = "SIGTERM"): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* not a group leader or gone */
  }
  try {
    process.kill(pid, signal);
  } catch {
    /* gone */
  }
}

/** Spawns a child in its own process group, records its PID, and forgets it when it exits. */
export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions & { label: string }): ChildProcess {
  hookExit();
  fs.mkdirSync(PID_DIR, { recursive: true });
  const child = spawn(cmd, args, { ...opts, detached: true });
  if (!child.pid) throw new Error(`could not start ${opts.label} (${cmd})`);
  const pidFile = path.join(PID_DIR, String(child.pid));
  // The owner's PID lets a teardown stop only its own children (several test runs may share the tree).
  fs.writeFileSync(pidFile, `${opts.label}\n${process.pid}\n`);
  live.add(child);
  child.once("exit", () => {
    live.delete(child);
    fs.rmSync(pidFile, { force: true });
  });
  return child;
}

/** Stops a tracked child: SIGTERM, then SIGKILL after graceMs; resolves when it has exited. */
export async function stopTracked(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  killTree(child.pid, "SIGTERM");
  const timer = setTimeout(() => killTree(child.pid, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** True while a process with this PID exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops the recorded processes that belong to this process (or whose owner has died): used by jest's global
 * teardown. Children of other, still running test runs are left alone.
 */
export function stopRecorded(): number {
  if (!fs.existsSync(PID_DIR)) return 0;
  let n = 0;
  for (const f of fs.readdirSync(PID_DIR)) {
    const pid = Number(f);
    const file = path.join(PID_DIR, f);
    let owner: number;
    try {
      owner = Number(fs.readFileSync(file, "utf8").split("\n")[1]);
    } catch {
      continue;
    }
    if (owner && owner !== process.pid && alive(owner)) continue;
    if (Number.isInteger(pid) && pid > 0) {
      killTree(pid, "SIGKILL");
      n++;
    }
    fs.rmSync(file, { force: true });
  }
  return n;
}

/**
 * Runs `launch` with a fresh temporary data directory (prefix under the OS temp dir). The directory is removed if
 * the launch fails; otherwise `cleanup` is handed to the launched server to call when it stops (unless keepData).
 */
export async function withDataDir<T>(prefix: string, keepData: boolean | undefined, launch: (dataDir: string, cleanup: () => void) => Promise<T>): Promise<T> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const cleanup = (): void => {
    if (!keepData) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    return await launch(dataDir, cleanup);
  } catch (e) {
    cleanup();
    throw e;
  }
}
