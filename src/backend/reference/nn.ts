import type {
  AdamArgs,
  CrossEntropyArgs,
  DropoutArgs,
  GatherArgs,
  LayerNormArgs,
  LayerNormGradArgs,
  ScatterAddArgs,
  SoftmaxArgs,
  SoftmaxGradArgs,
  TopKArgs,
  View,
} from "../backend.js";

export function softmax({ x, out, rows, cols, log }: SoftmaxArgs): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < cols; j++) if (x[o + j] > max) max = x[o + j];
    if (max === Number.NEGATIVE_INFINITY) {
      // Every entry masked: define softmax as all zeros (no NaN), log-softmax as -inf.
      out.fill(log ? Number.NEGATIVE_INFINITY : 0, o, o + cols);
      continue;
    }
    if (log) {
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += Math.exp(x[o + j] - max);
      const lse = max + Math.log(sum);
      for (let j = 0; j < cols; j++) out[o + j] = x[o + j] - lse;
    } else {
      // One exp per element: write exp(x - max), then scale by 1/Σ.
      let sum = 0;
      for (let j = 0; j < cols; j++) {
        const e = Math.exp(x[o + j] - max);
        out[o + j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = 0; j < cols; j++) out[o + j] *= inv;
    }
  }
}

export function softmaxGrad({ y, dy, dx, rows, cols, log }: SoftmaxGradArgs): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    if (log) {
      // dx = dy - softmax · Σ dy ; a fully masked row (y = -inf) gets 0.
      let s = 0;
      for (let j = 0; j < cols; j++) s += dy[o + j];
      for (let j = 0; j < cols; j++) {
        const yj = y[o + j];
        dx[o + j] = yj === Number.NEGATIVE_INFINITY ? 0 : dy[o + j] - Math.exp(yj) * s;
      }
    } else {
      // dx = y ⊙ (dy - Σ y·dy)
      let s = 0;
      for (let j = 0; j < cols; j++) s += y[o + j] * dy[o + j];
      for (let j = 0; j < cols; j++) dx[o + j] = y[o + j] * (dy[o + j] - s);
    }
  }
}

export function layerNorm(a: LayerNormArgs): void {
  const { x, gamma, beta, out, mean, rstd, rows, cols, eps } = a;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = 0;
    for (let j = 0; j < cols; j++) m += x[o + j];
    m /= cols;
    let v = 0;
    for (let j = 0; j < cols; j++) {
      const d = x[o + j] - m;
      v += d * d;
    }
    v /= cols; // biased variance, as in the LayerNorm paper and PyTorch
    const s = 1 / Math.sqrt(v + eps);
    mean[r] = m;
    rstd[r] = s;
    for (let j = 0; j < cols; j++) out[o + j] = (x[o + j] - m) * s * gamma[j] + beta[j];
  }
}

export function layerNormGrad(a: LayerNormGradArgs): void {
  const { dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols } = a;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const m = mean[r];
    const s = rstd[r];
    // With x̂ = (x - μ)σ⁻¹ and g = dy·γ: dx = σ⁻¹ (g - mean(g) - x̂ · mean(g·x̂)).
    let sumG = 0;
    let sumGX = 0;
    for (let j = 0; j < cols; j++) {
      const xh = (x[o + j] - m) * s;
      const g = dy[o + j] * gamma[j];
      sumG += g;
      sumGX += g * xh;
      dgamma[j] += dy[o + j] * xh;
      dbeta[j] += dy[o + j];
    }
    const mg = sumG / cols;
    const mgx = sumGX / cols;
    for (let j = 0; j < cols; j++) {
      const xh = (x[o + j] - m) * s;
      dx[o + j] = s * (dy[o + j] * gamma[j] - mg - xh * mgx);
    }
  }
}

/** Embedding rows out of a table; scatterAdd below is its transpose (same loop shape, on purpose). */
export function gather({ table, ids, idsOffset, out, rows, cols }: GatherArgs): void {
  for (let r = 0; r < rows; r++) {
    const src = ids[idsOffset + r] * cols;
    out.set(table.subarray(src, src + cols), r * cols);
  }
}

export function scatterAdd({ dy, ids, idsOffset, dtable, rows, cols }: ScatterAddArgs): void {
  for (let r = 0; r < rows; r++) {
    const dst = ids[idsOffset + r] * cols;
    const src = r * cols;
    for (let j = 0; j < cols; j++) dtable[dst + j] += dy[src + j];
  }
}

/**
 * Per row: loss = logsumexp(z) - Σ_c q_c z_c with q = (1-ε)·onehot(y) + ε/V,
 * and d loss / dz = softmax(z) - q.
 */
export function crossEntropy(args: CrossEntropyArgs): void {
  const {
    logits: z,
    logitsOffset,
    targets,
    targetsOffset,
    rows,
    cols,
    ignoreIndex,
    smoothing,
    rowLoss,
    dlogits,
  } = args;
  const onTarget = 1 - smoothing;
  const uniform = smoothing / cols;
  for (let r = 0; r < rows; r++) {
    const o = logitsOffset + r * cols;
    const y = targets[targetsOffset + r];
    const d = r * cols;
    if (y === ignoreIndex) {
      rowLoss[r] = 0;
      if (dlogits) dlogits.fill(0, d, d + cols);
      continue;
    }
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < cols; j++) if (z[o + j] > max) max = z[o + j];
    let sum = 0;
    let sumZ = 0;
    if (dlogits) {
      // One exp per logit: keep exp(z - max) in the gradient row, normalise it below.
      for (let j = 0; j < cols; j++) {
        const e = Math.exp(z[o + j] - max);
        dlogits[d + j] = e;
        sum += e;
        sumZ += z[o + j];
      }
    } else {
      for (let j = 0; j < cols; j++) {
        sum += Math.exp(z[o + j] - max);
        sumZ += z[o + j];
      }
    }
    const lse = max + Math.log(sum);
    rowLoss[r] = lse - onTarget * z[o + y] - uniform * sumZ;
    if (dlogits) {
      const inv = 1 / sum;
      for (let j = 0; j < cols; j++) dlogits[d + j] = dlogits[d + j] * inv - uniform;
      dlogits[d + y] -= onTarget;
    }
  }
}

/** Adam (Kingma & Ba 2015) with PyTorch's ordering; AdamW's decoupled decay first (Loshchilov & Hutter 2019). */
export function adam(args: AdamArgs): void {
  const { param, grad, m, v, size, lr, beta1, beta2, eps, weightDecay, step } = args;
  const bc1 = 1 - beta1 ** step;
  const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
  const stepSize = lr / bc1;
  const decay = 1 - lr * weightDecay;
  for (let i = 0; i < size; i++) {
    const g = grad[i];
    const mi = beta1 * m[i] + (1 - beta1) * g;
    const vi = beta2 * v[i] + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i] * decay - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
  }
}

/** Dropout with its mask drawn here: draw i of mulberry32 from `state` decides element i. */
export function dropout(args: DropoutArgs): void {
  const { x, xOffset, out, size, p, scale } = args;
  // u / 2^32 >= p  <=>  u >= p · 2^32 (both sides exact in float64).
  const threshold = p * 4294967296;
  let a = args.state | 0;
  for (let i = 0; i < size; i++) {
    a = (a + 0x6d2b79f5) | 0;
    out[i] = mulberryDraw(a) >= threshold ? x[xOffset + i] * scale : 0;
  }
}

/** Draw i of mulberry32 advanced from `state`, as an unsigned 32-bit integer. */
function mulberryDraw(a: number): number {
  let t = Math.imul(a ^ (a >>> 15), 1 | a);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (t ^ (t >>> 14)) >>> 0;
}

/** The keep mask of `dropout`: 1 where draw i >= p · 2^32, else 0 (contiguous `out`). */
export function bernoulli(state: number, p: number, out: View): void {
  const threshold = p * 4294967296;
  const size = out.shape.reduce((n, d) => n * d, 1);
  const d = out.data;
  let a = state | 0;
  for (let i = 0; i < size; i++) {
    a = (a + 0x6d2b79f5) | 0;
    d[out.offset + i] = mulberryDraw(a) >= threshold ? 1 : 0;
  }
}

/** Per row, an insertion into the k best so far: strictly larger moves ahead, so ties keep the lower column. */
export function topk({ x, rows, cols, k, values, indices }: TopKArgs): void {
  for (let r = 0; r < rows; r++) {
    const o = r * k;
    const row = r * cols;
    if (k === 1) {
      // Greedy decoding's case, once per token: a plain argmax.
      let best = -1;
      let bestV = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < cols; c++) {
        const v = x[row + c];
        if (v > bestV) {
          bestV = v;
          best = c;
        }
      }
      values[o] = bestV;
      indices[o] = best;
      continue;
    }
    values.fill(Number.NEGATIVE_INFINITY, o, o + k);
    indices.fill(-1, o, o + k);
    let filled = 0;
    // The k-th best so far (-Infinity until k are held): NaN fails the test, as -Infinity does.
    let kth = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < cols; c++) {
      const v = x[row + c];
      if (!(v > kth)) continue;
      let i = filled < k ? filled++ : k - 1;
      while (i > 0 && values[o + i - 1] < v) {
        values[o + i] = values[o + i - 1];
        indices[o + i] = indices[o + i - 1];
        i--;
      }
      values[o + i] = v;
      indices[o + i] = c;
      if (filled === k) kth = values[o + k - 1];
    }
  }
}
