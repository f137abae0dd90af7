/**
 * GFLOP/s of the wasm backend's GEMM (attn_kernels.wasm, SIMD128) for square
 * and transformer shapes, per thread count. Runs are interleaved across
 * thread counts; the median and the best run are reported, because the
 * machine may be shared.
 *
 *   npx tsx bench/wasm-gemm.ts [--runs 9] [--threads 1,2] [--filter square] [--ms 40]
 */
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import type { MatmulOperand } from "../src/backend/backend.js";
import { createWasmBackend } from "../src/backend/wasm/node.js";
import { arg, median } from "./util.js";

interface Shape {
  name: string;
  M: number;
  N: number;
  K: number;
  /** B given as [N, K] row-major (nn.Linear weight), i.e. op(B) = W^T */
  transB?: boolean;
  /** A given as [K, M] (weight gradients: X^T @ dY) */
  transA?: boolean;
  batch?: number;
}

const SHAPES: Shape[] = [
  { name: "square 256", M: 256, N: 256, K: 256 },
  { name: "square 512", M: 512, N: 512, K: 512 },
  { name: "square 1024", M: 1024, N: 1024, K: 1024 },
  { name: "square 1024 (B^T)", M: 1024, N: 1024, K: 1024, transB: true },
  { name: "FFN in  M=2048 K=256 N=1024", M: 2048, N: 1024, K: 256 },
  { name: "FFN in  (W^T)", M: 2048, N: 1024, K: 256, transB: true },
  { name: "dW  K=2048 (A^T)", M: 256, N: 1024, K: 2048, transA: true },
  { name: "logits M=2048 K=256 N=8000", M: 2048, N: 8000, K: 256, transB: true },
  { name: "decode M=1 K=256 N=768", M: 1, N: 768, K: 256 },
  { name: "decode (W^T)", M: 1, N: 768, K: 256, transB: true },
  { name: "decode M=4 K=512 N=2048", M: 4, N: 2048, K: 512 },
  { name: "attn scores 256x(32x32x64)", M: 32, N: 32, K: 64, transB: true, batch: 256 },
  { name: "decode attn 8x(1x512x64)", M: 1, N: 512, K: 64, transB: true, batch: 8 },
];

const backend = createWasmBackend({ threads: 1 });
const runs = Number(arg("runs", "9"));
const threadCounts = arg("threads", "1,2").split(",").map(Number);
const filter = arg("filter", "");
const targetMs = Number(arg("ms", "40"));

function setup(shape: Shape): () => void {
  const { M, N, K } = shape;
  const batch = shape.batch ?? 1;
  const A = backend.allocate("float32", batch * M * K) as Float32Array;
  const B = backend.allocate("float32", batch * K * N) as Float32Array;
  const C = backend.allocate("float32", batch * M * N) as Float32Array;
  for (let i = 0; i < A.length; i++) A[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  for (let i = 0; i < B.length; i++) B[i] = ((i * 104729) % 1000) / 1000 - 0.5;
  const offs = (n: number) => Int32Array.from({ length: batch }, (_, b) => b * n);
  const a: MatmulOperand = shape.transA
    ? { data: A, offsets: offs(M * K), rowStride: 1, colStride: M }
    : { data: A, offsets: offs(M * K), rowStride: K, colStride: 1 };
  const b: MatmulOperand = shape.transB
    ? { data: B, offsets: offs(K * N), rowStride: 1, colStride: K }
    : { data: B, offsets: offs(K * N), rowStride: N, colStride: 1 };
  const c = { data: C, offsets: offs(M * N), ldc: N };
  return () => backend.matmul({ M, N, K, a, b, c, alpha: 1, accumulate: false });
}

/** Seconds per call over `calls` calls. */
function timeCalls(fn: () => void, calls: number): number {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) fn();
  return (performance.now() - t0) / 1000 / calls;
}

backend.setNumThreads(Math.max(...threadCounts));
if (!(await backend.whenReady())) console.error("warning: not all worker threads started");

console.log(
  `wasm GEMM (SIMD128), ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ` +
    `median (best) of ${runs} runs of ~${targetMs} ms, GFLOP/s`,
);
console.log(["shape".padEnd(31), ...threadCounts.map((t) => `${t} thr`.padStart(15))].join(" "));

for (const shape of SHAPES) {
  if (filter && !shape.name.includes(filter)) continue;
  const fn = setup(shape);
  const flops = 2 * shape.M * shape.N * shape.K * (shape.batch ?? 1);
  const samples = new Map<number, number[]>(threadCounts.map((t) => [t, []]));
  backend.setNumThreads(threadCounts[0]);
  for (let i = 0; i < 3; i++) fn(); // compile tiers, touch memory
  let calls = 1;
  while (timeCalls(fn, calls) * calls * 1000 < targetMs / 4) calls *= 2;
  calls *= 4;
  for (let r = 0; r < runs; r++) {
    for (const t of threadCounts) {
      backend.setNumThreads(t);
      fn();
      samples.get(t)?.push(flops / timeCalls(fn, calls) / 1e9);
    }
  }
  const cells = threadCounts.map((t) => {
    const s = samples.get(t) ?? [];
    return `${median(s).toFixed(1)} (${Math.max(...s).toFixed(1)})`.padStart(15);
  });
  console.log([shape.name.padEnd(31), ...cells].join(" "));
}
