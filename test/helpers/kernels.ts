/** Shared by the backend kernel tests: deterministic inputs, views and tolerant comparison. */
import assert from "node:assert/strict";
import type { TypedArray, View } from "../../src/backend/backend.js";
import { contiguousStrides } from "../../src/tensor/shape.js";

/** Deterministic values in [lo, hi) (an LCG; `seed` picks the stream). */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = lo + ((hi - lo) * s) / 4294967296;
  }
  return a;
}

/** Special values mixed into elementwise inputs. */
export const SPECIALS = [
  0,
  -0,
  1e-30,
  -1e-30,
  1e-45,
  Infinity,
  -Infinity,
  NaN,
  88,
  -88,
  100,
  -100,
  0.5,
];

/** |a - e| <= atol + rtol |e| everywhere; NaN and infinities must match exactly. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  rtol = 1e-5,
  atol = 1e-6,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const ok = Number.isFinite(e)
      ? Math.abs(a - e) <= atol + rtol * Math.abs(e)
      : Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e));
    if (!ok) assert.fail(`${what}: element ${i} is ${a}, expected ${e}`);
  }
}

/** A strided view (contiguous when `strides` is left out). */
export function view(data: TypedArray, shape: number[], strides?: number[], offset = 0): View {
  return { data, offset, shape, strides: strides ?? contiguousStrides(shape) };
}

/**
 * C = alpha·A·B + beta·C in float64 for every batch entry, in order (entries
 * may share C), with an error scale per element: Σ|alpha·a·b| + |beta·C|.
 * Element (i, k) of entry e of A is A[aOff[e] + i·ars + k·acs]; likewise B; C rows have stride ldc.
 */
export function referenceGemm(
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: ArrayLike<number>,
  aOff: ArrayLike<number>,
  ars: number,
  acs: number,
  B: ArrayLike<number>,
  bOff: ArrayLike<number>,
  brs: number,
  bcs: number,
  C: ArrayLike<number>,
  cOff: ArrayLike<number>,
  ldc: number,
  beta: number,
): { expected: Float64Array; bound: Float64Array } {
  const expected = Float64Array.from(C);
  const bound = new Float64Array(C.length);
  for (let e = 0; e < cOff.length; e++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        let mag = 0;
        for (let k = 0; k < K; k++) {
          const p = A[aOff[e] + i * ars + k * acs] * B[bOff[e] + k * brs + j * bcs];
          s += p;
          mag += Math.abs(p);
        }
        const ci = cOff[e] + i * ldc + j;
        const old = beta === 0 ? 0 : beta * expected[ci];
        expected[ci] = alpha * s + old;
        bound[ci] =
          Math.abs(alpha) * mag + Math.abs(old) + (beta === 0 ? 0 : Math.abs(beta) * bound[ci]);
      }
    }
  }
  return { expected, bound };
}
