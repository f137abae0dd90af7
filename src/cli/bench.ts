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
import type { Backend } from "../backend/backend.js";
import { AttnError } from "../errors.js";
import { argmax } from "../generate/select.js";
import {
  GPT,
  freeDecodingCaches,
  freeGPTCaches,
  type ModelConfig,
  Transformer,
  buildModel,
  presetConfig,
} from "../models/index.js";
import {
  Mulberry32,
  type Tensor,
  fromArray,
  getBackend,
  manualSeed,
  memory,
  noGrad,
  setBackend,
  tidy,
} from "../tensor/index.js";
import { Adam } from "../train/optim.js";
import { packageVersion } from "../version.js";
import { runCorpusBench } from "./bench-corpus.js";
import { intFlag } from "./options.js";

// ---------------------------------------------------------------------------
// Workload definitions (peer_pytorch.py: MODELS, CONFIGS)
// ---------------------------------------------------------------------------

export const PAD = 0;
export const BOS = 1;
export const EOS = 2;
/** Random content tokens are in [FIRST_TOKEN, vocab). */
export const FIRST_TOKEN = 3;
/** Seed of the data stream, fresh at the start of every workload. */
export const DATA_SEED = 12345;
/** Seed of the weights and of the engine RNG (dropout). */
export const INIT_SEED = 0;
export const DEFAULT_THREADS = 2;

export type BenchMetric = "target_tokens_per_s" | "tokens_per_s" | "new_tokens_per_s";

interface Common {
  model: "s2s-small" | "s2s-base" | "gpt-small";
  warmup: number;
  steps: number;
  metric: BenchMetric;
}

export type BenchConfig =
  | (Common & { kind: "s2s_train"; batch: number; minLen: number; maxLen: number; padTo: number })
  | (Common & { kind: "gpt_train"; batch: number; seq: number })
  | (Common & {
      kind: "gpt_decode";
      batch: number;
      prompt: number;
      newTokens: number;
      cache: boolean;
    })
  | (Common & { kind: "s2s_translate"; batch: number; srcLen: number; newTokens: number });

/** Exactly the peer's CONFIGS, in the peer's order. */
export const BENCH_CONFIGS: Record<string, BenchConfig> = {
  "s2s-small-train": {
    kind: "s2s_train",
    model: "s2s-small",
    batch: 64,
    minLen: 16,
    maxLen: 32,
    padTo: 32,
    warmup: 2,
    steps: 12,
    metric: "target_tokens_per_s",
  },
  "s2s-base-train": {
    kind: "s2s_train",
    model: "s2s-base",
    batch: 16,
    minLen: 16,
    maxLen: 32,
    padTo: 32,
    warmup: 2,
    steps: 10,
    metric: "target_tokens_per_s",
  },
  "gpt-small-train": {
    kind: "gpt_train",
    model: "gpt-small",
    batch: 16,
    seq: 128,
    warmup: 2,
    steps: 12,
    metric: "tokens_per_s",
  },
  "gpt-small-decode": {
    kind: "gpt_decode",
    model: "gpt-small",
    batch: 1,
    prompt: 16,
    newTokens: 112,
    cache: true,
    warmup: 2,
    steps: 30,
    metric: "new_tokens_per_s",
  },
  "gpt-small-decode-nocache": {
    kind: "gpt_decode",
    model: "gpt-small",
    batch: 1,
    prompt: 16,
    newTokens: 112,
    cache: false,
    warmup: 1,
    steps: 6,
    metric: "new_tokens_per_s",
  },
  "s2s-small-translate": {
    kind: "s2s_translate",
    model: "s2s-small",
    batch: 32,
    srcLen: 32,
    newTokens: 32,
    warmup: 2,
    steps: 20,
    metric: "target_tokens_per_s",
  },
};

export function benchConfigNames(): string[] {
  return Object.keys(BENCH_CONFIGS);
}

// ---------------------------------------------------------------------------
// Data (README "Data": one mulberry32 stream, lengths and tokens by modulo)
// ---------------------------------------------------------------------------

/** lo + u mod (hi - lo + 1). */
export function drawLength(rng: Mulberry32, lo: number, hi: number): number {
  return lo + (rng.nextU32() % (hi - lo + 1));
}

/** 3 + u mod (vocab - 3). */
export function drawToken(rng: Mulberry32, vocab: number): number {
  return FIRST_TOKEN + (rng.nextU32() % (vocab - FIRST_TOKEN));
}

/** One sequence-to-sequence batch, row-major [batch, padTo] each. */
export interface S2SBatch {
  src: Int32Array;
  decIn: Int32Array;
  labels: Int32Array;
  /** Non-PAD labels (sum of target lengths): the counted tokens of a step. */
  nTgt: number;
}

/** peer_pytorch.make_s2s_batch: per pair S, T, S source tokens, T target tokens. */
export function makeS2SBatch(
  rng: Mulberry32,
  batch: number,
  lo: number,
  hi: number,
  padTo: number,
  vocab: number,
): S2SBatch {
  const src = new Int32Array(batch * padTo); // zero = PAD
  const decIn = new Int32Array(batch * padTo);
  const labels = new Int32Array(batch * padTo);
  let nTgt = 0;
  for (let b = 0; b < batch; b++) {
    const sLen = drawLength(rng, lo, hi);
    const tLen = drawLength(rng, lo, hi);
    const row = b * padTo;
    for (let i = 0; i < sLen; i++) src[row + i] = drawToken(rng, vocab);
    const tgt: number[] = [];
    for (let i = 0; i < tLen; i++) tgt.push(drawToken(rng, vocab));
    decIn[row] = BOS;
    for (let i = 0; i < tLen - 1; i++) decIn[row + i + 1] = tgt[i];
    for (let i = 0; i < tLen; i++) labels[row + i] = tgt[i];
    nTgt += tLen;
  }
  return { src, decIn, labels, nTgt };
}

/** peer_pytorch.make_token_block: rows x cols content tokens, drawn row by row. */
export function makeTokenBlock(
  rng: Mulberry32,
  rows: number,
  cols: number,
  vocab: number,
): Int32Array {
  const out = new Int32Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = drawToken(rng, vocab);
  return out;
}

/** "Attention Is All You Need" §5.3, optimizer step n counted from 1 (warm-up steps included). */
export function noamLr(step: number, dModel: number, warmup = 4000): number {
  return dModel ** -0.5 * Math.min(step ** -0.5, step * warmup ** -1.5);
}

// ---------------------------------------------------------------------------
// Profiling helpers: phase timers and per-backend-op timers
// ---------------------------------------------------------------------------

interface Acc {
  ms: number;
  calls: number;
}

/** Wall-clock totals per named phase; a plain call when disabled. */
class PhaseTimer {
  enabled = false;
  readonly totals = new Map<string, Acc>();

  run<T>(name: string, fn: () => T): T {
    if (!this.enabled) return fn();
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      const a = this.totals.get(name) ?? { ms: 0, calls: 0 };
      a.ms += performance.now() - t0;
      a.calls++;
      this.totals.set(name, a);
    }
  }
}

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

// ---------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------

function intTensor(values: Int32Array, shape: number[]): Tensor {
  return fromArray(values, shape, "int32");
}

/** Row-wise argmax of contiguous logits [rows, 1, V] (or [rows, V]). */
function argmaxRows(logits: Tensor, rows: number, out: Int32Array): void {
  const V = logits.shape[logits.rank - 1];
  const data = logits.isContiguous() ? logits.data : logits.values();
  const base = logits.isContiguous() ? logits.offset : 0;
  for (let r = 0; r < rows; r++) out[r] = argmax(data, base + r * V, V);
}

/**
 * The constructor builds the model, the optimizer and all batches (untimed);
 * step(i) is one timed unit of work and returns its counted tokens.
 */
export class Workload {
  readonly phases = new PhaseTimer();
  lastLoss: number | null = null;
  lastOutput: Int32Array | null = null;
  readonly step: (i: number) => number;

  constructor(
    readonly name: string,
    readonly cfg: BenchConfig,
    nSteps: number,
    /** Changes to the model preset, for quick tests only; the benchmark uses none. */
    modelOverrides: Partial<ModelConfig> = {},
  ) {
    manualSeed(INIT_SEED);
    const modelCfg = presetConfig(cfg.model, { ...modelOverrides, seed: INIT_SEED });
    const model = buildModel(modelCfg);
    const V = modelCfg.vocabSize;
    const rng = new Mulberry32(DATA_SEED);
    const ph = this.phases;
    switch (cfg.kind) {
      case "s2s_train": {
        if (!(model instanceof Transformer)) throw new AttnError(`${name}: expected a Transformer`);
        const { batch: B, padTo: T } = cfg;
        const batches = Array.from({ length: nSteps }, () => {
          const b = makeS2SBatch(rng, B, cfg.minLen, cfg.maxLen, T, V);
          return {
            src: intTensor(b.src, [B, T]),
            decIn: intTensor(b.decIn, [B, T]),
            labels: intTensor(b.labels, [B, T]),
            nTgt: b.nTgt,
          };
        });
        model.train();
        const opt = new Adam(model.parameters(), {
          lr: 0,
          beta1: 0.9,
          beta2: 0.98,
          eps: 1e-9,
          weightDecay: 0,
        });
        const dModel = modelCfg.dModel;
        let optStep = 0;
        this.step = (i) => {
          const { src, decIn, labels, nTgt } = batches[i];
          optStep++;
          opt.lr = noamLr(optStep, dModel);
          this.lastLoss = tidy(() => {
            ph.run("zero_grad", () => opt.zeroGrad());
            // masks, forward, logits for all B x T positions, label-smoothed loss
            const loss = ph.run("forward+loss", () => model.loss(src, decIn, labels, 0.1).loss);
            ph.run("backward", () => loss.backward());
            ph.run("optimizer", () => opt.step());
            return ph.run("read_loss", () => loss.item());
          });
          return nTgt;
        };
        break;
      }
      case "gpt_train": {
        if (!(model instanceof GPT)) throw new AttnError(`${name}: expected a GPT`);
        const { batch: B, seq: T } = cfg;
        const batches = Array.from({ length: nSteps }, () => {
          const block = makeTokenBlock(rng, B, T + 1, V);
          // x = block[:, :-1], y = block[:, 1:], as contiguous int32 tensors
          const x = new Int32Array(B * T);
          const y = new Int32Array(B * T);
          for (let b = 0; b < B; b++) {
            x.set(block.subarray(b * (T + 1), b * (T + 1) + T), b * T);
            y.set(block.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
          }
          return { x: intTensor(x, [B, T]), y: intTensor(y, [B, T]) };
        });
        model.train();
        const opt = new Adam(model.parameters(), {
          lr: 3e-4,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0.01, // AdamW, on all parameters
        });
        this.step = (i) => {
          const { x, y } = batches[i];
          this.lastLoss = tidy(() => {
            ph.run("zero_grad", () => opt.zeroGrad());
            const loss = ph.run("forward+loss", () => model.loss(x, y).loss);
            ph.run("backward", () => loss.backward());
            ph.run("optimizer", () => opt.step());
            return ph.run("read_loss", () => loss.item());
          });
          return B * T;
        };
        break;
      }
      case "gpt_decode": {
        if (!(model instanceof GPT)) throw new AttnError(`${name}: expected a GPT`);
        const { batch: B, prompt: P, newTokens: N } = cfg;
        if (B !== 1) throw new AttnError(`${name}: batch must be 1`);
        const promptIds = makeTokenBlock(rng, B, P, V);
        const promptT = intTensor(promptIds, [B, P]);
        model.eval();
        const seq = new Int32Array(P + N);
        const next = new Int32Array(1);
        this.step = () =>
          noGrad(() => {
            seq.set(promptIds);
            let cur = P;
            if (cfg.cache) {
              const state = model.startDecoding();
              try {
                tidy(() => {
                  const logits = ph.run("prefill", () =>
                    model.forward(promptT, { state, lastOnly: true }),
                  );
                  ph.run("argmax", () => argmaxRows(logits, 1, next));
                });
                seq[cur++] = next[0];
                while (cur < P + N) {
                  tidy(() => {
                    const logits = ph.run("decode_token", () =>
                      model.forward(intTensor(seq.subarray(cur - 1, cur), [1, 1]), {
                        state,
                        lastOnly: true,
                      }),
                    );
                    ph.run("argmax", () => argmaxRows(logits, 1, next));
                  });
                  seq[cur++] = next[0];
                }
              } finally {
                freeGPTCaches(state);
              }
            } else {
              while (cur < P + N) {
                tidy(() => {
                  const logits = ph.run(cur === P ? "prefill" : "full_forward", () =>
                    model.forward(intTensor(seq.slice(0, cur), [1, cur]), { lastOnly: true }),
                  );
                  ph.run("argmax", () => argmaxRows(logits, 1, next));
                });
                seq[cur++] = next[0];
              }
            }
            this.lastOutput = seq.slice(P);
            return B * N;
          });
        break;
      }
      case "s2s_translate": {
        if (!(model instanceof Transformer)) throw new AttnError(`${name}: expected a Transformer`);
        const { batch: B, srcLen: S, newTokens: N } = cfg;
        const src = intTensor(makeTokenBlock(rng, B, S, V), [B, S]);
        model.eval();
        const tok = new Int32Array(B);
        const out = new Int32Array(B * N);
        this.step = () =>
          noGrad(() =>
            tidy(() => {
              // source padding mask + encoder; cross-attention K/V are computed once,
              // into the model's per-layer cache, on the first decodeStep.
              const state = ph.run("encode", () => model.startDecoding(src));
              try {
                tok.fill(BOS);
                for (let t = 0; t < N; t++) {
                  tidy(() => {
                    const logits = ph.run(t === 0 ? "decode_step0(+cross_kv)" : "decode_step", () =>
                      model.decodeStep(state, intTensor(tok, [B, 1])),
                    );
                    ph.run("argmax", () => argmaxRows(logits, B, tok));
                  });
                  for (let b = 0; b < B; b++) out[b * N + t] = tok[b];
                }
              } finally {
                freeDecodingCaches(state);
              }
              this.lastOutput = out;
              return B * N;
            }),
          );
        break;
      }
    }
  }
}

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
