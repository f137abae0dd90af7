/** Choosing the next token from a row of logits: argmax, and sampling with temperature / top-k / top-p. */
import { AttnError } from "../errors.js";
import type { Mulberry32 } from "../tensor/index.js";

/** Index of the largest value (the first on ties). */
export function argmax(row: ArrayLike<number>, start = 0, length = row.length - start): number {
  let best = 0;
  let bestV = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < length; i++) {
    const v = row[start + i];
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

/** log softmax of one row, in float64. */
export function logSoftmaxRow(
  row: ArrayLike<number>,
  start = 0,
  length = row.length - start,
): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < length; i++) max = Math.max(max, row[start + i]);
  let sum = 0;
  for (let i = 0; i < length; i++) sum += Math.exp(row[start + i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = row[start + i] - lse;
  return out;
}

export interface SamplingOptions {
  /** 0 = greedy (argmax); 1 = the model's distribution; below 1 sharper, above flatter. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 = all). */
  topP?: number;
}

export function checkSampling(o: SamplingOptions): void {
  const t = o.temperature ?? 1;
  if (!(t >= 0 && Number.isFinite(t)))
    throw new AttnError(`sampling: temperature must be >= 0, got ${t}`);
  const k = o.topK ?? 0;
  if (!(Number.isInteger(k) && k >= 0))
    throw new AttnError(`sampling: top-k must be a non-negative integer, got ${k}`);
  const p = o.topP ?? 1;
  if (!(p > 0 && p <= 1)) throw new AttnError(`sampling: top-p must be in (0, 1], got ${p}`);
}

/**
 * The distribution sampling draws from, after temperature, top-k and top-p
 * (as pairs of token id and probability, most likely first). The explorer
 * shows this; `sampleToken` draws from it.
 */
export function samplingDistribution(
  row: ArrayLike<number>,
  o: SamplingOptions,
  start = 0,
  length = row.length - start,
): { ids: number[]; probs: number[] } {
  const t = o.temperature ?? 1;
  if (t === 0) return { ids: [argmax(row, start, length)], probs: [1] };
  const order = Array.from({ length }, (_, i) => i).sort(
    (a, b) => row[start + b] - row[start + a] || a - b,
  );
  const k = o.topK && o.topK > 0 ? Math.min(o.topK, length) : length;
  const kept = order.slice(0, k);
  const max = row[start + kept[0]];
  let probs = kept.map((i) => Math.exp((row[start + i] - max) / t));
  let z = probs.reduce((s, p) => s + p, 0);
  probs = probs.map((p) => p / z);
  const topP = o.topP ?? 1;
  let n = probs.length;
  if (topP < 1) {
    let cum = 0;
    for (let i = 0; i < probs.length; i++) {
      cum += probs[i];
      if (cum >= topP) {
        n = i + 1;
        break;
      }
    }
  }
  const ids = kept.slice(0, n);
  probs = probs.slice(0, n);
  z = probs.reduce((s, p) => s + p, 0);
  return { ids, probs: probs.map((p) => p / z) };
}

/** One draw from the filtered distribution. */
export function sampleToken(
  row: ArrayLike<number>,
  o: SamplingOptions,
  rng: Mulberry32,
  start = 0,
  length = row.length - start,
): number {
  const { ids, probs } = samplingDistribution(row, o, start, length);
  if (ids.length === 1) return ids[0];
  const u = rng.uniform();
  let cum = 0;
  for (let i = 0; i < ids.length; i++) {
    cum += probs[i];
    if (u < cum) return ids[i];
  }
  return ids[ids.length - 1];
}
