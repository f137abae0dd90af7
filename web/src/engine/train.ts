/**
 * Live training in the worker: Adam with a short linear warm-up on batches
 * drawn from the task with a seeded generator, so step N of a given
 * (task, size, seed, lr, batch) is the same model on every machine.
 */
import {
  Adam,
  crossEntropy,
  fromArray,
  makeSeq2SeqBatch,
  makeSplit,
  Mulberry32,
  noGrad,
  PAD_ID,
  tidy,
  trainStep,
  type Pair,
  type Seq2SeqBatch,
  type Tensor,
} from "../../../src/browser.js";
import type { Interventions, Sample, TrainPoint, TrainSettings } from "../protocol.js";
import { greedyDecode } from "./decode.js";
import { withInterventions } from "./interventions.js";
import { maxDecodeSteps, sourceIds } from "./analyze.js";
import type { LoadedSeq2Seq } from "./models.js";

const WARMUP = 30;
export const VALIDATION_SIZE = 64;

export class LiveTrainer {
  step = 0;
  readonly points: TrainPoint[] = [];
  private opt: Adam | null = null;
  private readonly rng: Mulberry32;
  private readonly val: Pair[];

  constructor(
    readonly lm: LoadedSeq2Seq,
    readonly seed: number,
  ) {
    this.rng = new Mulberry32(seed * 7919 + 1);
    this.val = makeSplit(lm.task, seed + 100_003, VALIDATION_SIZE);
  }

  /** A few fixed validation pairs (the samples shown while training). */
  get sampleSet(): Pair[] {
    return this.val.slice(0, 6);
  }

  private batch(pairs: Pair[]): Seq2SeqBatch {
    const tok = this.lm.tokenizer;
    const max = this.lm.config.maxLen - 1;
    return makeSeq2SeqBatch(
      pairs.map((p) => ({
        src: tok.encode(p.src).slice(0, max - 1),
        tgt: tok.encode(p.tgt).slice(0, max - 1),
      })),
    );
  }

  private tensors(b: Seq2SeqBatch): { src: Tensor; tin: Tensor; tout: Tensor } {
    return {
      src: fromArray(b.src, [b.size, b.srcLen], "int32"),
      tin: fromArray(b.tgtIn, [b.size, b.tgtLen], "int32"),
      tout: fromArray(b.tgtOut, [b.size, b.tgtLen], "int32"),
    };
  }

  /** One optimisation step; returns the training loss (as optimised) and token accuracy. */
  trainStep(settings: TrainSettings, iv: Interventions): TrainPoint {
    const model = this.lm.model;
    if (!this.opt) this.opt = new Adam(model.parameters(), { lr: settings.lr });
    const opt = this.opt;
    const pairs = Array.from({ length: settings.batch }, () => this.lm.task.sample(this.rng));
    const b = this.batch(pairs);
    model.train();
    const point = withInterventions(model, iv, () => {
      let acc = 0;
      const { loss } = trainStep([b], {
        parameters: model.parameters(),
        optimizer: opt,
        loss: (batch) => {
          const { src, tin, tout } = this.tensors(batch);
          const r = model.loss(src, tin, tout, settings.labelSmoothing);
          acc = tokenAccuracy(r.logits.readSync(), batch);
          return { loss: r.loss, tokens: batch.numTgtTokens };
        },
        lr: settings.lr * Math.min(1, (this.step + 1) / WARMUP),
        measureNorm: false,
        caller: "live training",
        step: this.step + 1,
      });
      opt.zeroGrad(); // the gradients are not shown: free them now
      return { loss, acc };
    });
    model.eval();
    this.step++;
    const p: TrainPoint = { step: this.step, ...point };
    this.points.push(p);
    return p;
  }

  /** Teacher-forced cross-entropy and token accuracy on the validation set, and greedy exact match on part of it. */
  evaluate(iv: Interventions): {
    valLoss: number;
    valAcc: number;
    valExact: number;
    samples: Sample[];
  } {
    const model = this.lm.model;
    model.eval();
    return withInterventions(model, iv, () => {
      const b = this.batch(this.val);
      const { valLoss, valAcc } = noGrad(() =>
        tidy(() => {
          const { src, tin, tout } = this.tensors(b);
          const logits = model.forward(src, tin);
          const l = crossEntropy(logits, tout, { ignoreIndex: PAD_ID }).item();
          return { valLoss: l, valAcc: tokenAccuracy(logits.readSync(), b) };
        }),
      );
      const tok = this.lm.tokenizer;
      const decoded = this.val.slice(0, 16).map((p) => ({
        ...p,
        out: tok.decode(
          greedyDecode(model, sourceIds(this.lm, p.src), maxDecodeSteps(this.lm)).ids,
        ),
      }));
      const valExact = decoded.filter((d) => d.out === d.tgt).length / decoded.length;
      return { valLoss, valAcc, valExact, samples: decoded.slice(0, 6) };
    });
  }
}

/** Fraction of non-PAD labels whose argmax is right. */
function tokenAccuracy(logits: ArrayLike<number>, b: Seq2SeqBatch): number {
  const V = logits.length / (b.size * b.tgtLen);
  let right = 0;
  let total = 0;
  for (let r = 0; r < b.size * b.tgtLen; r++) {
    const y = b.tgtOut[r];
    if (y === PAD_ID) continue;
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[r * V + v] > logits[r * V + best]) best = v;
    total++;
    if (best === y) right++;
  }
  return total > 0 ? right / total : 0;
}
