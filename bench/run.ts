/**
 * `npm run bench`: the benchmark suite (issue 8) against the embedded simulators (esxsim, Glance).
 *
 *   node dist/bench/run.js [--quick] [--only import,soap,latency,scale,coldstart,encode]
 *
 * Every figure is compared to a reference measured in the same run (or to a fixed bar where the issue sets one).
 * Writes bench/results/latest.json and bench/results/latest.md and prints the table. Every process a section
 * starts is stopped by PID when the section ends, also on error; sections run one after the other.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { coldStartSection } from "./coldstart";
import { encodeSection } from "./encode";
import { importSection } from "./import";
import { BenchOptions, markdownTable, Row } from "./lib";
import { latencySection } from "./latency";
import { scaleSection } from "./scale";
import { soapSection } from "./soap";

const SECTIONS: Record<string, (o: BenchOptions) => Promise<Row[]>> = {
  import: importSection,
  soap: soapSection,
  latency: latencySection,
  scale: scaleSection,
  coldstart: coldStartSection,
  encode: encodeSection,
};

function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "bench"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`repository root not found above ${__dirname}`);
  }
}

function parseArgs(argv: string[]): BenchOptions {
  const quick = argv.includes("--quick");
  const i = argv.indexOf("--only");
  const only = i >= 0 ? (argv[i + 1] ?? "").split(",").filter(Boolean) : [];
  for (const s of only) if (!SECTIONS[s]) throw new Error(`--only: unknown section ${s} (have ${Object.keys(SECTIONS).join(", ")})`);
  const t0 = Date.now();
  return { quick, only, log: (m) => console.error(`[bench +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`) };
}

function machine(): Record<string, unknown> {
  const load = os.loadavg();
  return {
    cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? "?"}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: os.release(),
    node: process.version,
    loadavgAtStart: load.map((l) => l.toFixed(2)).join(" "),
  };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const started = new Date();
  const info = machine();
  const rows: Row[] = [];
  const failures: string[] = [];
  for (const [name, section] of Object.entries(SECTIONS)) {
    if (opts.only.length && !opts.only.includes(name)) continue;
    opts.log(`section ${name}`);
    try {
      rows.push(...(await section(opts)));
    } catch (e) {
      const msg = `${name}: ${(e as Error).stack ?? e}`;
      failures.push(msg);
      opts.log(`section ${name} FAILED: ${msg}`);
      rows.push({ section: name, figure: `${name} section failed`, value: "-", reference: "-", ratio: "-", bar: "-", met: false, note: (e as Error).message });
    }
  }
  const seconds = (Date.now() - started.getTime()) / 1000;
  info.loadavgAtEnd = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  const header =
    `pulumi-esx benchmarks, ${started.toISOString()}${opts.quick ? " (--quick: small sizes)" : ""}, ${seconds.toFixed(0)} s\n` +
    `machine: ${info.cpus}, ${info.memory}, Linux ${info.kernel}, node ${info.node}, load average ${info.loadavgAtStart} at start, ${info.loadavgAtEnd} at end\n`;
  const md = `${header}\n${markdownTable(rows)}`;
  const out = path.join(repoRoot(), "bench", "results");
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, "latest.json"),
    JSON.stringify({ date: started.toISOString(), quick: opts.quick, seconds, machine: info, rows, failures }, null, 2) + "\n",
  );
  fs.writeFileSync(path.join(out, "latest.md"), md);
  console.log(md);
  const unmet = rows.filter((r) => r.met === false).length;
  if (failures.length) process.exitCode = 2;
  opts.log(
    `${rows.length} figures, ${unmet} bars not met${failures.length ? `, ${failures.length} sections failed` : ""}; wrote ${path.relative(process.cwd(), out)}/latest.{json,md}`,
  );
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 2;
  })
  // keep-alive sockets of sessions must not hold the process; children are stopped by PID on exit (processes.ts)
  .finally(() => setTimeout(() => process.exit(), 200).unref());
