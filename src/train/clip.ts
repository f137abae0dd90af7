/** Gradient clipping by global norm (PyTorch's torch.nn.utils.clip_grad_norm_ with norm_type 2). */
import { AttnError } from "../errors.js";
import type { Tensor } from "../tensor/index.js";

/** The global L2 norm of all gradients, summed in float64; parameters without a grad are skipped. */
export function gradNorm(params: readonly Tensor[]): number {
  let sq = 0;
  for (const p of params) {
    const g = p.grad;
    if (!g) continue;
    const d = g.isContiguous() ? g.data : g.values();
    const start = g.isContiguous() ? g.offset : 0;
    const end = start + g.size;
    for (let i = start; i < end; i++) sq += d[i] * d[i];
  }
  return Math.sqrt(sq);
}

/** Multiplies every gradient by `factor`, in place. */
export function scaleGrads(params: readonly Tensor[], factor: number): void {
  for (const p of params) {
    const g = p.grad;
    if (!g) continue;
    if (!g.isContiguous()) throw new AttnError("scaleGrads: gradients must be contiguous");
    const d = g.data;
    const end = g.offset + g.size;
    for (let i = g.offset; i < end; i++) d[i] *= factor;
  }
}

/**
 * Computes the global L2 norm over all `.grad`s (in float64) and, when it is
 * above maxNorm, scales every grad in place by maxNorm / (norm + 1e-6).
 * Returns the norm before clipping. A non-finite norm is returned as is and
 * the grads are left untouched (the caller decides: skip the step or stop).
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new AttnError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const norm = gradNorm(params);
  if (Number.isFinite(norm) && norm > maxNorm) scaleGrads(params, maxNorm / (norm + 1e-6));
  return norm;
}
