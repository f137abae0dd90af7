/**
 * One benchmark workload, built (model, optimizer, batches) untimed;
 * `step(i)` is the peer's unit of timed work. Phases can be timed (--profile).
 */
import { performance } from "node:perf_hooks";
import {
  AttnError,
  buildModel,
  decodeBatch,
  fromArray,
  generate,
  GPT,
  manualSeed,
  type ModelConfig,
  Mulberry32,
  presetConfig,
  type Tensor,
  Transformer,
} from "../index.js";
import { Adam, paperSchedule, trainStep } from "../train/index.js";
import {
  type BenchConfig,
  DATA_SEED,
  INIT_SEED,
  makeS2SBatch,
  makeTokenBlock,
} from "./bench-configs.js";

export interface Acc {
  ms: number;
  calls: number;
}

/** Wall-clock totals per named phase; a plain call when disabled. */
export class PhaseTimer {
  enabled = false;
  readonly totals = new Map<string, Acc>();

  run<T>(name: string, fn: () => T): T {
    if (!this.enabled) return fn();
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      const a = this.totals.get(name) ?? { ms: 0, calls: 0 };
      a.ms += performance.now() - t0;
      a.calls++;
      this.totals.set(name, a);
    }
  }
}

// ---------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------

function intTensor(values: Int32Array, shape: number[]): Tensor {
  return fromArray(values, shape, "int32");
}

/**
 * The constructor builds the model, the optimizer and all batches (untimed);
 * step(i) is one timed unit of work and returns its counted tokens.
 */
export class Workload {
  readonly phases = new PhaseTimer();
  lastLoss: number | null = null;
  lastOutput: Int32Array | null = null;
  readonly step: (i: number) => number;

  constructor(
    readonly name: string,
    readonly cfg: BenchConfig,
    nSteps: number,
    /** Changes to the model preset, for quick tests only; the benchmark uses none. */
    modelOverrides: Partial<ModelConfig> = {},
  ) {
    manualSeed(INIT_SEED);
    const modelCfg = presetConfig(cfg.model, { ...modelOverrides, seed: INIT_SEED });
    const model = buildModel(modelCfg);
    const V = modelCfg.vocabSize;
    const rng = new Mulberry32(DATA_SEED);
    const ph = this.phases;
    switch (cfg.kind) {
      case "s2s_train": {
        if (!(model instanceof Transformer)) throw new AttnError(`${name}: expected a Transformer`);
        const { batch: B, padTo: T } = cfg;
        const batches = Array.from({ length: nSteps }, () => {
          const b = makeS2SBatch(rng, B, cfg.minLen, cfg.maxLen, T, V);
          return {
            src: intTensor(b.src, [B, T]),
            decIn: intTensor(b.decIn, [B, T]),
            labels: intTensor(b.labels, [B, T]),
            nTgt: b.nTgt,
          };
        });
        model.train();
        const params = model.parameters();
        const opt = new Adam(params, {
          lr: 0,
          beta1: 0.9,
          beta2: 0.98,
          eps: 1e-9,
          weightDecay: 0,
        });
        // The peer's schedule: the paper's (§5.3), warm-up 4000, step n counted from 1.
        const lrAt = paperSchedule({ dModel: modelCfg.dModel, warmup: 4000 });
        let optStep = 0;
        this.step = (i) => {
          const { src, decIn, labels, nTgt } = batches[i];
          optStep++;
          // masks, forward, logits for all B x T positions, label-smoothed loss
          this.lastLoss = trainStep([null], {
            parameters: params,
            optimizer: opt,
            loss: () => ({ loss: model.loss(src, decIn, labels, 0.1).loss, tokens: nTgt }),
            lr: lrAt(optStep),
            measureNorm: false,
            phase: (n, f) => ph.run(n, f),
          }).loss;
          return nTgt;
        };
        break;
      }
      case "gpt_train": {
        if (!(model instanceof GPT)) throw new AttnError(`${name}: expected a GPT`);
        const { batch: B, seq: T } = cfg;
        const batches = Array.from({ length: nSteps }, () => {
          const block = makeTokenBlock(rng, B, T + 1, V);
          // x = block[:, :-1], y = block[:, 1:], as contiguous int32 tensors
          const x = new Int32Array(B * T);
          const y = new Int32Array(B * T);
          for (let b = 0; b < B; b++) {
            x.set(block.subarray(b * (T + 1), b * (T + 1) + T), b * T);
            y.set(block.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
          }
          return { x: intTensor(x, [B, T]), y: intTensor(y, [B, T]) };
        });
        model.train();
        const params = model.parameters();
        const opt = new Adam(params, {
          lr: 3e-4,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0.01, // AdamW, on all parameters
        });
        this.step = (i) => {
          const { x, y } = batches[i];
          this.lastLoss = trainStep([null], {
            parameters: params,
            optimizer: opt,
            loss: () => ({ loss: model.loss(x, y).loss, tokens: B * T }),
            lr: 3e-4,
            measureNorm: false,
            phase: (n, f) => ph.run(n, f),
          }).loss;
          return B * T;
        };
        break;
      }
      case "gpt_decode": {
        if (!(model instanceof GPT)) throw new AttnError(`${name}: expected a GPT`);
        const { batch: B, prompt: P, newTokens: N } = cfg;
        if (B !== 1) throw new AttnError(`${name}: batch must be 1`);
        const prompt = Array.from(makeTokenBlock(rng, B, P, V));
        model.eval();
        // attn generate's loop, greedy, exactly N new tokens (no stop token).
        this.step = () => {
          this.lastOutput = Int32Array.from(
            generate(model, prompt, {
              maxNewTokens: N,
              temperature: 0,
              cache: cfg.cache,
              phase: (n, f) => ph.run(n, f),
            }),
          );
          return B * N;
        };
        break;
      }
      case "s2s_translate": {
        if (!(model instanceof Transformer)) throw new AttnError(`${name}: expected a Transformer`);
        const { batch: B, srcLen: S, newTokens: N } = cfg;
        // S - 1 random tokens per row; the decode loop appends EOS, so the encoder sees S.
        const block = makeTokenBlock(rng, B, S, V);
        const sources = Array.from({ length: B }, (_, b) =>
          Array.from(block.subarray(b * S, b * S + S - 1)),
        );
        model.eval();
        const out = new Int32Array(B * N);
        // attn translate's loop, greedy, N tokens for every row (EOS does not stop a row).
        this.step = () => {
          const hyps = decodeBatch(model, sources, {
            maxLen: N,
            fixedLength: true,
            phase: (n, f) => ph.run(n, f),
          });
          for (let b = 0; b < B; b++) out.set(hyps[b][0].tokens, b * N);
          this.lastOutput = out;
          return B * N;
        };
        break;
      }
    }
  }
}
