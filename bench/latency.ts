/**
 * Section 3: latency of noticing a finished task. The provider's own task code (provider/vim/tasks.ts: invoke,
 * then wait through the session's WaitForUpdatesEx watcher) powers a VM on and off with per-method delays; for
 * each task, the time from the host's `info.completeTime` to the moment the wait returned. Bar: < 50 ms.
 *
 * esxsim answers WaitForUpdatesEx as soon as something changed (sim/esx/waitupdates.go); the reference row is
 * the same run against the stock govmomi collector (ESXSIM_STOCK_WAIT=1), whose 250 ms accumulation ticker
 * alone would decide the figure.
 */
import { startEsxSim } from "../scripts/lib/esx-sim";
import { retrieveInventory, retrieveOne } from "../provider/vim/property-collector";
import { TaskWatcher } from "../provider/vim/tasks";
import { VimSession } from "../provider/vim/session";
import { MoRef } from "../provider/vim/xml";
import { BenchOptions, Cleanup, fmt, median, percentile, Row } from "./lib";

/** xsd:dateTime with up to nanoseconds -> epoch ms with sub-ms precision. */
export function parseDateTime(s: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return Date.parse(s);
  return Date.parse(m[1] + m[3]) + (m[2] ? Number(m[2]) * 1000 : 0);
}

const now = () => performance.timeOrigin + performance.now();

async function measure(stock: boolean, n: number, log: (m: string) => void): Promise<number[]> {
  const cleanup = new Cleanup();
  try {
    if (stock) process.env.ESXSIM_STOCK_WAIT = "1";
    const sim = await startEsxSim({ tls: true, vms: 1, methodDelays: { PowerOnVM_Task: 200, PowerOffVM_Task: 150 } }).finally(
      () => delete process.env.ESXSIM_STOCK_WAIT,
    );
    cleanup.add("esxsim", () => sim.stop());
    const session = VimSession.for({ host: sim.host, username: sim.username, password: sim.password, thumbprint: sim.thumbprintSha256 });
    cleanup.add("session", () => session.logout());
    const vm = (await retrieveInventory(session, { VirtualMachine: ["name"] })).find((o) => o.ref.type === "VirtualMachine")!.ref;
    const watcher = TaskWatcher.for(session);
    const out: number[] = [];
    for (let i = 0; i < n + 1; i++) {
      const op = i % 2 === 0 ? "PowerOnVM_Task" : "PowerOffVM_Task";
      const started: MoRef = await session.call(op, vm, {});
      const task: MoRef<"Task"> = { type: "Task", value: started.value };
      await watcher.wait(task, op);
      const returned = now();
      const info = await retrieveOne(session, task, ["info.completeTime"]);
      const done = parseDateTime(String(info?.["info.completeTime"]));
      if (i > 0) out.push(returned - done); // the first includes the watcher's setup
    }
    log(`latency (${stock ? "stock collector" : "esxsim"}): ${out.map((x) => x.toFixed(1)).join(" ")}`);
    return out;
  } finally {
    await cleanup.run(log);
  }
}

export async function latencySection(opts: BenchOptions): Promise<Row[]> {
  const n = opts.quick ? 10 : 30;
  const fast = await measure(false, n, opts.log);
  const stock = await measure(true, opts.quick ? 4 : 10, opts.log);
  const p95 = percentile(fast, 95);
  return [
    {
      section: "3",
      figure: `task finished on host -> provider's wait returns (${n} power tasks)`,
      value: `median ${fmt.ms(median(fast))}, p95 ${fmt.ms(p95)}`,
      reference: `stock govmomi collector: median ${fmt.ms(median(stock))}`,
      ratio: "-",
      bar: "p95 < 50 ms",
      met: p95 < 50,
      data: { ms: fast, stockMs: stock },
      note: "esxsim answers WaitForUpdatesEx on change (sim/esx/waitupdates.go); the stock simulator batches updates on a 250 ms ticker, which is the reference figure",
    },
  ];
}
