/** Small helpers of the page: slicing recorded tensors, number formats, colours, softmax and sampling. */
import { samplingDistribution as engineSampling } from "../../src/browser.js";
import type { Rec } from "./protocol.js";

export interface Matrix {
  rows: number;
  cols: number;
  values: Float32Array;
}

/** The matrix of the last two dims at the given leading indices (e.g. [0, head] of [B, H, Tq, Tk]). */
export function mat(rec: Rec, lead: number[] = []): Matrix {
  const s = rec.shape;
  const rows = s.length >= 2 ? s[s.length - 2] : 1;
  const cols = s[s.length - 1];
  let off = 0;
  for (let i = 0; i < lead.length; i++) off = off * s[i] + lead[i];
  for (let i = lead.length; i < s.length - 2; i++) off *= s[i];
  off *= rows * cols;
  return { rows, cols, values: rec.values.subarray(off, off + rows * cols) };
}

/** Row r of a matrix. */
export function rowOf(m: Matrix, r: number): Float32Array {
  return m.values.subarray(r * m.cols, (r + 1) * m.cols);
}

export function fmt(v: number, digits = 3): string {
  if (v === Number.NEGATIVE_INFINITY) return "−∞";
  if (v === Number.POSITIVE_INFINITY) return "∞";
  if (Number.isNaN(v)) return "NaN";
  const a = Math.abs(v);
  if (a !== 0 && (a < 10 ** -digits || a >= 1e5)) return v.toExponential(2).replace("-", "−");
  return v.toFixed(digits).replace("-", "−");
}

/** Full precision for data-value attributes (what tests read). */
export function exact(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? "Infinity" : v < 0 ? "-Infinity" : "NaN";
}

/** A token as shown on screen (spaces made visible). */
export function tokenText(tok: string): string {
  return tok === " " ? "␣" : tok;
}

export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function softmax(z: ArrayLike<number>, temperature = 1): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < z.length; i++) if (z[i] / temperature > max) max = z[i] / temperature;
  const out = new Float64Array(z.length);
  let sum = 0;
  for (let i = 0; i < z.length; i++) {
    out[i] = Math.exp(z[i] / temperature - max);
    sum += out[i];
  }
  for (let i = 0; i < z.length; i++) out[i] /= sum;
  return out;
}

/** Ids sorted by descending value. */
export function ranked(p: ArrayLike<number>): number[] {
  return Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[b] - p[a]);
}

/**
 * The sampling distribution over all V ids (zeros outside the kept set):
 * exactly what `attn generate` draws from (src/generate/select.ts), keeping
 * the top k (k ≥ V: all) and then the smallest set with mass ≥ top-p, at
 * temperature T.
 */
export function samplingDistribution(
  z: ArrayLike<number>,
  T: number,
  k: number,
  topP: number,
): Float64Array {
  const d = engineSampling(z, {
    temperature: Math.max(T, 1e-4),
    topK: k >= z.length ? 0 : k,
    topP,
  });
  const out = new Float64Array(z.length);
  d.ids.forEach((id, i) => {
    out[id] = d.probs[i];
  });
  return out;
}

/** Colour ramps: sequential (0..1, white to deep blue) and diverging (-1..1, blue-white-red). */
const SEQ: [number, number, number][] = [
  [247, 251, 255],
  [198, 219, 239],
  [107, 174, 214],
  [33, 113, 181],
  [8, 48, 107],
];
const DIV: [number, number, number][] = [
  [33, 102, 172],
  [146, 197, 222],
  [247, 247, 247],
  [244, 165, 130],
  [178, 24, 43],
];

function ramp(stops: [number, number, number][], t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export function seqColor(t: number): string {
  return ramp(SEQ, t);
}

export function divColor(t: number): string {
  return ramp(DIV, (t + 1) / 2);
}

/** A CSS gradient of a ramp, low to high, for colour bars. */
export function rampGradient(scale: "seq" | "div", gamma = 1): string {
  const n = 12;
  const stops = Array.from({ length: n + 1 }, (_, k) => {
    const t = k / n;
    return `${scale === "div" ? divColor(2 * t - 1) : seqColor(t ** gamma)} ${(t * 100).toFixed(1)}%`;
  });
  return `linear-gradient(to right, ${stops.join(", ")})`;
}

/**
 * One symmetric range [-a, a] for several vectors, so that views compared side by side
 * (E[id] and E[id]·√d; embedding, PE and their sum) share one colour scale.
 */
export function sharedRange(...vs: (ArrayLike<number> | null | undefined)[]): [number, number] {
  let a = 0;
  for (const v of vs) {
    if (!v) continue;
    for (let i = 0; i < v.length; i++) if (Number.isFinite(v[i])) a = Math.max(a, Math.abs(v[i]));
  }
  return [-(a || 1), a || 1];
}

/** True when the learner asked the system for less motion. */
export function reducedMotion(): boolean {
  return typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;
}
