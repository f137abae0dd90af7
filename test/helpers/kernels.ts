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
