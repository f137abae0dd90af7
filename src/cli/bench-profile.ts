/**
 * `attn bench --profile`: a backend proxy that times every kernel call and
 * counts GEMM FLOPs, and the report of phases and kernels.
 */
import { performance } from "node:perf_hooks";
import { type Backend, getBackend, setBackend } from "../index.js";
import { BENCH_CONFIGS } from "./bench-configs.js";
import { type Acc, Workload } from "./bench-workloads.js";

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
              const key = typeof args[0] === "string" ? `${String(prop)}:${args[0]}` : String(prop);
              const a = this.stats.get(key) ?? { ms: 0, calls: 0 };
              a.ms += dt;
              a.calls++;
              this.stats.set(key, a);
              if (prop === "matmul") {
                const [M, N, K, a0] = args as [number, number, number, { offsets: Int32Array }];
                this.gemmFlop += 2 * M * N * K * a0.offsets.length;
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

/** --profile: warm up, time nProf steps plainly, then the same steps again with phase and kernel timers. */
export function profileConfig(name: string, nProf = 3, warmup?: number): void {
  const cfg = BENCH_CONFIGS[name];
  const nWarm = warmup ?? cfg.warmup;
  const wl = new Workload(name, cfg, nWarm + nProf);
  for (let i = 0; i < nWarm; i++) wl.step(i);
  let t0 = performance.now();
  for (let i = nWarm; i < nWarm + nProf; i++) wl.step(i);
  const plain = (performance.now() - t0) / 1000;

  const inner = getBackend();
  const timed = new TimedBackend(inner);
  setBackend(timed.proxy);
  wl.phases.enabled = true;
  let wall: number;
  try {
    t0 = performance.now();
    for (let i = nWarm; i < nWarm + nProf; i++) wl.step(i);
    wall = (performance.now() - t0) / 1000;
  } finally {
    wl.phases.enabled = false;
    setBackend(inner);
  }
  const err = (s: string) => process.stderr.write(`${s}\n`);
  const pct = (ms: number) => ((100 * ms) / 1000 / wall).toFixed(1).padStart(5);
  const perStep = (ms: number) => (ms / nProf).toFixed(2).padStart(10);
  let kernelMs = 0;
  let nCalls = 0;
  for (const a of timed.stats.values()) {
    kernelMs += a.ms;
    nCalls += a.calls;
  }
  const gemmMs = timed.stats.get("matmul")?.ms ?? 0;
  err(
    `== profile ${name}: backend ${inner.name}, ${nProf} steps, unprofiled ${plain.toFixed(3)}s, ` +
      `profiled wall ${wall.toFixed(3)}s, kernel time ${(kernelMs / 1000).toFixed(3)}s, ` +
      `${(nCalls / nProf).toFixed(0)} kernel calls/step`,
  );
  err(
    `   GEMM (matmul) time ${(gemmMs / 1000).toFixed(3)}s = ${pct(gemmMs).trim()}% of profiled wall, ` +
      `${((100 * gemmMs) / 1000 / plain).toFixed(1)}% of unprofiled wall`,
  );
  if (timed.gemmFlop > 0) {
    const gf = timed.gemmFlop / 1e9;
    err(
      `   GEMM work ${(gf / nProf).toFixed(1)} GFLOP/step; ${(gf / plain).toFixed(1)} GFLOP/s over ` +
        `unprofiled wall, ${(gf / Math.max(gemmMs / 1000, 1e-9)).toFixed(1)} GFLOP/s inside matmul`,
    );
  }
  err("   phases (wall, nested kernels included):");
  let phaseMs = 0;
  for (const [k, a] of [...wl.phases.totals].sort((x, y) => y[1].ms - x[1].ms)) {
    phaseMs += a.ms;
    err(
      `   ${k.padEnd(32)} ${(a.calls / nProf).toFixed(0).padStart(8)} calls/step ${perStep(a.ms)} ms/step (${pct(a.ms)}%)`,
    );
  }
  err(
    `   ${"(outside phases)".padEnd(32)} ${"".padStart(8)}            ${perStep(Math.max(0, wall * 1000 - phaseMs))} ms/step (${pct(Math.max(0, wall * 1000 - phaseMs))}%)`,
  );
  err("   kernels (self time of backend calls):");
  const rows = [...timed.stats].sort((x, y) => y[1].ms - x[1].ms).slice(0, 15);
  for (const [k, a] of rows) {
    err(
      `   ${k.padEnd(32)} ${(a.calls / nProf).toFixed(0).padStart(8)} calls/step ${perStep(a.ms)} ms/step (${pct(a.ms)}%)`,
    );
  }
  const outside = Math.max(0, wall * 1000 - kernelMs);
  err(
    `   ${"(JS outside kernels: graph, autograd, views)".padEnd(44)}${perStep(outside)} ms/step (${pct(outside)}%)`,
  );
}
