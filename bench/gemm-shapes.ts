/**
 * The native GEMM (attn_native gemmBatched) on the exact products the benchmark
 * workloads make (../shared/bench/README.md): shapes, layouts, strides and
 * batch offsets as src/tensor/ops/matmul.ts passes them. Prints microseconds
 * per call and GFLOP/s, the median of interleaved runs per thread count.
 *
 *   npx tsx bench/gemm-shapes.ts [--runs 7] [--threads 1,2] [--filter decode]
 *                                [--ms 20] [--kernel auto|avx512|avx2|portable] [--cold]
 *   npx tsx bench/gemm-shapes.ts --trace gpt-small-decode [--steps 1]
 *
 * --cold: rotate over enough copies of every operand (>= 96 MB in all) that each
 *   call reads them from DRAM, not cache (weights streamed while decoding: the
 *   real workloads lie between hot and cold, nearer cold on a busy machine).
 * --trace NAME: run steps of a bench workload and list every distinct product
 *   it makes (calls per step, µs per call, GFLOP/s), to check the list below.
 */
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import {
  loadNativeAddon,
  nativeAddonLoadError,
  type NativeAddon,
} from "../src/backend/native/addon.js";
import { arg, median } from "./util.js";

type Layout = "NN" | "NT" | "TN";

interface Shape {
  group: string;
  M: number;
  N: number;
  K: number;
  layout: Layout;
  batch?: number;
  /**
   * Attention: batch entries are head slices of [B, T, heads * d_k] (q, k, v as
   * splitHeads' views, row stride d_model); aHeads / bHeads set it per operand
   * (the other one is then a dense per-entry matrix, e.g. the softmax weights).
   */
  heads?: number;
  aHeads?: number;
  bHeads?: number;
  /** leading dimension overrides for A and B (elements) */
  lda?: number;
  ldb?: number;
}

/** Operand as matmul.ts passes it: strides and per-entry offsets into one buffer. */
interface Operand {
  rs: number;
  cs: number;
  offsets: Int32Array;
  size: number;
}

/**
 * A stored matrix of `rows` x `cols` (row stride ld) per batch entry. With
 * heads > 1 the entries are head slices of [B, rows, heads*cols] (entry e = b*heads + h
 * starts at b*rows*ld + h*cols), like splitHeads' views; else entries follow each other.
 */
function stored(rows: number, cols: number, batch: number, heads: number, ld?: number) {
  const lead = ld ?? (heads > 1 ? heads * cols : cols);
  const offsets = new Int32Array(batch);
  for (let e = 0; e < batch; e++) {
    offsets[e] =
      heads > 1 ? Math.floor(e / heads) * rows * lead + (e % heads) * cols : e * rows * lead;
  }
  const size = offsets[batch - 1] + (rows - 1) * lead + cols;
  return { ld: lead, offsets, size };
}

function operands(s: Shape): { a: Operand; b: Operand } {
  const batch = s.batch ?? 1;
  const ha = s.aHeads ?? s.heads ?? 1;
  const hb = s.bHeads ?? s.heads ?? 1;
  // A is M x K: stored [M, K] (N) or [K, M] (T, a transposed view)
  const aT = s.layout === "TN";
  const sa = aT ? stored(s.K, s.M, batch, ha, s.lda) : stored(s.M, s.K, batch, ha, s.lda);
  // B is K x N: stored [K, N] (N) or [N, K] (T, e.g. an nn.Linear weight)
  const bT = s.layout === "NT";
  const sb = bT ? stored(s.N, s.K, batch, hb, s.ldb) : stored(s.K, s.N, batch, hb, s.ldb);
  return {
    a: { rs: aT ? 1 : sa.ld, cs: aT ? sa.ld : 1, offsets: sa.offsets, size: sa.size },
    b: { rs: bT ? 1 : sb.ld, cs: bT ? sb.ld : 1, offsets: sb.offsets, size: sb.size },
  };
}

const T = 2048; // tokens per training batch (64 x 32 or 16 x 128)
const SHAPES: Shape[] = [
  // gpt-small-decode: one token, x W^T with nn.Linear weights [out, in]
  { group: "decode", M: 1, N: 256, K: 256, layout: "NT" },
  { group: "decode", M: 1, N: 1024, K: 256, layout: "NT" },
  { group: "decode", M: 1, N: 256, K: 1024, layout: "NT" },
  { group: "decode", M: 1, N: 8000, K: 256, layout: "NT" },
  // decode attention over the cache (t = 64, 128): q [1,4,1,64] view, K/V cache [1,4,t,64]
  { group: "decode-attn", M: 1, N: 64, K: 64, layout: "NT", batch: 4, lda: 256 },
  { group: "decode-attn", M: 1, N: 128, K: 64, layout: "NT", batch: 4, lda: 256 },
  { group: "decode-attn", M: 1, N: 64, K: 128, layout: "NN", batch: 4 },
  // gpt-small prefill (16 prompt tokens)
  { group: "prefill", M: 16, N: 256, K: 256, layout: "NT" },
  { group: "prefill", M: 16, N: 1024, K: 256, layout: "NT" },
  // s2s-small-translate: 32 sentences, one token each
  { group: "translate", M: 32, N: 256, K: 256, layout: "NT" },
  { group: "translate", M: 32, N: 1024, K: 256, layout: "NT" },
  { group: "translate", M: 32, N: 256, K: 1024, layout: "NT" },
  { group: "translate", M: 32, N: 8000, K: 256, layout: "NT" },
  // cross-attention over the 32 encoder positions (memory K/V are head views), then
  // self-attention over the cache at t = 16 (K/V cache [32, 4, t, 64])
  { group: "translate-attn", M: 1, N: 32, K: 64, layout: "NT", batch: 128, heads: 4 },
  { group: "translate-attn", M: 1, N: 64, K: 32, layout: "NN", batch: 128, heads: 4 },
  { group: "translate-attn", M: 1, N: 16, K: 64, layout: "NT", batch: 128, ldb: 64, lda: 256 },
  { group: "translate-attn", M: 1, N: 64, K: 16, layout: "NN", batch: 128, ldb: 64 },
  // s2s-small-train / gpt-small-train projections (forward NT, dX NN, dW TN)
  { group: "train", M: T, N: 256, K: 256, layout: "NT" },
  { group: "train", M: T, N: 256, K: 256, layout: "NN" },
  { group: "train", M: 256, N: 256, K: T, layout: "TN" },
  { group: "train", M: T, N: 1024, K: 256, layout: "NT" },
  { group: "train", M: T, N: 256, K: 1024, layout: "NT" },
  { group: "train", M: T, N: 1024, K: 256, layout: "NN" },
  { group: "train", M: T, N: 256, K: 1024, layout: "NN" },
  { group: "train", M: 1024, N: 256, K: T, layout: "TN" },
  { group: "train", M: 256, N: 1024, K: T, layout: "TN" },
  // tied logits and their backward (dH = dLogits E, dE^T = H^T dLogits)
  { group: "logits", M: T, N: 8000, K: 256, layout: "NT" },
  { group: "logits", M: T, N: 256, K: 8000, layout: "NN" },
  { group: "logits", M: 256, N: 8000, K: T, layout: "TN" },
  // s2s-small-train attention: 64 x 4 heads of T=32, d_k=64 (q, k, v are head views, ld 256)
  { group: "s2s-attn", M: 32, N: 32, K: 64, layout: "NT", batch: 256, heads: 4 },
  { group: "s2s-attn", M: 32, N: 64, K: 32, layout: "NN", batch: 256, bHeads: 4, aHeads: 1 },
  { group: "s2s-attn", M: 64, N: 32, K: 32, layout: "TN", batch: 256, aHeads: 4, bHeads: 1 },
  { group: "s2s-attn", M: 32, N: 64, K: 32, layout: "TN", batch: 256, aHeads: 1, bHeads: 4 },
  // gpt-small-train attention: 16 x 4 heads of T=128
  { group: "gpt-attn", M: 128, N: 128, K: 64, layout: "NT", batch: 64, heads: 4 },
  { group: "gpt-attn", M: 128, N: 64, K: 128, layout: "NN", batch: 64, bHeads: 4, aHeads: 1 },
  { group: "gpt-attn", M: 64, N: 128, K: 128, layout: "TN", batch: 64, aHeads: 4, bHeads: 1 },
  { group: "gpt-attn", M: 128, N: 64, K: 128, layout: "TN", batch: 64, aHeads: 1, bHeads: 4 },
  // s2s-base-train (d 512, ff 2048, 512 tokens, 8 heads)
  { group: "base", M: 512, N: 512, K: 512, layout: "NT" },
  { group: "base", M: 512, N: 512, K: 512, layout: "TN" },
  { group: "base", M: 512, N: 2048, K: 512, layout: "NT" },
  { group: "base", M: 2048, N: 512, K: 512, layout: "TN" },
  { group: "base", M: 512, N: 8000, K: 512, layout: "NT" },
  { group: "base-attn", M: 32, N: 32, K: 64, layout: "NT", batch: 128, heads: 8 },
  { group: "base-attn", M: 32, N: 64, K: 32, layout: "NN", batch: 128, bHeads: 8, aHeads: 1 },
];

function describe(s: Shape): string {
  const b = s.batch ?? 1;
  return `${s.group} ${b > 1 ? `${b}x` : ""}${s.M}x${s.N}x${s.K} ${s.layout}`;
}

function fill(x: Float32Array, seed: number): void {
  for (let i = 0; i < x.length; i++) x[i] = (((i + seed) * 7919) % 1000) / 1000 - 0.5;
}

/** A function making one call; rotates over copies of the operands when cold. */
function setup(native: NativeAddon, s: Shape, cold: boolean): () => void {
  const { a, b } = operands(s);
  const batch = s.batch ?? 1;
  const cOffsets = Int32Array.from({ length: batch }, (_, e) => e * s.M * s.N);
  const bytes = 4 * (a.size + b.size + batch * s.M * s.N);
  const copies = cold ? Math.max(2, Math.ceil((96 * 2 ** 20) / bytes)) : 1;
  const bufs = Array.from({ length: copies }, (_, i) => {
    const A = new Float32Array(a.size);
    const B = new Float32Array(b.size);
    fill(A, i);
    fill(B, 3 * i + 1);
    return { A, B, C: new Float32Array(batch * s.M * s.N) };
  });
  let next = 0;
  return () => {
    const x = bufs[next];
    next = next + 1 === copies ? 0 : next + 1;
    native.gemmBatched(
      s.M,
      s.N,
      s.K,
      1,
      x.A,
      a.offsets,
      a.rs,
      a.cs,
      x.B,
      b.offsets,
      b.rs,
      b.cs,
      0,
      x.C,
      cOffsets,
      s.N,
    );
  };
}

function secondsPerCall(fn: () => void, calls: number): number {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) fn();
  return (performance.now() - t0) / 1000 / calls;
}

function benchShapes(native: NativeAddon): void {
  const runs = Number(arg("runs", "7"));
  const threadCounts = arg("threads", "1,2").split(",").map(Number);
  const filter = arg("filter", "");
  const targetMs = Number(arg("ms", "20"));
  const cold = process.argv.includes("--cold");
  const kernel = native.selectKernel(arg("kernel", "auto"));
  console.log(
    `attn_native gemmBatched, kernel ${kernel}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ` +
      `${cold ? "cold (operands from DRAM)" : "hot"}, median of ${runs} runs of ~${targetMs} ms`,
  );
  const head = ["shape".padEnd(34), ...threadCounts.map((t) => `${t}thr us  GFLOP/s`.padStart(20))];
  console.log(head.join(" "));
  for (const s of SHAPES) {
    const name = describe(s);
    if (filter && !filter.split(",").some((f) => name.includes(f))) continue;
    const fn = setup(native, s, cold);
    const flop = 2 * s.M * s.N * s.K * (s.batch ?? 1);
    native.setNumThreads(threadCounts[0]);
    fn();
    let calls = 1;
    while (secondsPerCall(fn, calls) * calls * 1000 < targetMs / 4) calls *= 2;
    calls *= 4;
    const samples = new Map<number, number[]>(threadCounts.map((t) => [t, []]));
    for (let r = 0; r < runs; r++) {
      for (const t of threadCounts) {
        native.setNumThreads(t);
        fn(); // starts the pool
        samples.get(t)!.push(secondsPerCall(fn, calls));
      }
    }
    const cells = threadCounts.map((t) => {
      const sec = median(samples.get(t)!);
      return `${(sec * 1e6).toFixed(1).padStart(10)} ${(flop / sec / 1e9).toFixed(1).padStart(8)}`;
    });
    console.log([name.padEnd(34), ...cells].join(" "));
  }
  native.selectKernel("auto");
}

/** Wraps the native backend's addon to record each distinct product of a workload. */
async function trace(native: NativeAddon, config: string): Promise<void> {
  const { useBackend } = await import("../src/backend/select.js");
  const { BENCH_CONFIGS, Workload } = await import("../src/cli/bench.js");
  const steps = Number(arg("steps", "1"));
  const backend = useBackend("native") as unknown as { addon: NativeAddon };
  native.setNumThreads(Number(arg("threads", "2")));
  const stats = new Map<string, { calls: number; ms: number; flop: number }>();
  let on = false;
  const gemmBatched = (...x: Parameters<NativeAddon["gemmBatched"]>) => {
    const t0 = performance.now();
    native.gemmBatched(...x);
    const ms = performance.now() - t0;
    if (!on) return;
    const [M, N, K, , , ao, ars, acs, , , brs, bcs, , , , ldc] = x;
    const key = `${M}x${N}x${K} b${ao.length} A(${ars},${acs}) B(${brs},${bcs}) ldc${ldc}`;
    const s = stats.get(key) ?? { calls: 0, ms: 0, flop: 0 };
    s.calls++;
    s.ms += ms;
    s.flop += 2 * M * N * K * ao.length;
    stats.set(key, s);
  };
  // every other addon function (the backend may use more than NativeAddon lists) passes through
  const wrapped = new Proxy({} as NativeAddon, {
    get: (_, p) =>
      p === "gemmBatched"
        ? gemmBatched
        : (native as unknown as Record<string | symbol, unknown>)[p],
  });
  backend.addon = wrapped;
  const wl = new Workload(config, BENCH_CONFIGS[config], 1 + steps);
  wl.step(0);
  on = true;
  for (let i = 1; i <= steps; i++) wl.step(i);
  let ms = 0;
  let flop = 0;
  let calls = 0;
  for (const [key, s] of [...stats].sort((x, y) => y[1].ms - x[1].ms)) {
    ms += s.ms;
    flop += s.flop;
    calls += s.calls;
    console.log(
      `${key.padEnd(50)} ${(s.calls / steps).toFixed(0).padStart(6)} calls/step ` +
        `${((1000 * s.ms) / s.calls).toFixed(1).padStart(9)} us/call ${(s.ms / steps).toFixed(2).padStart(8)} ms/step ` +
        `${(s.flop / s.ms / 1e6).toFixed(1).padStart(7)} GFLOP/s`,
    );
  }
  console.log(
    `total: ${(calls / steps).toFixed(0)} calls/step, ${(ms / steps).toFixed(1)} ms/step, ` +
      `${((1000 * ms) / calls).toFixed(1)} us/call, ${(flop / ms / 1e6).toFixed(1)} GFLOP/s`,
  );
}

const maybe = loadNativeAddon();
if (maybe === null) {
  console.error(`attn_native is not available: ${nativeAddonLoadError()}`);
  console.error("Build it with `npm run build:native` from the package root.");
  process.exit(1);
}
const traceConfig = arg("trace", "");
if (traceConfig) await trace(maybe, traceConfig);
else benchShapes(maybe);
