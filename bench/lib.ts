/**
 * Shared pieces of the benchmark suite: results, timing, RSS sampling, cleanup of what a section started.
 */
import * as fs from "node:fs";

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** One row of the results table. */
export interface Row {
  section: string;
  figure: string;
  /** The measured value, formatted. */
  value: string;
  /** The same-run reference it is compared to (formatted), or "-". */
  reference: string;
  /** value/reference as the bar reads it, formatted, or "-". */
  ratio: string;
  bar: string;
  /** true/false, or null when the row is informational. */
  met: boolean | null;
  /** Raw numbers for the JSON. */
  data?: Record<string, unknown>;
  note?: string;
}

export interface BenchOptions {
  quick: boolean;
  /** Sections to run (all when empty). */
  only: string[];
  log: (m: string) => void;
}

/** Wall time of `f` in ms (high resolution). */
export async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
}

export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples a process's VmRSS every `everyMs` until stop(); peak and samples. */
export function sampleRss(pid: number, everyMs = 20): { stop(): { peak: number; samples: number } } {
  let peak = rssBytes(pid);
  let samples = 1;
  const t = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid));
    samples++;
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      peak = Math.max(peak, rssBytes(pid));
      return { peak, samples };
    },
  };
}

/** Things to stop at the end of a section, in reverse order, even when it failed. */
export class Cleanup {
  private readonly fns: { label: string; f: () => Promise<unknown> | unknown }[] = [];
  add(label: string, f: () => Promise<unknown> | unknown): void {
    this.fns.push({ label, f });
  }
  async run(log: (m: string) => void): Promise<void> {
    while (this.fns.length) {
      const { label, f } = this.fns.pop()!;
      try {
        await f();
      } catch (e) {
        log(`cleanup ${label} failed: ${(e as Error).message}`);
      }
    }
  }
}

export const fmt = {
  ms: (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`),
  mbps: (bytesPerS: number) => `${(bytesPerS / 1e6).toFixed(0)} MB/s`,
  mib: (b: number) => `${(b / MiB).toFixed(1)} MiB`,
  x: (r: number) => `${r.toFixed(2)}`,
};

/** The markdown table of the rows. */
export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const lines = ["| # | figure | value | reference | ratio | bar | met? |", "|---|---|---|---|---|---|---|"];
  for (const r of rows) {
    const met = r.met === null ? "-" : r.met ? "yes" : "**no**";
    lines.push(`| ${r.section} | ${esc(r.figure)} | ${esc(r.value)} | ${esc(r.reference)} | ${esc(r.ratio)} | ${esc(r.bar)} | ${met} |`);
  }
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.section} ${r.figure}: ${r.note}`);
  return lines.join("\n") + (notes.length ? `\n\nNotes:\n${notes.join("\n")}\n` : "\n");
}

/** CPU time (user + system) a process has used so far, ms (from /proc/<pid>/stat; 0 when it is gone). */
export function cpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}
