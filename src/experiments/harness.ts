/**
 * Trains the experiments' small models: one loop for every arm, built on the
 * library's training step (trainStep), Adam and the cosine schedule, so an
 * arm differs from its neighbour only in what the experiment changes.
 * Browser-safe: the explorer runs the --quick versions in the page.
 */
import type { Pair, Task } from "../data/tasks.js";
import { makeSeq2SeqBatch, type Seq2SeqBatch } from "../data/batching.js";
import { presetConfig, type EncoderDecoderConfig } from "../models/config.js";
import { Transformer, type ModelInterventions } from "../models/transformer.js";
import { greedyDecode } from "../generate/seq2seq.js";
import { argmax } from "../generate/select.js";
import { type CharTokenizer, trainCharTokenizer } from "../tokenizers/char.js";
import { Mulberry32, crossEntropy, fromArray, noGrad, tidy, type Tensor } from "../tensor/index.js";
import { Adam } from "../train/optim.js";
import { cosineSchedule } from "../train/schedules.js";
import { type TrainStepResult, trainStep } from "../train/step.js";

/**
 * The experiments' base model: the paper's architecture at d_model 64, 4 heads,
 * d_ff 256, 2 + 2 layers, no dropout (fresh examples every step: nothing to
 * memorise; the same as `attn train --task`).
 */
export const SMALL_SEQ2SEQ: Partial<EncoderDecoderConfig> = {
  dModel: 64,
  heads: 4,
  dFF: 256,
  encoderLayers: 2,
  decoderLayers: 2,
  dropout: 0,
  maxLen: 72,
};

/**
 * What the loop needs of a model: the Transformer (the default), or another
 * encoder-decoder on the same batch tensors (rnn-vs-transformer's GRU), which
 * then brings its own greedy decoding.
 */
export interface Seq2SeqLearner {
  readonly config: { vocabSize: number; padId: number };
  parameters(): Tensor[];
  train(mode?: boolean): unknown;
  eval(): unknown;
  /** Teacher-forced logits [B, T, V]. */
  forward(src: Tensor, tgtIn: Tensor): Tensor;
  loss(src: Tensor, tgtIn: Tensor, tgtOut: Tensor, labelSmoothing?: number): { loss: Tensor };
  /** Token ids without BOS/EOS per row (absent: the library's greedyDecode of a Transformer). */
  greedyDecode?(src: Tensor, maxLen: number): number[][];
}

export interface Seq2SeqTrial<M extends Seq2SeqLearner = Transformer> extends ArmBudget {
  /** The training distribution. */
  task: Task;
  /** Characters of the tokenizer (default the task's alphabet). */
  alphabet?: string;
  /** Overrides of SMALL_SEQ2SEQ: the one thing an arm changes, plus the seed. */
  model?: Partial<EncoderDecoderConfig>;
  /** Switches on during training and evaluation (e.g. no padding mask). */
  interventions?: ModelInterventions;
  batch: number;
  labelSmoothing?: number;
  /** Held-out sets by name: exact match, token accuracy and loss are measured on each. */
  evalSets?: Record<string, Pair[]>;
  /** After each step (e.g. to record a gradient norm); the model is in training mode. */
  onStep?: (info: { step: number; loss: number; gradNorm: number; model: M }) => void;
  /** Before the first step, with the freshly initialised model. */
  onInit?: (model: M, tok: CharTokenizer) => void;
  /** Builds another model than the small Transformer (then `model` and `interventions` do not apply). */
  makeModel?: (vocabSize: number, seed: number) => M;
}

export interface HeldOut {
  /** Greedy output equals the target exactly. */
  exact: number;
  /** Teacher-forced next-token accuracy over target tokens (EOS included). */
  tokenAcc: number;
  /** Teacher-forced cross-entropy (nats/token, no smoothing). */
  loss: number;
}

export interface Seq2SeqOutcome<M extends Seq2SeqLearner = Transformer> {
  model: M;
  tokenizer: CharTokenizer;
  /** Mean training loss (as optimised) over the last 10% of steps. */
  trainLoss: number;
  /** Training loss of every step. */
  losses: number[];
  evals: Record<string, HeldOut>;
  /** Wall time of the whole trial, and of its training steps alone. */
  ms: number;
  trainMs: number;
}

export function taskTokenizer(alphabet: string): CharTokenizer {
  return trainCharTokenizer([alphabet]);
}

export function smallSeq2SeqModel(
  vocabSize: number,
  overrides: Partial<EncoderDecoderConfig>,
): Transformer {
  return new Transformer(
    presetConfig("s2s-tiny", { ...SMALL_SEQ2SEQ, ...overrides, vocabSize }) as EncoderDecoderConfig,
  );
}

export function encodePairs(tok: CharTokenizer, pairs: readonly Pair[]): Seq2SeqBatch {
  return makeSeq2SeqBatch(pairs.map((p) => ({ src: tok.encode(p.src), tgt: tok.encode(p.tgt) })));
}

export function batchTensors(b: Seq2SeqBatch): { src: Tensor; tin: Tensor; tout: Tensor } {
  return {
    src: fromArray(b.src, [b.size, b.srcLen], "int32"),
    tin: fromArray(b.tgtIn, [b.size, b.tgtLen], "int32"),
    tout: fromArray(b.tgtOut, [b.size, b.tgtLen], "int32"),
  };
}

/** The budget of one arm's training: steps of `batch` fresh examples, Adam with a cosine schedule. */
export interface ArmBudget {
  seed: number;
  steps: number;
  /** Peak learning rate (default 2e-3) and warm-up steps (default 10% of steps). */
  lr?: number;
  warmup?: number;
  clipNorm?: number;
}

/**
 * The experiments' one training loop (seq2seq and GPT alike): `steps` calls of
 * the library's trainStep on fresh batches drawn from a generator seeded by the
 * arm's seed, Adam (β2 0.98) with warm-up and cosine decay, clipping at 1.
 * Returns every step's loss and the mean over the last 10% of steps.
 */
export function trainArm<B>(
  parameters: Tensor[],
  budget: ArmBudget,
  o: {
    model: { train(mode?: boolean): unknown };
    nextBatch: (rng: Mulberry32) => B;
    loss: (batch: B) => { loss: Tensor; tokens: number };
    onStep?: (step: number, r: TrainStepResult) => void;
  },
): { losses: number[]; trainLoss: number } {
  const rng = new Mulberry32(budget.seed * 7919 + 17);
  const lr = budget.lr ?? 2e-3;
  const opt = new Adam(parameters, { lr });
  const schedule = cosineSchedule({
    peakLr: lr,
    warmup: budget.warmup ?? Math.max(1, Math.round(budget.steps / 10)),
    totalSteps: budget.steps,
  });
  const losses: number[] = [];
  o.model.train();
  for (let step = 1; step <= budget.steps; step++) {
    const r = trainStep([o.nextBatch(rng)], {
      parameters,
      optimizer: opt,
      loss: o.loss,
      lr: schedule(step),
      clipNorm: budget.clipNorm ?? 1,
      caller: "experiment",
      step,
    });
    losses.push(r.loss);
    o.onStep?.(step, r);
  }
  const tail = losses.slice(-Math.max(1, Math.round(losses.length / 10)));
  return { losses, trainLoss: tail.reduce((a, b) => a + b, 0) / tail.length };
}

/** Trains one arm of a seq2seq experiment for `steps` steps and measures it on the held-out sets. */
export function trainSeq2Seq<M extends Seq2SeqLearner = Transformer>(
  t: Seq2SeqTrial<M>,
): Seq2SeqOutcome<M> {
  const start = performance.now();
  const tok = taskTokenizer(t.alphabet ?? t.task.alphabet);
  let model: M;
  if (t.makeModel) model = t.makeModel(tok.vocabSize, t.seed);
  else {
    const tr = smallSeq2SeqModel(tok.vocabSize, { seed: t.seed, ...t.model });
    tr.interventions = { ...t.interventions };
    model = tr as unknown as M;
  }
  t.onInit?.(model, tok);
  const { losses, trainLoss } = trainArm(model.parameters(), t, {
    model: model as { train(mode?: boolean): unknown },
    nextBatch: (rng) =>
      encodePairs(
        tok,
        Array.from({ length: t.batch }, () => t.task.sample(rng)),
      ),
    loss: (b) => {
      const { src, tin, tout } = batchTensors(b);
      return {
        loss: model.loss(src, tin, tout, t.labelSmoothing ?? 0).loss,
        tokens: b.numTgtTokens,
      };
    },
    onStep: (step, r) => t.onStep?.({ step, loss: r.loss, gradNorm: r.gradNorm, model }),
  });
  const trainMs = performance.now() - start;
  model.eval();
  const evals: Record<string, HeldOut> = {};
  for (const [name, pairs] of Object.entries(t.evalSets ?? {}))
    evals[name] = evaluateSeq2Seq(model, tok, pairs);
  return {
    model,
    tokenizer: tok,
    trainLoss,
    losses,
    evals,
    ms: performance.now() - start,
    trainMs,
  };
}

/** Exact match (greedy), token accuracy and loss (teacher-forced) on pairs, in batches of 100. */
export function evaluateSeq2Seq(
  model: Seq2SeqLearner,
  tok: CharTokenizer,
  pairs: readonly Pair[],
): HeldOut {
  let exact = 0;
  let correct = 0;
  let tokens = 0;
  let lossSum = 0;
  const { padId } = model.config;
  for (let i = 0; i < pairs.length; i += 100) {
    const chunk = pairs.slice(i, i + 100);
    const b = encodePairs(tok, chunk);
    noGrad(() =>
      tidy(() => {
        const { src, tin, tout } = batchTensors(b);
        const logits = model.forward(src, tin);
        lossSum += crossEntropy(logits, tout, { ignoreIndex: padId }).item() * b.numTgtTokens;
        const L = logits.readSync();
        const V = model.config.vocabSize;
        for (let r = 0; r < b.size * b.tgtLen; r++) {
          const y = b.tgtOut[r];
          if (y === padId) continue;
          if (argmax(L, r * V, V) === y) correct++;
          tokens++;
        }
        const maxTgt = Math.max(...chunk.map((p) => [...p.tgt].length));
        const outs = model.greedyDecode
          ? model.greedyDecode(src, maxTgt + 2)
          : greedyDecode(model as unknown as Transformer, src, { maxLen: maxTgt + 2 });
        outs.forEach((ids, r) => {
          if (tok.decode(ids) === chunk[r].tgt) exact++;
        });
      }),
    );
  }
  return { exact: exact / pairs.length, tokenAcc: correct / tokens, loss: lossSum / tokens };
}
