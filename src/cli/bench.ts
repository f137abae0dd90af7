/**
 * `attn bench`: the six fixed workloads of ../shared/bench/README.md, under the
 * same names, with the same data stream, batches, step definition, default
 * warm-up/timed steps, metrics and `--json` schema as the PyTorch peer
 * (shared/bench/peer_pytorch.py), so that the two can be compared as a ratio.
 *
 * stdout: a table, or with --json one line per workload
 *   {"config","metric","median","min","max","unit","peak_rss_mb"}.
 * stderr: the environment header, step times, other processes' CPU use, profiles.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { type Command, Option } from "commander";
import { AttnError, getBackend, memory, packageVersion } from "../index.js";
import { runCorpusBench } from "./bench-corpus.js";
import {
  BENCH_CONFIGS,
  type BenchMetric,
  DEFAULT_THREADS,
  benchConfigNames,
} from "./bench-configs.js";
import { profileConfig } from "./bench-profile.js";
import { Workload } from "./bench-workloads.js";
import { intFlag } from "./options.js";

export * from "./bench-configs.js";
export { Workload } from "./bench-workloads.js";
export { profileConfig } from "./bench-profile.js";

// ---------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------

export interface BenchResult {
  config: string;
  metric: BenchMetric;
  median: number;
  min: number;
  max: number;
  unit: "tokens/s";
  peak_rss_mb: number;
}

export interface BenchExtra {
  steps: number;
  warmup: number;
  step_ms_median: number;
  step_ms_min: number;
  step_ms_max: number;
  timed_s: number;
  self_cores: number;
  other_load_cores: number | null;
  last_loss: number | null;
  step_ms: number[];
  engine_live_mb: number;
  engine_peak_mb: number;
}

export function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const r1 = (x: number) => Math.round(x * 10) / 10;

/** Busy CPU seconds of the whole machine so far (all cores), or null. */
function machineBusyS(): number | null {
  try {
    const first = readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
    const f = first.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal; USER_HZ is 100 on Linux
    const busy = f[0] + f[1] + f[2] + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return Number.isFinite(busy) ? busy / 100 : null;
  } catch {
    return null;
  }
}

function selfCpuS(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** getrusage(RUSAGE_SELF).ru_maxrss (KiB on Linux) in MiB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export function runConfig(
  name: string,
  steps?: number,
  warmup?: number,
): { result: BenchResult; extra: BenchExtra } {
  const cfg = BENCH_CONFIGS[name];
  const nTimed = steps ?? cfg.steps;
  const nWarm = warmup ?? cfg.warmup;
  const wl = new Workload(name, cfg, nWarm + nTimed);
  const rates: number[] = [];
  const times: number[] = [];
  let busy0: number | null = null;
  let self0 = 0;
  let wall0 = 0;
  for (let i = 0; i < nWarm + nTimed; i++) {
    if (i === nWarm) {
      busy0 = machineBusyS();
      self0 = selfCpuS();
      wall0 = performance.now();
    }
    const t0 = performance.now();
    const nTok = wl.step(i);
    const dt = (performance.now() - t0) / 1000;
    if (i >= nWarm) {
      rates.push(nTok / dt);
      times.push(dt);
    }
  }
  const busy1 = machineBusyS();
  const self1 = selfCpuS();
  const wallS = Math.max((performance.now() - wall0) / 1000, 1e-9);
  // CPU that other processes used while we were timing, in cores (should be ~0).
  const other =
    busy0 === null || busy1 === null
      ? null
      : r2(Math.max(0, busy1 - busy0 - (self1 - self0)) / wallS);
  const result: BenchResult = {
    config: name,
    metric: cfg.metric,
    median: r2(median(rates)),
    min: r2(Math.min(...rates)),
    max: r2(Math.max(...rates)),
    unit: "tokens/s",
    peak_rss_mb: r1(peakRssMb()),
  };
  const extra: BenchExtra = {
    steps: nTimed,
    warmup: nWarm,
    step_ms_median: r2(1000 * median(times)),
    step_ms_min: r2(1000 * Math.min(...times)),
    step_ms_max: r2(1000 * Math.max(...times)),
    timed_s: r2(times.reduce((a, b) => a + b, 0)),
    self_cores: r2((self1 - self0) / wallS),
    other_load_cores: other,
    last_loss: wl.lastLoss === null ? null : Math.round(wl.lastLoss * 1e4) / 1e4,
    step_ms: times.map((t) => r2(1000 * t)),
    engine_live_mb: r1(memory().bytes / 2 ** 20),
    engine_peak_mb: r1(memory().peakBytes / 2 ** 20),
  };
  return { result, extra };
}

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

function environmentHeader(threads: number): string {
  const info: Record<string, string | number> = {
    attn: packageVersion(),
    node: process.versions.node,
    v8: process.versions.v8,
    backend: getBackend().name,
    threads,
    cpu: cpus()[0]?.model ?? "?",
    nproc: cpus().length,
  };
  for (const v of [
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "GOMP_SPINCOUNT",
    "GLIBC_TUNABLES",
    "LD_PRELOAD",
    "UV_THREADPOOL_SIZE",
    "NODE_OPTIONS",
  ]) {
    info[v] = process.env[v] ?? "<unset>";
  }
  return `# attn-bench ${Object.entries(info)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ")}`;
}

/** --threads: stored, and handed to a backend that can take it (the native one, later). */
function applyThreads(n: number): void {
  const b = getBackend() as unknown as { setNumThreads?: (n: number) => void };
  if (typeof b.setNumThreads === "function") b.setNumThreads(n);
}

function summaryLine(r: BenchResult, x: BenchExtra): string {
  return (
    `# ${r.config}: backend=${getBackend().name} steps=${x.steps} warmup=${x.warmup} ` +
    `step_ms median=${x.step_ms_median} min=${x.step_ms_min} max=${x.step_ms_max} ` +
    `timed_s=${x.timed_s} cpu_used_cores=${x.self_cores} other_procs_cores=${x.other_load_cores} ` +
    `last_loss=${x.last_loss} engine_live_mb=${x.engine_live_mb} engine_peak_mb=${x.engine_peak_mb} step_ms_all=${x.step_ms.join(",")}`
  );
}

function printTable(rows: { result: BenchResult; extra: BenchExtra }[]): void {
  const lines = [
    `${"config".padEnd(26)} ${"metric".padEnd(20)} ${"median".padStart(10)} ${"min".padStart(10)} ` +
      `${"max".padStart(10)} ${"unit".padEnd(9)} ${"step_ms".padStart(9)} ${"steps".padStart(5)} ` +
      `${"peak_rss_mb".padStart(11)}`,
  ];
  for (const { result: r, extra: x } of rows) {
    lines.push(
      `${r.config.padEnd(26)} ${r.metric.padEnd(20)} ${r.median.toFixed(1).padStart(10)} ` +
        `${r.min.toFixed(1).padStart(10)} ${r.max.toFixed(1).padStart(10)} ${r.unit.padEnd(9)} ` +
        `${x.step_ms_median.toFixed(1).padStart(9)} ${String(x.steps).padStart(5)} ` +
        `${r.peak_rss_mb.toFixed(1).padStart(11)}`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

interface BenchOpts {
  config: string;
  steps?: number;
  warmup?: number;
  json?: boolean;
  profile?: boolean;
  threads: number;
  child?: boolean;
}

export function runBench(opts: BenchOpts): void {
  const names = benchConfigNames();
  if (opts.config !== "all" && !names.includes(opts.config)) {
    throw new AttnError(`unknown config "${opts.config}"; choose from ${names.join(", ")} or all`);
  }
  applyThreads(opts.threads);
  if (!opts.child) process.stderr.write(`${environmentHeader(opts.threads)}\n`);
  const selected = opts.config === "all" ? names : [opts.config];

  if (opts.profile) {
    for (const name of selected) profileConfig(name, opts.steps ?? 3, opts.warmup);
    return;
  }

  const t0 = performance.now();
  const rows: { result: BenchResult; extra: BenchExtra }[] = [];
  if (opts.config === "all") {
    // One child process per workload: a fresh heap and a per-workload peak RSS.
    for (const name of selected) {
      const args = [
        ...process.execArgv,
        process.argv[1],
        "bench",
        "--config",
        name,
        "--json",
        "--child",
      ];
      if (opts.steps !== undefined) args.push("--steps", String(opts.steps));
      if (opts.warmup !== undefined) args.push("--warmup", String(opts.warmup));
      if (opts.threads !== DEFAULT_THREADS) args.push("--threads", String(opts.threads));
      const proc = spawnSync(process.execPath, args, {
        stdio: ["ignore", "pipe", "inherit"],
        encoding: "utf8",
        maxBuffer: 16 * 2 ** 20,
      });
      if (proc.status !== 0) {
        throw new AttnError(
          `bench: child for ${name} failed (${proc.error?.message ?? `exit code ${proc.status}, signal ${proc.signal}`})`,
        );
      }
      const last = proc.stdout.trim().split("\n").pop() ?? "";
      const parsed = JSON.parse(last) as BenchResult & { _extra: BenchExtra };
      const { _extra: extra, ...result } = parsed;
      rows.push({ result, extra });
      if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    }
  } else {
    const row = runConfig(selected[0], opts.steps, opts.warmup);
    rows.push(row);
    if (opts.child) {
      process.stdout.write(`${JSON.stringify({ ...row.result, _extra: row.extra })}\n`);
      return;
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(row.result)}\n`);
  }
  for (const { result, extra } of rows) process.stderr.write(`${summaryLine(result, extra)}\n`);
  if (!opts.json) printTable(rows);
  process.stderr.write(`# total wall time ${((performance.now() - t0) / 1000).toFixed(1)}s\n`);
}

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description(
      "run the shared benchmark workloads (../shared/bench/README.md), as the PyTorch peer does",
    )
    .option("--config <name>", `one of ${benchConfigNames().join(", ")}, or all`, "all")
    .option("--steps <n>", "timed steps per workload (default: per workload)", intFlag("steps", 1))
    .option(
      "--warmup <n>",
      "untimed warm-up steps per workload (default: per workload)",
      intFlag("warmup", 0),
    )
    .option("--json", "one JSON object per workload and line on stdout")
    .option("--profile", "instead of timing, print where a few steps spend their time (stderr)")
    .option(
      "--threads <n>",
      `compute threads, ${DEFAULT_THREADS} for comparisons (used by backends that can set them)`,
      intFlag("threads", 1),
      DEFAULT_THREADS,
    )
    .option(
      "--checkpoint <dir>",
      "instead: time decoding a corpus (greedy, beam 4) with this trained translation checkpoint",
    )
    .option(
      "--corpus <file.tsv>",
      "the corpus for --checkpoint (ref, es, en columns)",
      "../shared/data/bible-es-en/dev.tsv",
    )
    .option("--sentences <n>", "first N sentences of --corpus", intFlag("sentences", 1), 1000)
    .option("--modes <list>", "decodings for --checkpoint, comma-separated", "greedy,beam4")
    .addOption(new Option("--child").hideHelp())
    .action(
      (
        opts: BenchOpts & { checkpoint?: string; corpus: string; sentences: number; modes: string },
      ) => {
        if (opts.checkpoint) {
          applyThreads(opts.threads);
          process.stderr.write(`${environmentHeader(opts.threads)}\n`);
          for (const r of runCorpusBench({
            checkpoint: opts.checkpoint,
            data: opts.corpus,
            sentences: opts.sentences,
            modes: opts.modes.split(","),
          }))
            process.stdout.write(`${JSON.stringify(r)}\n`);
          return;
        }
        runBench(opts);
      },
    );
}
