/**
 * Trains the experiments' small GPT as a language model on a seq2seq task
 * rendered as text ("abc>cba."), with the loss on every next token: the same
 * recipe as harness.ts (trainStep, Adam, cosine schedule, clip 1, fresh
 * samples every step), so arms differ only in what the experiment changes.
 * Browser-safe.
 */
import type { Pair, Task } from "../data/tasks.js";
import { generateBatch } from "../generate/lm.js";
import { argmax } from "../generate/select.js";
import { GPT } from "../models/gpt.js";
import { type GPTConfig, presetConfig } from "../models/config.js";
import type { ModelInterventions } from "../models/transformer.js";
import { crossEntropy, fromArray, noGrad, tidy, type Tensor } from "../tensor/index.js";
import type { CharTokenizer } from "../tokenizers/char.js";
import { BOS_ID, PAD_ID } from "../tokenizers/tokenizer.js";
import { type ArmBudget, taskTokenizer, trainArm } from "./harness.js";

/** Between the question and the answer, and after the answer (generation stops there). */
export const LM_SEP = ">";
export const LM_END = ".";

/** The experiments' GPT: d_model 64, 4 heads, d_ff 256, 2 layers, no dropout. */
export const SMALL_GPT: Partial<GPTConfig> = {
  dModel: 64,
  heads: 4,
  dFF: 256,
  layers: 2,
  dropout: 0,
  attnDropout: 0,
  maxLen: 48,
};

export interface LMTrial extends ArmBudget {
  /** The training distribution (pairs rendered as "src>tgt."). */
  task: Task;
  /** Overrides of SMALL_GPT: the one thing an arm changes. */
  model?: Partial<GPTConfig>;
  /** Switches on during training and evaluation (e.g. no causal mask). */
  interventions?: ModelInterventions;
  batch: number;
  /** Held-out sets by name: loss, answer accuracy (teacher-forced) and exact match (generated). */
  evalSets?: Record<string, Pair[]>;
  onStep?: (info: { step: number; loss: number; gradNorm: number; model: GPT }) => void;
}

export interface LMHeldOut {
  /** Teacher-forced next-token cross-entropy over every token (nats/token). */
  loss: number;
  /** Teacher-forced argmax accuracy on the answer's tokens (the end marker included). */
  answerAcc: number;
  /** Greedy continuation of "src>" (incremental, KV cache) equals the answer exactly. */
  exact: number;
}

export interface LMOutcome {
  model: GPT;
  tokenizer: CharTokenizer;
  /** Mean training loss over the last 10% of steps. */
  trainLoss: number;
  losses: number[];
  evals: Record<string, LMHeldOut>;
  ms: number;
}

/** The tokenizer of a task's text: its alphabet plus the separator and end marker. */
export function lmTokenizer(task: Task): CharTokenizer {
  return taskTokenizer(task.alphabet + LM_SEP + LM_END);
}

/** BOS, then "src>tgt." as ids; `answerStart` is the index of the answer's first token. */
export function renderPair(tok: CharTokenizer, p: Pair): { ids: number[]; answerStart: number } {
  const prompt = [BOS_ID, ...tok.encode(p.src + LM_SEP)];
  return { ids: [...prompt, ...tok.encode(p.tgt + LM_END)], answerStart: prompt.length };
}

export interface LMBatch {
  size: number;
  length: number;
  /** [size, length]: ids[0..n-1], then PAD. */
  inputs: Int32Array;
  /** [size, length]: ids[1..n], then PAD (ignored by the loss). */
  targets: Int32Array;
  /** Per row: the position whose target is the answer's first token. */
  answerFrom: number[];
  tokens: number;
}

/** Next-token inputs and targets of the pairs, right-padded with PAD to the longest row. */
export function lmBatch(tok: CharTokenizer, pairs: readonly Pair[]): LMBatch {
  const rows = pairs.map((p) => renderPair(tok, p));
  const length = Math.max(...rows.map((r) => r.ids.length - 1));
  const inputs = new Int32Array(pairs.length * length).fill(PAD_ID);
  const targets = new Int32Array(pairs.length * length).fill(PAD_ID);
  let tokens = 0;
  rows.forEach(({ ids }, b) => {
    inputs.set(ids.slice(0, -1), b * length);
    targets.set(ids.slice(1), b * length);
    tokens += ids.length - 1;
  });
  return {
    size: pairs.length,
    length,
    inputs,
    targets,
    answerFrom: rows.map((r) => r.answerStart - 1),
    tokens,
  };
}

function batchTensors(b: LMBatch): { x: Tensor; y: Tensor } {
  return {
    x: fromArray(b.inputs, [b.size, b.length], "int32"),
    y: fromArray(b.targets, [b.size, b.length], "int32"),
  };
}

export function smallGPT(vocabSize: number, overrides: Partial<GPTConfig>): GPT {
  return new GPT(presetConfig("gpt-tiny", { ...SMALL_GPT, ...overrides, vocabSize }) as GPTConfig);
}

/** Trains one arm for `steps` steps and measures it on the held-out sets. */
export function trainLM(t: LMTrial): LMOutcome {
  const start = performance.now();
  const tok = lmTokenizer(t.task);
  const model = smallGPT(tok.vocabSize, { seed: t.seed, ...t.model });
  model.interventions = { ...t.interventions };
  const { losses, trainLoss } = trainArm(model.parameters(), t, {
    model,
    nextBatch: (rng) =>
      lmBatch(
        tok,
        Array.from({ length: t.batch }, () => t.task.sample(rng)),
      ),
    loss: (b) => {
      const { x, y } = batchTensors(b);
      return { loss: model.loss(x, y, { ignoreIndex: PAD_ID }).loss, tokens: b.tokens };
    },
    onStep: (step, r) => t.onStep?.({ step, loss: r.loss, gradNorm: r.gradNorm, model }),
  });
  model.eval();
  const evals: Record<string, LMHeldOut> = {};
  for (const [name, pairs] of Object.entries(t.evalSets ?? {}))
    evals[name] = evaluateLM(model, tok, pairs);
  return {
    model,
    tokenizer: tok,
    trainLoss,
    losses,
    evals,
    ms: performance.now() - start,
  };
}

/**
 * Teacher-forced loss and answer accuracy (one forward over the whole text,
 * as in training), and exact match of the greedy continuation of "src>"
 * (the library's incremental generation), in batches of 100.
 */
export function evaluateLM(model: GPT, tok: CharTokenizer, pairs: readonly Pair[]): LMHeldOut {
  const V = model.config.vocabSize;
  const end = tok.encode(LM_END)[0];
  let lossSum = 0;
  let tokens = 0;
  let correct = 0;
  let answerTokens = 0;
  for (let i = 0; i < pairs.length; i += 100) {
    const b = lmBatch(tok, pairs.slice(i, i + 100));
    noGrad(() =>
      tidy(() => {
        const { x, y } = batchTensors(b);
        const logits = model.forward(x);
        lossSum += crossEntropy(logits, y, { ignoreIndex: PAD_ID }).item() * b.tokens;
        tokens += b.tokens;
        const L = logits.readSync();
        for (let r = 0; r < b.size; r++) {
          for (let t = b.answerFrom[r]; t < b.length; t++) {
            const at = r * b.length + t;
            if (b.targets[at] === PAD_ID) break;
            if (argmax(L, at * V, V) === b.targets[at]) correct++;
            answerTokens++;
          }
        }
      }),
    );
  }
  const prompts = pairs.map((p) => [BOS_ID, ...tok.encode(p.src + LM_SEP)]);
  const maxNewTokens = Math.max(...pairs.map((p) => [...p.tgt].length)) + 1;
  const outs = generateBatch(model, prompts, { temperature: 0, maxNewTokens, stop: [end] });
  let exact = 0;
  outs.forEach((ids, r) => {
    // Exact: the answer's ids, then the end marker (generation ended before its limit).
    const want = tok.encode(pairs[r].tgt);
    if (
      ids.length < maxNewTokens &&
      ids.length === want.length &&
      ids.every((id, j) => id === want[j])
    )
      exact++;
  });
  return { loss: lossSum / tokens, answerAcc: correct / answerTokens, exact: exact / pairs.length };
}
