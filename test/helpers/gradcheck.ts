/**
 * Finite-difference gradient checks in float64.
 *
 * For f: inputs -> output, we check the analytic gradient of the scalar
 * L = Σ f(inputs) ⊙ R (R a fixed random tensor, so every output element
 * matters) against central differences (L(x+h) - L(x-h)) / 2h per input element.
 */
import assert from "node:assert/strict";
import { Mulberry32, type Tensor, mul, noGrad, randn, sum, tidy } from "../../src/tensor/index.js";

export interface GradCheckOptions {
  h?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
}

export function randInput(shape: number[], seed: number, std = 1): Tensor {
  const t = randn(shape, { rng: new Mulberry32(seed), dtype: "float64", std });
  t.requiresGrad = true;
  return t;
}

export function gradCheck(
  name: string,
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: GradCheckOptions = {},
): void {
  const h = opts.h ?? 1e-6;
  const rtol = opts.rtol ?? 1e-6;
  const atol = opts.atol ?? 1e-8;
  tidy(() => {
    for (const x of inputs) {
      assert.equal(x.dtype, "float64", `${name}: gradCheck inputs must be float64`);
      x.grad?.dispose();
      x.grad = null;
    }
    const out0 = f(...inputs);
    const R = randn(out0.shape, { rng: new Mulberry32(opts.seed ?? 99), dtype: "float64" });
    const L = sum(mul(out0, R));
    L.backward();
    const objective = () => noGrad(() => tidy(() => sum(mul(f(...inputs), R)).item()));
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i];
      if (!x.requiresGrad) continue;
      const analytic = x.grad ? x.grad.readSync() : new Float64Array(x.size);
      const d = x.data;
      // Perturb every element of the input's storage through its own layout.
      for (let k = 0; k < x.size; k++) {
        const at = x.offset + elementOffset(x, k);
        const orig = d[at];
        d[at] = orig + h;
        const fp = objective();
        d[at] = orig - h;
        const fm = objective();
        d[at] = orig;
        const numeric = (fp - fm) / (2 * h);
        const a = analytic[k];
        const err = Math.abs(a - numeric);
        const rel = err / Math.max(Math.abs(a), Math.abs(numeric), 1e-12);
        if (err > atol + rtol * Math.max(Math.abs(a), Math.abs(numeric))) {
          assert.fail(
            `${name}: input ${i} element ${k}: analytic ${a} vs numeric ${numeric} (rel err ${rel.toExponential(2)})`,
          );
        }
      }
    }
  });
}

function elementOffset(t: Tensor, k: number): number {
  let off = 0;
  for (let d = t.rank - 1; d >= 0; d--) {
    const i = k % t.shape[d];
    k = Math.floor(k / t.shape[d]);
    off += i * t.strides[d];
  }
  return off;
}
