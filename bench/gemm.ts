/**
 * GFLOPS of the native fp32 GEMM (attn_native) for square and transformer
 * shapes, 1 and 2 threads. Runs are interleaved across thread counts and the
 * median is reported, because the machine may be shared.
 *
 *   npx tsx bench/gemm.ts [--runs 9] [--threads 1,2] [--kernel auto|avx512|avx2|portable]
 */
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import {
  loadNativeAddon,
  nativeAddonLoadError,
  type NativeAddon,
} from "../src/backend/native/addon.js";
import { arg, median } from "./util.js";

interface Shape {
  name: string;
  M: number;
  N: number;
  K: number;
  /** B given as [N, K] row-major (nn.Linear weight), i.e. op(B) = W^T */
  transB?: boolean;
  batch?: number;
}

const SHAPES: Shape[] = [
  { name: "square 256", M: 256, N: 256, K: 256 },
  { name: "square 512", M: 512, N: 512, K: 512 },
  { name: "square 1024", M: 1024, N: 1024, K: 1024 },
  { name: "FFN in  M=2048 K=256 N=1024", M: 2048, N: 1024, K: 256 },
  { name: "FFN in  (W^T)", M: 2048, N: 1024, K: 256, transB: true },
  { name: "logits M=2048 K=256 N=8000", M: 2048, N: 8000, K: 256 },
  { name: "decode M=1 K=256 N=768", M: 1, N: 768, K: 256 },
  { name: "decode (W^T)", M: 1, N: 768, K: 256, transB: true },
  { name: "decode M=1 K=768 N=3072 (9 MB)", M: 1, N: 3072, K: 768 },
  { name: "attn scores 8x(128x128x32)", M: 128, N: 128, K: 32, transB: true, batch: 8 },
  { name: "decode attn 8x(1x512x64)", M: 1, N: 512, K: 64, transB: true, batch: 8 },
];

function setup(shape: Shape): () => void {
  const { M, N, K } = shape;
  const batch = shape.batch ?? 1;
  const A = new Float32Array(batch * M * K);
  const B = new Float32Array(batch * K * N);
  const C = new Float32Array(batch * M * N);
  for (let i = 0; i < A.length; i++) A[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  for (let i = 0; i < B.length; i++) B[i] = ((i * 104729) % 1000) / 1000 - 0.5;
  const aOff = Int32Array.from({ length: batch }, (_, b) => b * M * K);
  const bOff = Int32Array.from({ length: batch }, (_, b) => b * K * N);
  const cOff = Int32Array.from({ length: batch }, (_, b) => b * M * N);
  const [brs, bcs] = shape.transB ? [1, K] : [N, 1];
  return () => native.gemmBatched(M, N, K, 1, A, aOff, K, 1, B, bOff, brs, bcs, 0, C, cOff, N);
}

/** Seconds per call, averaged over enough calls to take ~targetMs. */
function timeOnce(fn: () => void, calls: number): number {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) fn();
  return (performance.now() - t0) / 1000 / calls;
}

const maybe = loadNativeAddon();
if (maybe === null) {
  console.error(`attn_native is not available: ${nativeAddonLoadError()}`);
  console.error("Build it with `npx node-gyp rebuild` from the package root.");
  process.exit(1);
}
const native: NativeAddon = maybe;

const runs = Number(arg("runs", "9"));
const threadCounts = arg("threads", "1,2").split(",").map(Number);
const kernel = native.selectKernel(arg("kernel", "auto"));
const targetMs = 40;

console.log(
  `attn_native GEMM, kernel ${kernel}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ` +
    `median of ${runs} runs of ~${targetMs} ms, GFLOPS`,
);
const header = ["shape".padEnd(31), ...threadCounts.map((t) => `${t} thr`.padStart(9))];
console.log(header.join(" "));

for (const shape of SHAPES) {
  const fn = setup(shape);
  const flops = 2 * shape.M * shape.N * shape.K * (shape.batch ?? 1);
  const samples = new Map<number, number[]>(threadCounts.map((t) => [t, []]));
  // calibrate the number of calls per run on 1 thread
  native.setNumThreads(threadCounts[0]);
  fn();
  let calls = 1;
  while (timeOnce(fn, calls) * calls * 1000 < targetMs / 4) calls *= 2;
  calls *= 4;
  for (let r = 0; r < runs; r++) {
    for (const t of threadCounts) {
      native.setNumThreads(t);
      fn(); // warm: starts the pool, touches the buffers
      samples.get(t)!.push(flops / timeOnce(fn, calls) / 1e9);
    }
  }
  const cells = threadCounts.map((t) => median(samples.get(t)!).toFixed(1).padStart(9));
  console.log([shape.name.padEnd(31), ...cells].join(" "));
}
native.selectKernel("auto");
