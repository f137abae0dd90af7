/**
 * attn_native gemmBatched against a float64 triple loop: shapes, the four
 * transpose layouts (via strides), alpha/beta, broadcast batches, threads, and
 * argument validation. The addon must be built (`npx node-gyp rebuild`).
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Worker } from "node:worker_threads";
import {
  loadNativeAddon,
  nativeAddonLoadError,
  nativeAddonPath,
  type NativeAddon,
} from "../../src/backend/native/addon.js";
import { referenceGemm } from "../helpers/kernels.js";

const addon = loadNativeAddon();

function native(): NativeAddon {
  if (addon === null) {
    assert.fail(
      `attn_native addon could not be loaded: ${nativeAddonLoadError()}\n` +
        "Build it from the package root with `npx node-gyp rebuild` " +
        "(or `npm run build:native`), which produces build/Release/attn_native.node.",
    );
  }
  return addon;
}

/** Small deterministic generator (LCG), values in [-1, 1). */
function filler(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2147483648 - 1;
  };
}

interface Case {
  M: number;
  N: number;
  K: number;
  transA?: boolean; // A stored as K x M (so op(A) = stored^T)
  transB?: boolean; // B stored as N x K
  alpha?: number;
  beta?: number;
  batch?: number;
  /** batch entries b and b+period share the same A (resp. B) block */
  aPeriod?: number;
  bPeriod?: number;
  /** extra leading-dimension padding (exercises non-minimal strides) */
  pad?: number;
  /** multiply the unit stride too (fully general strides) */
  gap?: number;
  seed?: number;
}

interface Built {
  args: Parameters<NativeAddon["gemmBatched"]>;
  C0: Float32Array;
  expected: Float64Array;
  bound: Float64Array;
}

function build(c: Case): Built {
  const { M, N, K } = c;
  const alpha = c.alpha ?? 1;
  const beta = c.beta ?? 0;
  const batch = c.batch ?? 1;
  const pad = c.pad ?? 0;
  const gap = c.gap ?? 1;
  const aPeriod = c.aPeriod ?? batch;
  const bPeriod = c.bPeriod ?? batch;
  const rnd = filler(c.seed ?? M * 7919 + N * 131 + K);

  // A: stored (M x K) row-major or (K x M) row-major, lead dim + pad, unit stride * gap
  const aLead = (c.transA ? M : K) * gap + pad;
  const aRows = c.transA ? K : M;
  const aSize = Math.max(1, aRows * aLead);
  const aRowStride = c.transA ? gap : aLead;
  const aColStride = c.transA ? aLead : gap;
  const bLead = (c.transB ? K : N) * gap + pad;
  const bRows = c.transB ? N : K;
  const bSize = Math.max(1, bRows * bLead);
  const bRowStride = c.transB ? gap : bLead;
  const bColStride = c.transB ? bLead : gap;
  const ldc = N + pad;
  const cSize = Math.max(1, M * ldc);

  const A = new Float32Array(aSize * aPeriod + 3).map(rnd);
  const B = new Float32Array(bSize * bPeriod + 5).map(rnd);
  const C = new Float32Array(cSize * batch + 2).map(rnd);
  const aOffsets = Int32Array.from({ length: batch }, (_, b) => (b % aPeriod) * aSize + 1);
  const bOffsets = Int32Array.from({ length: batch }, (_, b) => (b % bPeriod) * bSize + 2);
  const cOffsets = Int32Array.from({ length: batch }, (_, b) => b * cSize + 1);

  const { expected, bound } = referenceGemm(
    M,
    N,
    K,
    alpha,
    A,
    aOffsets,
    aRowStride,
    aColStride,
    B,
    bOffsets,
    bRowStride,
    bColStride,
    C,
    cOffsets,
    ldc,
    beta,
  );
  const C0 = C.slice();
  return {
    args: [
      M,
      N,
      K,
      alpha,
      A,
      aOffsets,
      aRowStride,
      aColStride,
      B,
      bOffsets,
      bRowStride,
      bColStride,
      beta,
      C,
      cOffsets,
      ldc,
    ],
    C0,
    expected,
    bound,
  };
}

function describeCase(c: Case): string {
  const l = `${c.transA ? "T" : "N"}${c.transB ? "T" : "N"}`;
  return `${c.M}x${c.N}x${c.K} ${l} alpha=${c.alpha ?? 1} beta=${c.beta ?? 0} batch=${c.batch ?? 1}`;
}

function checkClose(
  got: Float32Array,
  want: Float64Array,
  bound: Float64Array,
  K: number,
  what: string,
) {
  const tol = 1e-5 * Math.sqrt(Math.max(K, 1));
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= tol * (bound[i] + Math.abs(want[i])) + 1e-30)) {
      assert.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]} (tolerance ${tol})`);
    }
  }
}

/** Runs the case (reusing `built` if given: C is reset first) and checks it. */
function runCase(a: NativeAddon, c: Case, built: Built = build(c)): Float32Array {
  const C = built.args[13];
  C.set(built.C0);
  a.gemmBatched(...built.args);
  checkClose(C, built.expected, built.bound, c.K, describeCase(c));
  return C.slice();
}

const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [17, 33, 65],
  [1, 768, 256], // decode: one token through a projection
  [1, 77, 64],
  [2, 50, 33],
  [5, 130, 70],
  [8, 64, 64],
  [9, 31, 200],
  [15, 17, 16],
  [33, 129, 300], // crosses KC=256 and several micro-tiles
  [100, 3, 40],
  [200, 1, 30],
];

const LAYOUTS: Array<[boolean, boolean]> = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

function availableKernels(a: NativeAddon): string[] {
  const out: string[] = [];
  for (const k of ["avx512", "avx2", "portable"]) {
    try {
      a.selectKernel(k);
      out.push(k);
    } catch {
      // not supported on this CPU / build
    }
  }
  a.selectKernel("auto");
  return out;
}

describe("attn_native gemmBatched", () => {
  after(() => {
    if (addon) {
      addon.selectKernel("auto");
    }
  });

  test("the addon loads (build with `npx node-gyp rebuild`)", () => {
    const a = native();
    assert.match(a.cpuFeatures(), /^(avx512|avx2|portable)$/);
    assert.ok(a.getNumThreads() >= 1);
    assert.ok(nativeAddonPath()?.endsWith("attn_native.node"));
  });

  test("2x2 by hand", () => {
    const a = native();
    const C = new Float32Array(4);
    const z = new Int32Array(1);
    a.gemmBatched(
      2,
      2,
      2,
      1,
      new Float32Array([1, 2, 3, 4]),
      z,
      2,
      1,
      new Float32Array([5, 6, 7, 8]),
      z,
      2,
      1,
      0,
      C,
      z,
      2,
    );
    assert.deepEqual(Array.from(C), [19, 22, 43, 50]);
  });

  const kernels = addon ? availableKernels(addon) : ["auto"];
  for (const kernel of kernels) {
    describe(`kernel ${kernel}`, () => {
      for (const threads of [1, 2]) {
        test(`shapes x layouts x alpha/beta, ${threads} thread(s)`, () => {
          const a = native();
          a.selectKernel(kernel);
          a.setNumThreads(threads);
          for (const [M, N, K] of SHAPES) {
            for (const [transA, transB] of LAYOUTS) {
              runCase(a, { M, N, K, transA, transB });
              runCase(a, { M, N, K, transA, transB, alpha: 0.5, beta: 1, pad: 3 });
            }
          }
        });
      }

      test("256x256x256 and split-prone shapes: 2 and 4 threads are bitwise equal to 1", () => {
        const a = native();
        a.selectKernel(kernel);
        const cases: Case[] = [
          ...LAYOUTS.map(([transA, transB]) => ({
            M: 256,
            N: 256,
            K: 256,
            transA,
            transB,
            alpha: -1.5,
            beta: 1,
          })),
          { M: 100, N: 10, K: 300, transB: true },
          { M: 33, N: 500, K: 70 },
          { M: 20, N: 1000, K: 64, transB: true },
          { M: 64, N: 64, K: 64, transA: true },
          { M: 300, N: 90, K: 20, beta: 1 },
          { M: 3, N: 4000, K: 48 },
        ];
        for (const c of cases) {
          const built = build(c);
          a.setNumThreads(1);
          const one = runCase(a, c, built);
          for (const threads of [2, 4]) {
            a.setNumThreads(threads);
            assert.deepEqual(
              runCase(a, c, built),
              one,
              `${describeCase(c)}: ${threads} threads differ`,
            );
          }
        }
      });

      test("general strides (no unit stride) and padded leading dims", () => {
        const a = native();
        a.selectKernel(kernel);
        for (const threads of [1, 2]) {
          a.setNumThreads(threads);
          for (const [transA, transB] of LAYOUTS) {
            runCase(a, { M: 3, N: 70, K: 20, transA, transB, gap: 2, pad: 1, beta: 1 });
            runCase(a, { M: 37, N: 45, K: 300, transA, transB, gap: 3, pad: 5 });
          }
        }
      });

      test("batched with broadcast offsets", () => {
        const a = native();
        a.selectKernel(kernel);
        for (const threads of [1, 2]) {
          a.setNumThreads(threads);
          // attention-like: 6 heads, A per head, B shared by pairs of heads
          runCase(a, { M: 1, N: 40, K: 16, batch: 6, bPeriod: 2, transB: true });
          runCase(a, { M: 1, N: 16, K: 40, batch: 6, bPeriod: 3 });
          runCase(a, {
            M: 20,
            N: 24,
            K: 16,
            batch: 6,
            aPeriod: 1,
            transB: true,
            beta: 1,
            alpha: 0.25,
          });
          runCase(a, { M: 64, N: 96, K: 64, batch: 5, bPeriod: 1, transA: true });
          runCase(a, { M: 130, N: 70, K: 50, batch: 3, aPeriod: 1 });
        }
      });

      test("overlapping C across the batch accumulates in order", () => {
        const a = native();
        a.selectKernel(kernel);
        for (const threads of [1, 2]) {
          a.setNumThreads(threads);
          const M = 40;
          const N = 300;
          const K = 64;
          const batch = 4;
          const rnd = filler(threads);
          const A = new Float32Array(batch * M * K).map(rnd);
          const B = new Float32Array(K * N).map(rnd);
          const C = new Float32Array(M * N).fill(1);
          const aOff = Int32Array.from({ length: batch }, (_, b) => b * M * K);
          const want = new Float64Array(M * N).fill(1);
          for (let b = 0; b < batch; b++)
            for (let i = 0; i < M; i++)
              for (let j = 0; j < N; j++) {
                let s = 0;
                for (let k = 0; k < K; k++) s += A[b * M * K + i * K + k] * B[k * N + j];
                want[i * N + j] += s;
              }
          a.gemmBatched(
            M,
            N,
            K,
            1,
            A,
            aOff,
            K,
            1,
            B,
            new Int32Array(batch),
            N,
            1,
            1,
            C,
            new Int32Array(batch),
            N,
          );
          checkClose(C, want, new Float64Array(M * N).fill(2 * batch * K), K, `overlap ${threads}`);
        }
      });
    });
  }

  test("K = 0 scales C by beta; M = 0, N = 0 and empty batch are no-ops", () => {
    const a = native();
    for (const beta of [0, 1, 0.5]) {
      const built = build({ M: 4, N: 5, K: 0, beta, pad: 2 });
      a.gemmBatched(...built.args);
      checkClose(built.args[13], built.expected, built.bound, 0, `K=0 beta=${beta}`);
    }
    const C = new Float32Array([7, 8]);
    const z = new Int32Array(1);
    const empty = new Float32Array(0);
    a.gemmBatched(0, 2, 3, 1, empty, z, 3, 1, new Float32Array(6), z, 2, 1, 0, C, z, 2);
    a.gemmBatched(1, 0, 3, 1, new Float32Array(3), z, 3, 1, empty, z, 0, 1, 0, C, z, 0);
    const none = new Int32Array(0);
    a.gemmBatched(1, 2, 3, 1, empty, none, 3, 1, empty, none, 2, 1, 0, C, none, 2);
    assert.deepEqual(Array.from(C), [7, 8]);
  });

  test("beta = 0 never reads C (NaN/Inf in C are overwritten)", () => {
    const a = native();
    for (const [M, N, K] of [
      [1, 100, 30],
      [50, 70, 20],
    ]) {
      const built = build({ M, N, K, beta: 0 });
      built.args[13].fill(Number.NaN);
      built.args[13][0] = Number.POSITIVE_INFINITY;
      a.gemmBatched(...built.args);
      const C = built.args[13];
      const ldc = built.args[15];
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) assert.ok(Number.isFinite(C[1 + i * ldc + j]), `C(${i},${j})`);
    }
  });

  test("decode-sized calls on the thread pool match 1 thread", () => {
    const a = native();
    for (const transB of [false, true]) {
      const c: Case = { M: 1, N: 2048, K: 512, transB, batch: 2 };
      const built = build(c);
      a.setNumThreads(1);
      const one = runCase(a, c, built);
      a.setNumThreads(2);
      for (let r = 0; r < 200; r++) assert.deepEqual(runCase(a, c, built), one);
    }
  });

  test("setNumThreads / getNumThreads", () => {
    const a = native();
    a.setNumThreads(3);
    assert.equal(a.getNumThreads(), 3);
    a.setNumThreads(1);
    assert.equal(a.getNumThreads(), 1);
    assert.throws(() => a.setNumThreads(0), /setNumThreads/);
    assert.throws(() => a.setNumThreads(1.5), /setNumThreads/);
    assert.throws(() => a.selectKernel("sse9"), /selectKernel/);
    a.setNumThreads(2);
  });

  test("bad arguments throw an Error naming gemmBatched and the argument", () => {
    const a = native();
    const ok = build({ M: 3, N: 4, K: 5 }).args;
    const call = (patch: (x: unknown[]) => void) => () => {
      const x: unknown[] = [...ok];
      patch(x);
      (a.gemmBatched as (...args: unknown[]) => void)(...x);
    };
    const bad: Array<[string, (x: unknown[]) => void]> = [
      ["M", (x) => (x[0] = -1)],
      ["N", (x) => (x[1] = 2.5)],
      ["K", (x) => (x[2] = "5")],
      ["K", (x) => (x[2] = 2 ** 31)],
      ["alpha", (x) => (x[3] = null)],
      ["A", (x) => (x[4] = new Float64Array(100))],
      ["A", (x) => (x[4] = [1, 2, 3])],
      ["aOffsets", (x) => (x[5] = new Uint32Array(1))],
      ["aRowStride", (x) => (x[6] = Number.NaN)],
      ["aColStride", (x) => (x[7] = 2 ** 40)],
      ["B", (x) => (x[8] = new Float32Array(3))],
      ["bOffsets", (x) => (x[9] = new Int32Array(2))],
      ["B", (x) => (x[11] = 1000)],
      ["beta", (x) => (x[12] = undefined)],
      ["C", (x) => (x[13] = new Float32Array(5))],
      ["C", (x) => (x[14] = new Int32Array([1 << 30]))],
      ["ldc", (x) => (x[15] = 2)],
      ["ldc", (x) => (x[15] = -4)],
      ["A", (x) => (x[5] = new Int32Array([-1]))],
      ["A", (x) => (x[5] = new Int32Array([(ok[4] as Float32Array).length - 2]))],
      ["B", (x) => (x[10] = -1)],
    ];
    for (const [name, patch] of bad) {
      assert.throws(call(patch), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /gemmBatched/);
        assert.ok(err.message.includes(`'${name}'`), `${err.message} should name ${name}`);
        return true;
      });
    }
    assert.throws(() => (a.gemmBatched as (...args: unknown[]) => void)(1, 2, 3), /gemmBatched/);
    // nothing was written by the failed calls
    const fresh = build({ M: 3, N: 4, K: 5 });
    assert.deepEqual(ok[13], fresh.C0);
  });

  test("negative and zero strides (reversed rows, broadcast rows/columns)", () => {
    const a = native();
    const M = 37;
    const N = 70;
    const K = 45;
    const rnd = filler(99);
    const A = new Float32Array(M * K).map(rnd);
    const B = new Float32Array(K * N).map(rnd);
    const z = new Int32Array(1);
    const variants: Array<[string, Int32Array, number, number, Int32Array, number, number]> = [
      // name, aOff, aRowStride, aColStride, bOff, bRowStride, bColStride
      ["A rows reversed", Int32Array.of((M - 1) * K), -K, 1, z, N, 1],
      ["A columns reversed", Int32Array.of(K - 1), K, -1, z, N, 1],
      ["B columns reversed (NT)", z, K, 1, Int32Array.of((N - 1) * K), 1, -K],
      ["A row broadcast", z, 0, 1, z, N, 1],
      ["B column broadcast", z, K, 1, z, N, 0],
    ];
    for (const threads of [1, 2]) {
      a.setNumThreads(threads);
      for (const [name, ao, ars, acs, bo, brs, bcs] of variants) {
        const C = new Float32Array(M * N);
        a.gemmBatched(M, N, K, 1, A, ao, ars, acs, B, bo, brs, bcs, 0, C, z, N);
        const want = new Float64Array(M * N);
        const bound = new Float64Array(M * N);
        for (let i = 0; i < M; i++)
          for (let j = 0; j < N; j++)
            for (let k = 0; k < K; k++) {
              const p = A[ao[0] + i * ars + k * acs] * B[bo[0] + k * brs + j * bcs];
              want[i * N + j] += p;
              bound[i * N + j] += Math.abs(p);
            }
        checkClose(C, want, bound, K, `${name}, ${threads} thread(s)`);
      }
    }
  });

  test("results do not depend on where the operands sit in memory (bitwise, every kernel)", () => {
    // JS buffers land at different addresses from run to run: a kernel that
    // peels the reduction to an alignment boundary changes the rounding of a
    // sum with the address, and decoding then differs between runs.
    const a = native();
    const next = filler(11);
    for (const isa of availableKernels(a)) {
      a.selectKernel(isa);
      for (const [M, N, K] of [
        [1, 40, 256],
        [2, 24, 100],
        [3, 20, 300],
        [8, 16, 64],
      ]) {
        const A = Float32Array.from({ length: M * K }, next);
        const W = Float32Array.from({ length: N * K }, next);
        let first: Float32Array | null = null;
        for (let shift = 0; shift < 16; shift++) {
          // The same A and W (W used transposed: x Wᵀ), placed `shift` floats into fresh buffers.
          const a2 = new Float32Array(M * K + 16);
          a2.set(A, shift);
          const w2 = new Float32Array(N * K + 16);
          w2.set(W, shift);
          const C = new Float32Array(M * N);
          const z = new Int32Array(1);
          a.gemmBatched(
            M,
            N,
            K,
            1,
            a2,
            Int32Array.of(shift),
            K,
            1,
            w2,
            Int32Array.of(shift),
            1,
            K,
            0,
            C,
            z,
            N,
          );
          if (!first) first = C;
          else
            assert.deepEqual(C, first, `${isa} ${M}x${N}x${K}: shift ${shift} changed the result`);
        }
      }
    }
    a.selectKernel("auto");
  });

  test("typed-array views: subarray offsets, SharedArrayBuffer, detached buffers", () => {
    const a = native();
    const z = new Int32Array(1);
    // a subarray view: indices are relative to the view's first element
    const backing = new Float32Array([9, 9, 9, 1, 2, 3, 4]);
    const C = new Float32Array(new SharedArrayBuffer(5 * 4)).subarray(1);
    a.gemmBatched(
      2,
      2,
      2,
      1,
      backing.subarray(3),
      z,
      2,
      1,
      backing.subarray(3),
      z,
      2,
      1,
      0,
      C,
      z,
      2,
    );
    assert.deepEqual(Array.from(C), [7, 10, 15, 22]);
    // a detached buffer has length 0: rejected, no crash
    const D = new Float32Array(4);
    structuredClone(D.buffer, { transfer: [D.buffer] });
    assert.throws(
      () => a.gemmBatched(2, 2, 2, 1, D, z, 2, 1, backing, z, 2, 1, 0, C, z, 2),
      /gemmBatched: argument 'A'/,
    );
  });

  test("usable from a worker thread at the same time as the main thread", async () => {
    const a = native();
    a.setNumThreads(2);
    const path = nativeAddonPath();
    const src = `
      const { createRequire } = require("node:module");
      const { parentPort } = require("node:worker_threads");
      const m = createRequire(${JSON.stringify(path)})(${JSON.stringify(path)});
      const n = 200, A = new Float32Array(n * n).fill(1), C = new Float32Array(n * n);
      const z = new Int32Array(1);
      for (let r = 0; r < 20; r++) m.gemmBatched(n, n, n, 1, A, z, n, 1, A, z, n, 1, 0, C, z, n);
      parentPort.postMessage(C.every((v) => v === n));
    `;
    const worker = new Worker(src, { eval: true });
    const done = new Promise<boolean>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    for (let r = 0; r < 10; r++) runCase(a, { M: 120, N: 200, K: 150, transB: true });
    assert.equal(await done, true);
    await worker.terminate();
  });
});
