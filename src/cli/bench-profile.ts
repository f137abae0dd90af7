/**
 * Profiles of where time goes: a backend proxy that times every kernel call
 * and counts GEMM FLOPs, phase timers, and their report (`attn bench
 * --profile`, `attn train --profile`).
 */
import { performance } from "node:perf_hooks";
import {
  type Backend,
  getBackend,
  type MatmulArgs,
  setBackend,
  type UnaryGradArgs,
} from "../index.js";
import { BENCH_CONFIGS } from "./bench-configs.js";
import { type Acc, PhaseTimer, Workload } from "./bench-workloads.js";

/**
 * A backend that forwards to `inner` and times every kernel call (self time of
 * the outermost call; keys like "matmul", "binary:add"). Also counts matmul FLOPs.
 */
class TimedBackend {
  readonly stats = new Map<string, Acc>();
  gemmFlop = 0;
  readonly proxy: Backend;

  constructor(readonly inner: Backend) {
    const wrappers = new Map<PropertyKey, unknown>();
    let depth = 0;
    this.proxy = new Proxy(inner, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== "function") return v;
        let w = wrappers.get(prop);
        if (!w) {
          const fn = v as (...args: unknown[]) => unknown;
          w = (...args: unknown[]) => {
            if (depth > 0) return fn.apply(target, args);
            depth++;
            const t0 = performance.now();
            try {
              return fn.apply(target, args);
            } finally {
              const dt = performance.now() - t0;
              depth--;
              // The op names the key: a string first argument (unary, binary, reduce) or args.op (unaryGrad).
              const op =
                prop === "unaryGrad" ? (args[0] as UnaryGradArgs).op : (args[0] as unknown);
              const key = typeof op === "string" ? `${String(prop)}:${op}` : String(prop);
              const a = this.stats.get(key) ?? { ms: 0, calls: 0 };
              a.ms += dt;
              a.calls++;
              this.stats.set(key, a);
              if (prop === "matmul") {
                const m = args[0] as MatmulArgs;
                this.gemmFlop += 2 * m.M * m.N * m.K * m.a.offsets.length;
              }
            }
          };
          wrappers.set(prop, w);
        }
        return w;
      },
    });
  }
}

/**
 * Times a stretch of work: every kernel call through a backend proxy (self
 * time, GEMM FLOPs) and named phases (wall time, kernels included). `attn
 * bench --profile` and `attn train --profile` both use it.
 */
export class Profiler {
  private timed: TimedBackend | null = null;
  private inner: Backend | null = null;
  private t0 = 0;
  private wallMs = 0;

  constructor(readonly phases = new PhaseTimer()) {}

  /** Starts timing: from now on kernels go through the timing proxy and phases are timed. */
  start(): void {
    this.inner = getBackend();
    this.timed = new TimedBackend(this.inner);
    setBackend(this.timed.proxy);
    this.phases.enabled = true;
    this.t0 = performance.now();
  }

  /** Stops timing and puts the backend back. */
  stop(): void {
    if (!this.inner) return;
    this.wallMs += performance.now() - this.t0;
    this.phases.enabled = false;
    setBackend(this.inner);
  }

  /** Runs fn as phase `name` (the trainStep / decode phase hook). */
  readonly phase = <T>(name: string, fn: () => T): T => this.phases.run(name, fn);

  /** Prints the table of phases and kernels per unit (step) to stderr; `plainSeconds`: the same work unprofiled. */
  report(title: string, units: number, plainSeconds?: number): void {
    const timed = this.timed;
    if (!timed || !this.inner) return;
    const wall = this.wallMs / 1000;
    const plain = plainSeconds ?? wall;
    const err = (s: string) => process.stderr.write(`${s}\n`);
    const pct = (ms: number) => ((100 * ms) / 1000 / wall).toFixed(1).padStart(5);
    const perUnit = (ms: number) => (ms / units).toFixed(2).padStart(10);
    let kernelMs = 0;
    let nCalls = 0;
    for (const a of timed.stats.values()) {
      kernelMs += a.ms;
      nCalls += a.calls;
    }
    const gemmMs = timed.stats.get("matmul")?.ms ?? 0;
    err(
      `== profile ${title}: backend ${this.inner.name}, ${units} steps, ` +
        (plainSeconds !== undefined ? `unprofiled ${plain.toFixed(3)}s, ` : "") +
        `profiled wall ${wall.toFixed(3)}s, kernel time ${(kernelMs / 1000).toFixed(3)}s, ` +
        `${(nCalls / units).toFixed(0)} kernel calls/step`,
    );
    err(
      `   GEMM (matmul) time ${(gemmMs / 1000).toFixed(3)}s = ${pct(gemmMs).trim()}% of profiled wall`,
    );
    if (timed.gemmFlop > 0) {
      const gf = timed.gemmFlop / 1e9;
      err(
        `   GEMM work ${(gf / units).toFixed(1)} GFLOP/step; ${(gf / plain).toFixed(1)} GFLOP/s over ` +
          `${plainSeconds !== undefined ? "unprofiled" : "profiled"} wall, ` +
          `${(gf / Math.max(gemmMs / 1000, 1e-9)).toFixed(1)} GFLOP/s inside matmul`,
      );
    }
    const row = (k: string, a: Acc) =>
      err(
        `   ${k.padEnd(32)} ${(a.calls / units).toFixed(0).padStart(8)} calls/step ${perUnit(a.ms)} ms/step (${pct(a.ms)}%)`,
      );
    err("   phases (wall, nested kernels included):");
    let phaseMs = 0;
    for (const [k, a] of [...this.phases.totals].sort((x, y) => y[1].ms - x[1].ms)) {
      phaseMs += a.ms;
      row(k, a);
    }
    const outsidePhases = Math.max(0, this.wallMs - phaseMs);
    err(
      `   ${"(outside phases)".padEnd(32)} ${"".padStart(8)}            ${perUnit(outsidePhases)} ms/step (${pct(outsidePhases)}%)`,
    );
    err("   kernels (self time of backend calls):");
    for (const [k, a] of [...timed.stats].sort((x, y) => y[1].ms - x[1].ms).slice(0, 15)) row(k, a);
    const outside = Math.max(0, this.wallMs - kernelMs);
    err(
      `   ${"(JS outside kernels: graph, autograd, views)".padEnd(44)}${perUnit(outside)} ms/step (${pct(outside)}%)`,
    );
  }
}

/** --profile: warm up, time nProf steps plainly, then the same steps again with phase and kernel timers. */
export function profileConfig(name: string, nProf = 3, warmup?: number): void {
  const cfg = BENCH_CONFIGS[name];
  const nWarm = warmup ?? cfg.warmup;
  const wl = new Workload(name, cfg, nWarm + nProf);
  const profiler = new Profiler(wl.phases);
  for (let i = 0; i < nWarm; i++) wl.step(i);
  const t0 = performance.now();
  for (let i = nWarm; i < nWarm + nProf; i++) wl.step(i);
  const plain = (performance.now() - t0) / 1000;
  profiler.start();
  try {
    for (let i = nWarm; i < nWarm + nProf; i++) wl.step(i);
  } finally {
    profiler.stop();
  }
  profiler.report(name, nProf, plain);
}
