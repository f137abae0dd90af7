/** Optimisers: plain SGD, Adam (the paper's settings by default) and AdamW. They update parameters in place. */
import type { FloatArray } from "../backend/backend.js";
import { AttnError } from "../errors.js";
import { type Tensor, getBackend, keep, zeros } from "../tensor/index.js";

export interface Optimizer {
  readonly params: Tensor[];
  lr: number;
  step(): void;
  zeroGrad(): void;
}

function clearGrads(params: Tensor[]): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}

/** θ ← θ - lr·g */
export class SGD implements Optimizer {
  constructor(
    readonly params: Tensor[],
    public lr: number,
  ) {}

  step(): void {
    for (const p of this.params) {
      if (!p.grad) continue;
      const g = p.grad.data;
      const d = p.data;
      for (let i = 0; i < p.size; i++) d[p.offset + i] -= this.lr * g[i];
    }
  }

  zeroGrad(): void {
    clearGrads(this.params);
  }
}

export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (AdamW); applied only to params for which `decay(name)` is true. */
  weightDecay?: number;
}

/**
 * Adam (Kingma & Ba 2015). Defaults are the paper's: β1 0.9, β2 0.98, ε 1e-9
 * ("Attention Is All You Need", §5.3). With weightDecay > 0 it is AdamW.
 */
export class Adam implements Optimizer {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number[];
  stepCount = 0;
  readonly m: Tensor[];
  readonly v: Tensor[];

  constructor(
    readonly params: Tensor[],
    opts: AdamOptions = {},
    /** Per-parameter weight decay; default opts.weightDecay for all. */
    decayMask?: boolean[],
  ) {
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.98;
    this.eps = opts.eps ?? 1e-9;
    const wd = opts.weightDecay ?? 0;
    this.weightDecay = params.map((_, i) => (decayMask && !decayMask[i] ? 0 : wd));
    for (const p of params) {
      if (!p.isContiguous()) throw new AttnError("Adam: parameters must be contiguous tensors");
    }
    this.m = params.map((p) => keep(zeros(p.shape, p.dtype)));
    this.v = params.map((p) => keep(zeros(p.shape, p.dtype)));
  }

  step(): void {
    this.stepCount++;
    const backend = getBackend();
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      backend.adam({
        param: (p.data as FloatArray).subarray(p.offset, p.offset + p.size),
        grad: p.grad.data as FloatArray,
        m: this.m[i].data as FloatArray,
        v: this.v[i].data as FloatArray,
        size: p.size,
        lr: this.lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay: this.weightDecay[i],
        step: this.stepCount,
      });
    });
  }

  zeroGrad(): void {
    clearGrads(this.params);
  }
}
