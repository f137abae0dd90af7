/** Optimisers: plain SGD, Adam (the paper's settings by default) and AdamW. They update parameters in place. */
import { AttnError } from "../errors.js";
import { type Tensor, adamUpdate, assign, keep, sgdUpdate, zeros } from "../tensor/index.js";

export interface Optimizer {
  readonly params: Tensor[];
  lr: number;
  step(): void;
  zeroGrad(): void;
}

/** Drops every parameter's gradient (the next backward starts from zero). */
export function clearGrads(params: readonly Tensor[]): void {
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
    for (const p of this.params) if (p.grad) sgdUpdate(p, p.grad, this.lr);
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
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      adamUpdate(p, p.grad, this.m[i], this.v[i], {
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

  /** Copies of the step count and the moments (for checkpoints). */
  exportState(): AdamState {
    return exportAdamState(this);
  }

  /** Restores exportState()'s result; sizes must match. */
  importState(state: AdamState): void {
    importAdamState(this, state);
  }
}

/** The state of an Adam optimizer: its step count and the moments m and v, one per parameter (in `params` order). */
export interface AdamState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

/** Copies of Adam's step count and moments (for checkpoints). */
export function exportAdamState(opt: Adam): AdamState {
  return {
    step: opt.stepCount,
    m: opt.m.map((t) => Float32Array.from(t.readSync())),
    v: opt.v.map((t) => Float32Array.from(t.readSync())),
  };
}

/** Restores what exportAdamState gave; the number and sizes of the moments must match the parameters. */
export function importAdamState(opt: Adam, state: AdamState): void {
  const n = opt.params.length;
  if (!Number.isSafeInteger(state.step) || state.step < 0) {
    throw new AttnError(`Adam state: step must be a non-negative integer, got ${state.step}`);
  }
  if (state.m.length !== n || state.v.length !== n) {
    throw new AttnError(
      `Adam state: has moments for ${state.m.length}/${state.v.length} parameters, the optimizer has ${n}`,
    );
  }
  for (let i = 0; i < n; i++) {
    const size = opt.params[i].size;
    if (state.m[i].length !== size || state.v[i].length !== size) {
      throw new AttnError(
        `Adam state: parameter ${i} has ${size} elements, the saved moments have ${state.m[i].length}/${state.v[i].length}`,
      );
    }
  }
  for (let i = 0; i < n; i++) {
    assign(opt.m[i], state.m[i]);
    assign(opt.v[i], state.v[i]);
  }
  opt.stepCount = state.step;
}

export interface DecayMaskOptions {
  /** Exclude biases: names whose last part is "bias" (default true). */
  excludeBias?: boolean;
  /** Exclude normalization parameters: a module name containing "norm", or "ln", "ln_f", "ln1", "ln_2"... (default true). */
  excludeNorm?: boolean;
  /** Exclude embedding tables: "<module>.weight" where the module name contains "embed" (default true). */
  excludeEmbedding?: boolean;
  /** Further names to exclude. */
  exclude?: (name: string) => boolean;
}

/**
 * AdamW's decay mask from parameter names (true = apply weight decay), for
 * `new Adam(params, {weightDecay}, decayMask(named))`. Names are split at "."; the
 * last part is the parameter ("weight", "bias"), the one before it the module.
 * Matching is case-insensitive:
 * - bias: the last part is "bias";
 * - norm: the module part contains "norm" (norm, norm1, layer_norm, final_norm,
 *   LayerNorm) or is "ln" optionally followed by digits / "_..." (ln, ln1, ln_f);
 * - embedding: the module part contains "embed" (embed, tok_embed, pos_embed, embedding).
 * A weight tied to an embedding is listed once by Module.namedParameters, under its first name.
 */
export function decayMask(
  named: readonly (readonly [string, unknown])[],
  opts: DecayMaskOptions = {},
): boolean[] {
  const { excludeBias = true, excludeNorm = true, excludeEmbedding = true } = opts;
  return named.map(([name]) => {
    const parts = name.toLowerCase().split(".");
    const last = parts[parts.length - 1];
    const mod = parts.length > 1 ? parts[parts.length - 2] : "";
    if (excludeBias && last === "bias") return false;
    if (excludeNorm && (mod.includes("norm") || /^ln(\d+|_.*)?$/.test(mod))) return false;
    if (excludeEmbedding && mod.includes("embed")) return false;
    if (opts.exclude?.(name)) return false;
    return true;
  });
}
