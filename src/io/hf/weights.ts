/**
 * Weights as plain arrays (name → shape + float32 values), and the few reshapes that moving
 * between naming schemes needs: transpose, split and join along rows, and a permutation of
 * one axis. No tensors or backends: these run before a model exists.
 */
import { AttnError } from "../../errors.js";

export interface Weight {
  shape: number[];
  values: Float32Array;
}

export type Weights = Map<string, Weight>;

/** The weight `name`, with its shape checked against `shape` (when given). */
export function take(
  w: ReadonlyMap<string, Weight>,
  name: string,
  shape?: number[],
  where = "",
): Weight {
  const t = w.get(name);
  if (!t) throw new AttnError(`${where}weights: ${name} is missing`);
  if (shape && (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])))
    throw new AttnError(
      `${where}weights: ${name} has shape [${t.shape.join(", ")}], the config implies [${shape.join(", ")}]`,
    );
  return t;
}

/** [r, c] → [c, r]. */
export function transpose2d(t: Weight): Weight {
  const [r, c] = t.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.values[i * c + j];
  return { shape: [c, r], values: out };
}

/** Splits the first axis into `parts` equal pieces. */
export function splitRows(t: Weight, parts: number): Weight[] {
  const rows = t.shape[0];
  if (rows % parts !== 0) throw new AttnError(`cannot split ${rows} rows into ${parts}`);
  const n = t.values.length / parts;
  return Array.from({ length: parts }, (_, p) => ({
    shape: [rows / parts, ...t.shape.slice(1)],
    values: t.values.slice(p * n, (p + 1) * n),
  }));
}

/** Joins along the first axis. */
export function joinRows(ts: Weight[]): Weight {
  const total = ts.reduce((s, t) => s + t.values.length, 0);
  const out = new Float32Array(total);
  let o = 0;
  for (const t of ts) {
    out.set(t.values, o);
    o += t.values.length;
  }
  return { shape: [ts.reduce((s, t) => s + t.shape[0], 0), ...ts[0].shape.slice(1)], values: out };
}

/** out[..., j, ...] = t[..., perm[j], ...] along `axis`. */
export function permuteAxis(t: Weight, axis: number, perm: readonly number[]): Weight {
  const n = t.shape[axis];
  if (perm.length !== n) throw new AttnError(`permutation of ${perm.length} for an axis of ${n}`);
  const inner = t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = t.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const out = new Float32Array(t.values.length);
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < n; j++) {
      const src = (o * n + perm[j]) * inner;
      out.set(t.values.subarray(src, src + inner), (o * n + j) * inner);
    }
  return { shape: [...t.shape], values: out };
}

export function zerosWeight(shape: number[]): Weight {
  return { shape, values: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

export function isAllZero(t: Weight): boolean {
  for (let i = 0; i < t.values.length; i++) if (t.values[i] !== 0) return false;
  return true;
}

/** A module's parameters as plain weights (what exportHf and onnxFiles take). */
export function moduleWeights(module: {
  namedParameters(): [string, { shape: readonly number[]; readSync(): ArrayLike<number> }][];
}): Weights {
  return new Map(
    module
      .namedParameters()
      .map(([n, t]) => [n, { shape: [...t.shape], values: Float32Array.from(t.readSync()) }]),
  );
}
