/**
 * One optimisation step, the one every training loop runs (the Trainer,
 * `attn bench` and the explorer's live trainer):
 *
 *   zero the gradients;
 *   for each micro-batch i: loss_i, backward with weight tokens_i;
 *   g ← Σ g_i / Σ tokens_i (so N micro-batches equal one batch of all their tokens);
 *   optionally clip to a global norm;
 *   θ ← optimizer(θ, g) at learning rate lr.
 *
 * The model's loss is the mean over the micro-batch's tokens, so the
 * weighting is exact. One micro-batch is a plain backward. The step reads
 * the backend once: the summed loss and the squared gradient norm together,
 * before the update (a device backend syncs once per step).
 */
import { AttnError } from "../errors.js";
import {
  type Tensor,
  detach,
  full,
  keep,
  mul,
  reshape,
  stack,
  sum,
  tidy,
} from "../tensor/index.js";
import { gradNormSquared, scaleGrads } from "./clip.js";
import { type Optimizer, clearGrads } from "./optim.js";

export interface TrainStepOptions<B> {
  /** The model's parameters: their grads are cleared first, then clipped and measured. */
  parameters: readonly Tensor[];
  optimizer: Optimizer;
  /** The mean loss over one micro-batch (a one-element tensor) and its token count. */
  loss: (batch: B) => { loss: Tensor; tokens: number };
  /** Learning rate of this step. */
  lr: number;
  /** Clip the global gradient norm to this (default: no clipping). */
  clipNorm?: number;
  /** Measure the gradient norm when not clipping (default true; benchmarks skip it). */
  measureNorm?: boolean;
  /** A non-finite loss or norm: "error" (default) or "skip" the update. */
  nonFinite?: "error" | "skip";
  /** Who runs the step and its number, for messages (default "trainStep"). */
  caller?: string;
  step?: number;
  /**
   * Runs each phase (zero_grad, forward+loss, backward, read_loss, clip,
   * optimizer); a profiler times them. Default: calls fn. read_loss is the
   * step's one read of the backend (loss and gradient norm).
   */
  phase?: <T>(name: string, fn: () => T) => T;
}

export interface TrainStepResult {
  /** Mean loss over all tokens of the step. */
  loss: number;
  tokens: number;
  /** Global gradient norm before clipping (NaN when not measured). */
  gradNorm: number;
  /** The update was skipped (non-finite loss or norm, nonFinite "skip"). */
  skipped: boolean;
}

const run = <T>(_name: string, fn: () => T): T => fn();

/** One optimizer step over the micro-batches of `batches` (at least one). */
export function trainStep<B>(batches: readonly B[], o: TrainStepOptions<B>): TrainStepResult {
  const at = `${o.caller ?? "trainStep"}${o.step !== undefined ? `: step ${o.step}` : ""}`;
  if (!Array.isArray(batches) || batches.length === 0) {
    throw new AttnError(`${at}: no micro-batches`);
  }
  const phase = o.phase ?? run;
  return tidy(() => {
    phase("zero_grad", () => clearGrads(o.parameters));
    let tokens = 0;
    // loss_i · tokens_i of each micro-batch, on the backend until the step's one read.
    const weighted: Tensor[] = [];
    const dropWeighted = () => {
      for (const w of weighted) w.dispose();
    };
    try {
      for (const batch of batches) {
        tidy(() => {
          const { loss, tokens: t } = phase("forward+loss", () => o.loss(batch));
          if (!(Number.isFinite(t) && t >= 0)) {
            throw new AttnError(`${at}: loss() gave a token count of ${t}`);
          }
          if (loss.size !== 1) {
            throw new AttnError(
              `${at}: loss() must give a one-element tensor, got shape [${loss.shape}]`,
            );
          }
          if (t === 0) return;
          tokens += t;
          phase("backward", () => {
            if (batches.length === 1) loss.backward();
            else loss.backward(full(loss.shape, t, loss.dtype));
          });
          weighted.push(keep(mul(reshape(detach(loss), []), t)));
        });
      }
    } catch (e) {
      dropWeighted();
      throw e;
    }
    if (tokens === 0) {
      dropWeighted();
      throw new AttnError(`${at}: the micro-batches hold no tokens`);
    }
    if (batches.length > 1) scaleGrads(o.parameters, 1 / tokens);
    const measured = o.clipNorm !== undefined || o.measureNorm !== false;
    const [lossTotal, normSq] = phase("read_loss", () => {
      const total = sum(stack(weighted));
      dropWeighted();
      const parts = measured ? [total, gradNormSquared(o.parameters)] : [total];
      return Array.from(stack(parts).readSync());
    });
    const loss = lossTotal / tokens;
    const norm = measured ? Math.sqrt(normSq) : Number.NaN;
    // Clipping (PyTorch's clip_grad_norm_): scale by maxNorm / (norm + 1e-6) when above it.
    if (o.clipNorm !== undefined && Number.isFinite(norm) && norm > o.clipNorm) {
      const factor = o.clipNorm / (norm + 1e-6);
      phase("clip", () => scaleGrads(o.parameters, factor));
    }
    if (!Number.isFinite(loss) || (measured && !Number.isFinite(norm))) {
      clearGrads(o.parameters);
      const what = Number.isFinite(loss) ? `gradient norm is ${norm}` : `loss is ${loss}`;
      if (o.nonFinite !== "skip") {
        throw new AttnError(
          `${at}: the ${what}; training diverged (try a lower learning rate or gradient clipping)`,
        );
      }
      return { loss, tokens, gradNorm: norm, skipped: true };
    }
    o.optimizer.lr = o.lr;
    phase("optimizer", () => o.optimizer.step());
    return { loss, tokens, gradNorm: norm, skipped: false };
  });
}
