/** Gradient clipping by global norm (PyTorch's torch.nn.utils.clip_grad_norm_ with norm_type 2). */
import { AttnError } from "../errors.js";
import {
  type Tensor,
  contiguous,
  matmul,
  noGrad,
  reshape,
  scaleInPlace,
  stack,
  sum,
  tidy,
  transpose,
  zeros,
} from "../tensor/index.js";

/**
 * The global L2 norm of all gradients (each tensor's Σg² on the backend, one
 * scalar read); parameters without a grad are skipped.
 */
export function gradNorm(params: readonly Tensor[]): number {
  return noGrad(() => tidy(() => Math.sqrt(gradNormSquared(params).item())));
}

/** Σ g² over all gradients, as a one-element tensor on the backend (no read). */
export function gradNormSquared(params: readonly Tensor[]): Tensor {
  return noGrad(() => {
    const grads = params.flatMap((p) => (p.grad ? [p.grad] : []));
    if (grads.length === 0) return zeros([]);
    // gᵀg as one [1, n] · [n, 1] product per tensor: no g-sized temporary, one pass.
    const dot = (g: Tensor) => {
      const row = reshape(contiguous(g), [1, g.size]);
      return reshape(matmul(row, transpose(row)), []);
    };
    return tidy(() => sum(stack(grads.map(dot))));
  });
}

/** Multiplies every gradient by `factor`, in place. */
export function scaleGrads(params: readonly Tensor[], factor: number): void {
  for (const p of params) if (p.grad) scaleInPlace(p.grad, factor);
}

/**
 * Computes the global L2 norm over all `.grad`s and, when it is
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
