/** Scalar math the JS standard library lacks, accurate to ~1e-15 so float64 gradient checks hold. */

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** erf(x): Maclaurin series for |x| < 3, continued fraction for erfc beyond. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  if (ax < 3) {
    // erf x = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  if (ax > 6.5) return x > 0 ? 1 : -1;
  // erfc x = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))), evaluated by modified Lentz.
  const tiny = 1e-300;
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = d === 0 ? tiny : 1 / d;
    c = ax + an / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  return x > 0 ? 1 - erfc : erfc - 1;
}

const SQRT_2_OVER_PI = 0.7978845608028654;
const GELU_C = 0.044715;
const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;

/**
 * tanh from one exp: 1 - 2/(e^{2u} + 1). V8's Math.tanh is several times slower
 * than Math.exp; this form is exact to ~1e-16 absolute and saturates to ±1 cleanly.
 */
export function fastTanh(u: number): number {
  return 1 - 2 / (Math.exp(2 * u) + 1);
}

/** GELU, tanh approximation (Hendrycks & Gimpel 2016; GPT-2). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + fastTanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x)));
}

export function geluTanhGrad(x: number): number {
  const t = fastTanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x);
}

/** GELU, exact: x·Φ(x). */
export function geluErf(x: number): number {
  return 0.5 * x * (1 + erf(x * INV_SQRT2));
}

export function geluErfGrad(x: number): number {
  return 0.5 * (1 + erf(x * INV_SQRT2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}
