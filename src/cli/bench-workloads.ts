/**
 * One benchmark workload, built (model, optimizer, batches) untimed;
 * `step(i)` is the peer's unit of timed work. Phases can be timed (--profile).
 */
import { performance } from "node:perf_hooks";
import { AttnError } from "../errors.js";
import { argmax } from "../generate/select.js";
import {
  GPT,
  freeDecodingCaches,
  freeGPTCaches,
  type ModelConfig,
  Transformer,
  buildModel,
  presetConfig,
} from "../models/index.js";
import { Mulberry32, type Tensor, fromArray, manualSeed, noGrad, tidy } from "../tensor/index.js";
import { BOS_ID as BOS } from "../tokenizers/tokenizer.js";
import { trainStep } from "../train/step.js";
import { Adam } from "../train/optim.js";
import { paperSchedule } from "../train/schedules.js";
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

/** Row-wise argmax of contiguous logits [rows, 1, V] (or [rows, V]). */
function argmaxRows(logits: Tensor, rows: number, out: Int32Array): void {
  const V = logits.shape[logits.rank - 1];
  const data = logits.isContiguous() ? logits.data : logits.values();
  const base = logits.isContiguous() ? logits.offset : 0;
  for (let r = 0; r < rows; r++) out[r] = argmax(data, base + r * V, V);
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
        const promptIds = makeTokenBlock(rng, B, P, V);
        const promptT = intTensor(promptIds, [B, P]);
        model.eval();
        const seq = new Int32Array(P + N);
        const next = new Int32Array(1);
        this.step = () =>
          noGrad(() => {
            seq.set(promptIds);
            let cur = P;
            if (cfg.cache) {
              const state = model.startDecoding();
              try {
                tidy(() => {
                  const logits = ph.run("prefill", () =>
                    model.forward(promptT, { state, lastOnly: true }),
                  );
                  ph.run("argmax", () => argmaxRows(logits, 1, next));
                });
                seq[cur++] = next[0];
                while (cur < P + N) {
                  tidy(() => {
                    const logits = ph.run("decode_token", () =>
                      model.forward(intTensor(seq.subarray(cur - 1, cur), [1, 1]), {
                        state,
                        lastOnly: true,
                      }),
                    );
                    ph.run("argmax", () => argmaxRows(logits, 1, next));
                  });
                  seq[cur++] = next[0];
                }
              } finally {
                freeGPTCaches(state);
              }
            } else {
              while (cur < P + N) {
                tidy(() => {
                  const logits = ph.run(cur === P ? "prefill" : "full_forward", () =>
                    model.forward(intTensor(seq.slice(0, cur), [1, cur]), { lastOnly: true }),
                  );
                  ph.run("argmax", () => argmaxRows(logits, 1, next));
                });
                seq[cur++] = next[0];
              }
            }
            this.lastOutput = seq.slice(P);
            return B * N;
          });
        break;
      }
      case "s2s_translate": {
        if (!(model instanceof Transformer)) throw new AttnError(`${name}: expected a Transformer`);
        const { batch: B, srcLen: S, newTokens: N } = cfg;
        const src = intTensor(makeTokenBlock(rng, B, S, V), [B, S]);
        model.eval();
        const tok = new Int32Array(B);
        const out = new Int32Array(B * N);
        this.step = () =>
          noGrad(() =>
            tidy(() => {
              // source padding mask + encoder; cross-attention K/V are computed once,
              // into the model's per-layer cache, on the first decodeStep.
              const state = ph.run("encode", () => model.startDecoding(src));
              try {
                tok.fill(BOS);
                for (let t = 0; t < N; t++) {
                  tidy(() => {
                    const logits = ph.run(t === 0 ? "decode_step0(+cross_kv)" : "decode_step", () =>
                      model.decodeStep(state, intTensor(tok, [B, 1])),
                    );
                    ph.run("argmax", () => argmaxRows(logits, B, tok));
                  });
                  for (let b = 0; b < B; b++) out[b * N + t] = tok[b];
                }
              } finally {
                freeDecodingCaches(state);
              }
              this.lastOutput = out;
              return B * N;
            }),
          );
        break;
      }
    }
  }
}
