/**
 * Section 4: scale of one `up`. N linked-clone instances (one NIC, powered on) from one image on one host,
 * created concurrently through one plugin process as the engine does with unbounded parallelism (check + create
 * per resource), with per-method delays that emulate a real host (fixtures.hostDelays). Bar: N=50 takes at
 * most 2x the wall time of N=1. Also: linked-clone create time with a 10 MB vs a 2 GiB base disk.
 */
import { startEsxSim } from "../scripts/lib/esx-sim";
import { simConfig, startEsxPlugin } from "../test/support/esx-plugin";
import { baseDisk, benchSession, createInstance, deleteInstance, guestNetwork, hostDelays, instanceInputs, Made } from "./fixtures";
import { BenchOptions, Cleanup, cpuMs, fmt, GiB, median, Row, timed } from "./lib";

export async function scaleSection(opts: BenchOptions): Promise<Row[]> {
  const { quick, log } = opts;
  const cleanup = new Cleanup();
  const rows: Row[] = [];
  try {
    const delayScale = quick ? 0.5 : 1;
    const delays = hostDelays(delayScale);
    const sim = await startEsxSim({ tls: true, methodDelays: delays });
    cleanup.add("esxsim", () => sim.stop());
    const p = await startEsxPlugin(simConfig(sim));
    cleanup.add("plugin", () => p.plugin.stop());
    const session = benchSession(sim);
    cleanup.add("session", () => session.logout());
    const lan = await guestNetwork(p, "lan", "bench-lan");
    const small = await baseDisk(session, "small", 10 * 1000 * 1000);
    const big = await baseDisk(session, "big", 2 * GiB);

    // warm-up: the plugin's login, host discovery and task watcher (a real `up` pays these once)
    await deleteInstance(p, await createInstance(p, instanceInputs(p, "warm", small, lan, 999)));

    const counts = quick ? [1, 5, 10] : [1, 10, 50, 100];
    const wall: Record<number, number> = {};
    const deletes: Record<number, number> = {};
    const cpu: Record<number, { plugin: number; sim: number; bench: number }> = {};
    for (const n of counts) {
      const inputs = Array.from({ length: n }, (_, i) => instanceInputs(p, `s${n}-${i}`, small, lan, i));
      const cpu0 = { plugin: cpuMs(p.plugin.pid), sim: cpuMs(sim.pid), bench: process.cpuUsage() };
      const { ms, value: made } = await timed(() => Promise.all(inputs.map((inp) => createInstance(p, inp))));
      wall[n] = ms;
      const bu = process.cpuUsage(cpu0.bench);
      cpu[n] = { plugin: cpuMs(p.plugin.pid) - cpu0.plugin, sim: cpuMs(sim.pid) - cpu0.sim, bench: (bu.user + bu.system) / 1000 };
      const running = made.filter((m: Made) => m.outs.powerState === "on").length;
      if (running !== n) throw new Error(`${n} instances: only ${running} are powered on`);
      const del = await timed(() => Promise.all(made.map((m) => deleteInstance(p, m))));
      deletes[n] = del.ms;
      log(
        `scale ${n}: create ${fmt.ms(ms)} (CPU ms: plugin ${cpu[n].plugin}, esxsim ${cpu[n].sim}, bench ${Math.round(cpu[n].bench)}), delete ${fmt.ms(del.ms)}`,
      );
    }
    const one = wall[1];
    for (const n of counts.slice(1)) {
      const ratio = wall[n] / one;
      const barred = n === (quick ? 10 : 50);
      rows.push({
        section: "4",
        figure: `up of ${n} linked-clone instances (1 NIC, powered on)`,
        value: fmt.ms(wall[n]),
        reference: `1 instance ${fmt.ms(one)}`,
        ratio: fmt.x(ratio),
        bar: barred ? "<= 2.00" : "- (informational)",
        met: barred ? ratio <= 2 : null,
        data: { n, ms: wall[n], oneMs: one, deleteMs: deletes[n], cpuMs: cpu[n] },
      });
    }
    rows[0].note = `host delays (ms): ${Object.entries(delays)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}; esx:maxConcurrentOperations at its default (64 operations per host, 72 connections)`;

    // what a lower per-host bound costs: the same N (the barred one) with esx:maxConcurrentOperations = 16
    const whatIfN = quick ? 10 : 50;
    const limit = 16;
    const q = await startEsxPlugin(simConfig(sim, { "esx:maxConcurrentOperations": String(limit) }));
    cleanup.add("limited plugin", () => q.plugin.stop());
    await deleteInstance(q, await createInstance(q, instanceInputs(q, "warm2", small, lan, 998)));
    const wi = await timed(() => Promise.all(Array.from({ length: whatIfN }, (_, i) => createInstance(q, instanceInputs(q, `w${i}`, small, lan, 300 + i)))));
    await Promise.all(wi.value.map((m) => deleteInstance(q, m)));
    await q.plugin.stop();
    log(`scale ${whatIfN} with esx:maxConcurrentOperations=${limit}: ${fmt.ms(wi.ms)}`);
    rows.push({
      section: "4",
      figure: `up of ${whatIfN} instances with esx:maxConcurrentOperations = ${limit}`,
      value: fmt.ms(wi.ms),
      reference: `1 instance ${fmt.ms(one)}`,
      ratio: fmt.x(wi.ms / one),
      bar: "- (what a lower per-host bound costs)",
      met: null,
      data: { n: whatIfN, limit, ms: wi.ms },
      note: "same host and delays; operations beyond the bound wait their turn",
    });

    // linked clone create time vs base disk size
    const reps = quick ? 2 : 4;
    const t: Record<string, number[]> = { small: [], big: [] };
    for (let i = 0; i < reps; i++) {
      for (const [k, img] of [
        ["small", small],
        ["big", big],
      ] as const) {
        const { ms, value: m } = await timed(() => createInstance(p, instanceInputs(p, `lc-${k}-${i}`, img, lan, 500 + i)));
        t[k].push(ms);
        await deleteInstance(p, m);
      }
    }
    const r = median(t.big) / median(t.small);
    rows.push({
      section: "4",
      figure: "linked-clone instance create, 2 GiB vs 10 MB image",
      value: fmt.ms(median(t.big)),
      reference: `10 MB image ${fmt.ms(median(t.small))}`,
      ratio: fmt.x(r),
      bar: "<= 1.20 (not growing with image size)",
      met: r <= 1.2,
      data: t,
    });
  } finally {
    await cleanup.run(log);
  }
  return rows;
}
