/**
 * Section 5: cold start (plugin process start -> first completed operation, a GuestNetwork create, which includes
 * the provider's module loading, login and host discovery) against the bare plugin start (process start -> port
 * printed -> Configure answered, no provider code run yet); and the size of the serialized provider (`__provider`)
 * that every resource carries in its state.
 */
import { startEsxSim } from "../scripts/lib/esx-sim";
import { simConfig, startEsxPlugin } from "../test/support/esx-plugin";
import { Kind } from "../sdk/shim";
import { BenchOptions, Cleanup, fmt, median, Row, timed } from "./lib";

export async function coldStartSection(opts: BenchOptions): Promise<Row[]> {
  const { quick, log } = opts;
  const cleanup = new Cleanup();
  const rows: Row[] = [];
  try {
    const sim = await startEsxSim({ tls: true });
    cleanup.add("esxsim", () => sim.stop());
    const reps = quick ? 2 : 5;
    const ready: number[] = [];
    const first: number[] = [];
    let sizes: Record<Kind, number> | undefined;
    let outsBytes = 0;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const { value: p } = await timed(() => startEsxPlugin(simConfig(sim)));
      const t1 = performance.now();
      try {
        const { outs } = await p.up("GuestNetwork", `cold${i}`, { portGroup: `bench-cold-${i}`, cidr: "10.40.0.0/24" });
        const t2 = performance.now();
        ready.push(t1 - t0);
        first.push(t2 - t0);
        sizes ??= Object.fromEntries(Object.entries(p.provider).map(([k, v]) => [k, Buffer.byteLength(v)])) as Record<Kind, number>;
        const { __provider: _p, ...rest } = outs;
        outsBytes = Buffer.byteLength(JSON.stringify(rest));
        log(`cold start ${i}: plugin ready ${fmt.ms(t1 - t0)}, first GuestNetwork created ${fmt.ms(t2 - t0)}`);
      } finally {
        await p.plugin.stop();
      }
    }
    rows.push({
      section: "5",
      figure: "cold start: plugin start -> first completed operation (GuestNetwork create)",
      value: fmt.ms(median(first)),
      reference: `plugin ready (port + Configure) ${fmt.ms(median(ready))}`,
      ratio: fmt.x(median(first) / median(ready)),
      bar: "- (informational)",
      met: null,
      data: { firstMs: first, readyMs: ready },
    });
    const s = sizes!;
    rows.push({
      section: "5",
      figure: "__provider size per resource",
      value: Object.entries(s)
        .map(([k, v]) => `${k} ${v} B`)
        .join(", "),
      reference: `a GuestNetwork's other outputs ${outsBytes} B`,
      ratio: fmt.x(s.GuestNetwork / outsBytes),
      bar: "- (informational)",
      met: null,
      data: { providerBytes: s, guestNetworkOutputsBytes: outsBytes },
    });
  } finally {
    await cleanup.run(log);
  }
  return rows;
}
