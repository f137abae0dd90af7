/**
 * A 2-D PCA of the rows of a matrix (the embedding table), by power iteration
 * on the covariance with deflation. Axis signs are kept aligned with the
 * previous call's, so points move smoothly while the model trains. Used by
 * the explorer (through src/browser.ts) and the embedding experiment.
 */

export interface Pca2 {
  x: Float32Array;
  y: Float32Array;
  explained: [number, number];
  axes: [Float64Array, Float64Array];
}

function powerIteration(
  C: Float64Array,
  d: number,
  seedAxis: number,
): { v: Float64Array; lambda: number } {
  let v = new Float64Array(d);
  for (let i = 0; i < d; i++) v[i] = 1 / Math.sqrt(d) + (i === seedAxis % d ? 0.5 : 0);
  let lambda = 0;
  for (let it = 0; it < 200; it++) {
    const w = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += C[i * d + j] * v[j];
      w[i] = s;
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += w[i] * w[i];
    norm = Math.sqrt(norm);
    if (norm === 0) break;
    for (let i = 0; i < d; i++) w[i] /= norm;
    const delta = w.reduce((s, x, i) => s + Math.abs(x - v[i]), 0);
    v = w;
    lambda = norm;
    if (delta < 1e-10) break;
  }
  return { v, lambda };
}

export function pca2(
  values: ArrayLike<number>,
  rows: number,
  d: number,
  prev?: Pca2["axes"],
): Pca2 {
  const mean = new Float64Array(d);
  for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) mean[j] += values[r * d + j] / rows;
  const C = new Float64Array(d * d);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < d; i++) {
      const a = values[r * d + i] - mean[i];
      total += a * a;
      for (let j = 0; j < d; j++) C[i * d + j] += (a * (values[r * d + j] - mean[j])) / rows;
    }
  }
  total /= rows;
  const first = powerIteration(C, d, 0);
  const v1 = first.v;
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) C[i * d + j] -= first.lambda * v1[i] * v1[j];
  const second = powerIteration(C, d, 1);
  const axes: [Float64Array, Float64Array] = [v1, second.v];
  axes.forEach((a, k) => {
    const ref = prev?.[k];
    let dot = 0;
    if (ref && ref.length === d) for (let i = 0; i < d; i++) dot += a[i] * ref[i];
    if (dot < 0) for (let i = 0; i < d; i++) a[i] = -a[i];
  });
  const x = new Float32Array(rows);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let sx = 0;
    let sy = 0;
    for (let j = 0; j < d; j++) {
      const c = values[r * d + j] - mean[j];
      sx += c * axes[0][j];
      sy += c * axes[1][j];
    }
    x[r] = sx;
    y[r] = sy;
  }
  const explained: [number, number] = [
    total > 0 ? first.lambda / total : 0,
    total > 0 ? second.lambda / total : 0,
  ];
  return { x, y, explained, axes };
}
