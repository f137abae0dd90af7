/** Weights for interop tests: moved far from init (so a mixed-up wire shows), and compared. */
import assert from "node:assert/strict";
import type { Module } from "../../src/nn/module.js";

/** Adds amplitude·sin(i·frequency + n) to every parameter of n values. */
export function perturb(model: Module, amplitude: number, frequency: number): void {
  for (const [name, p] of model.namedParameters()) {
    const v = Float32Array.from(p.readSync());
    for (let i = 0; i < v.length; i++) v[i] += amplitude * Math.sin(i * frequency + v.length);
    model.loadStateDict(new Map([[name, { shape: [...p.shape], values: v }]]), false);
  }
}

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
