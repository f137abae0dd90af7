/**
 * A training recipe: what a run trains on (a shipped task, a parallel TSV, or
 * plain text), how its data is tokenized and batched, and how it is judged.
 * It is stored as config.json in every checkpoint, so `attn eval`,
 * `translate` and `generate` rebuild exactly the same pieces.
 */
import { AttnError } from "../errors.js";
import type { Seq2SeqBatch } from "../data/batching.js";
import { readParallelTsv, readText } from "../data/readers.js";
import { type LmBatch, LmSource, PairsSource, TaskSource } from "../data/sources.js";
import { type Pair, getTask, makeSplit } from "../data/tasks.js";
import { translateAll } from "../generate/translate.js";
import { type ModelConfig, validateConfig } from "../models/config.js";
import type { GPT } from "../models/gpt.js";
import type { Transformer } from "../models/transformer.js";
import {
  type Tokenizer,
  createByteTokenizer,
  trainBpeTokenizer,
  trainCharTokenizer,
  trainWordTokenizer,
} from "../tokenizers/index.js";
import { fromArray, noGrad, tidy } from "../tensor/index.js";
import { corpusBleu, exactMatch, perplexity } from "./metrics.js";
import type { DataSource, Metrics, TrainableModel } from "./trainer.js";

export type DataSpec =
  | { kind: "task"; task: string; trainSeed: number; evalSeed: number; evalSize: number }
  | {
      kind: "tsv";
      path: string;
      columns?: string[];
      src: string | number;
      tgt: string | number;
      dev?: string;
      onBadLine: "skip" | "error";
      /** Pairs with more tokens than this on either side are left out of training. */
      maxLen: number;
      evalSize: number;
    }
  | { kind: "text"; path: string; holdout: number; evalSize: number };

export interface TrainSpec {
  /** Examples per step (tasks), sequences per step (text). */
  batchSize: number;
  /** Padded tokens per batch (TSV corpora). */
  maxTokens: number;
  /** Optimizer steps (0: no step limit, the time budget is the horizon). */
  steps: number;
  /** Training-time budget in ms (pauses excluded); with steps, whichever comes first. */
  timeMs?: number;
  lr: number;
  warmup: number;
  schedule: "cosine" | "linear" | "paper" | "constant";
  /** cosine/linear decay to lr · minLrFraction (default 0.05). */
  minLrFraction?: number;
  /** Average the last N checkpoints at the end (0/1: off), spaced averageEvery of the horizon. */
  averageLast?: number;
  averageEvery?: number;
  labelSmoothing: number;
  clipNorm: number;
  weightDecay: number;
  seed: number;
  evalEvery: number;
}

export interface RunConfig {
  format: "attention-lab-run";
  version: 1;
  model: ModelConfig;
  data: DataSpec;
  train: TrainSpec;
}

export type TokenizerKind = "char" | "byte" | "bpe" | "word";

/** Reads a run's data files once (TSV pairs or text), checking them. */
export interface LoadedData {
  train: Pair[] | string | null;
  dev: Pair[] | string | null;
  warnings: string[];
}

export function loadData(spec: DataSpec, opts: { needTrain: boolean }): LoadedData {
  const warnings: string[] = [];
  if (spec.kind === "task") {
    getTask(spec.task); // validates the name
    return { train: null, dev: null, warnings };
  }
  if (spec.kind === "tsv") {
    const read = (path: string) => {
      const r = readParallelTsv(path, {
        srcColumn: spec.src,
        tgtColumn: spec.tgt,
        columns: spec.columns,
        onBadLine: spec.onBadLine,
      });
      if (r.badLines.length > 0) {
        warnings.push(
          `${path}: skipped ${r.badLines.length} bad lines (first: ${r.badLines.slice(0, 5).join(", ")})`,
        );
      }
      return r.pairs;
    };
    const train = opts.needTrain ? read(spec.path) : null;
    let dev: Pair[] | null = spec.dev ? read(spec.dev) : null;
    if (!dev && train) {
      // No dev file: hold out every 50th pair.
      dev = train.filter((_, i) => i % 50 === 49);
    }
    return {
      train: train ? train.filter((_, i) => spec.dev || i % 50 !== 49) : null,
      dev,
      warnings,
    };
  }
  const text = readText(spec.path);
  if (text.trim().length === 0) throw new AttnError(`${spec.path}: the text is empty`);
  const cut = Math.floor(text.length * (1 - spec.holdout));
  return { train: text.slice(0, cut), dev: text.slice(cut), warnings };
}

/** Builds the tokenizer a new run trains with. */
export function buildTokenizer(
  spec: DataSpec,
  data: LoadedData,
  kind: TokenizerKind,
  vocabSize: number,
): Tokenizer {
  if (spec.kind === "task") return trainCharTokenizer([getTask(spec.task).alphabet]);
  const texts =
    spec.kind === "tsv"
      ? (data.train as Pair[]).flatMap((p) => [p.src, p.tgt])
      : [data.train as string];
  if (kind === "byte") return createByteTokenizer();
  if (kind === "bpe") return trainBpeTokenizer(texts, { vocabSize });
  // Words (lossy: decoding joins tokens with spaces); the vocabulary keeps the most frequent.
  if (kind === "word") return trainWordTokenizer(texts, { maxVocab: vocabSize || undefined });
  return trainCharTokenizer(texts);
}

export function checkVocab(model: ModelConfig, tokenizer: Tokenizer, where: string): void {
  if (model.vocabSize !== tokenizer.vocabSize) {
    throw new AttnError(
      `${where}: config.json's model has a vocabulary of ${model.vocabSize}, tokenizer.json has ${tokenizer.vocabSize}; they come from different runs`,
    );
  }
}

type Seq2Seq = Transformer;

/** The Trainer's view of a seq2seq model. */
export function seq2seqTrainable(
  model: Seq2Seq,
  labelSmoothing: number,
): TrainableModel<Seq2SeqBatch> {
  return {
    module: model,
    loss: (b) => ({
      loss: model.loss(
        fromArray(b.src, [b.size, b.srcLen], "int32"),
        fromArray(b.tgtIn, [b.size, b.tgtLen], "int32"),
        fromArray(b.tgtOut, [b.size, b.tgtLen], "int32"),
        labelSmoothing,
      ).loss,
      tokens: b.numTgtTokens,
    }),
  };
}

export function lmTrainable(model: GPT, labelSmoothing: number): TrainableModel<LmBatch> {
  return {
    module: model,
    loss: (b) => ({
      loss: model.loss(
        fromArray(b.input, [b.batch, b.context], "int32"),
        fromArray(b.target, [b.batch, b.context], "int32"),
        labelSmoothing,
      ).loss,
      tokens: b.batch * b.context,
    }),
  };
}

export function trainingSource(
  cfg: RunConfig,
  data: LoadedData,
  tok: Tokenizer,
): DataSource<Seq2SeqBatch> | DataSource<LmBatch> {
  const spec = cfg.data;
  const t = cfg.train;
  const encode = (s: string) => tok.encode(s);
  if (spec.kind === "task")
    return new TaskSource(getTask(spec.task), encode, t.batchSize, spec.trainSeed);
  if (spec.kind === "tsv") {
    const examples = (data.train as Pair[])
      .map((p) => ({ src: encode(p.src), tgt: tok.encode(p.tgt, { side: "target" }) }))
      .filter((e) => e.src.length + 1 <= spec.maxLen && e.tgt.length + 1 <= spec.maxLen);
    return new PairsSource(examples, t.maxTokens, t.seed);
  }
  if (cfg.model.kind !== "gpt")
    throw new AttnError("plain-text data trains a GPT model (use --model gpt-*)");
  return new LmSource(
    Int32Array.from(encode(data.train as string)),
    Math.min(cfg.model.maxLen, 256),
    t.batchSize,
    t.seed,
  );
}

/** Held-out pairs of a seq2seq run. */
export function heldOutPairs(cfg: RunConfig, data: LoadedData, limit?: number): Pair[] {
  const spec = cfg.data;
  if (spec.kind === "task")
    return makeSplit(getTask(spec.task), spec.evalSeed, limit ?? spec.evalSize);
  if (spec.kind === "tsv") return (data.dev as Pair[]).slice(0, limit ?? spec.evalSize);
  throw new AttnError("held-out pairs exist only for translation runs");
}

/** Translations of many sentences in input order (moved to src/generate/translate.ts). */
export { translateAll } from "../generate/translate.js";

/** Held-out metrics: exact match and token-level accuracy for tasks, BLEU for corpora, perplexity for text. */
export function evaluateRun(
  cfg: RunConfig,
  model: Transformer | GPT,
  tok: Tokenizer,
  data: LoadedData,
  opts: { limit?: number; beam?: number; alpha?: number; maxLen?: number } = {},
): Metrics {
  const wasTraining = model.training;
  model.eval();
  try {
    if (cfg.data.kind === "text")
      return languageModelMetrics(
        model as GPT,
        tok,
        data.dev as string,
        opts.limit ?? cfg.data.evalSize,
      );
    const pairs = heldOutPairs(cfg, data, opts.limit);
    const hyps = translateAll(
      model as Transformer,
      tok,
      pairs.map((p) => p.src),
      { beam: opts.beam, alpha: opts.alpha, maxLen: opts.maxLen },
    );
    const refs = pairs.map((p) => p.tgt);
    const metrics: Metrics = { exact_match: exactMatch(hyps, refs), n: pairs.length };
    if (cfg.data.kind === "tsv") metrics.bleu = corpusBleu(hyps, refs).score;
    return metrics;
  } finally {
    model.train(wasTraining);
  }
}

/** Mean next-token loss over (at most `windows`) windows of a held-out text, as perplexity. */
export function languageModelMetrics(
  model: GPT,
  tok: Tokenizer,
  text: string,
  windows: number,
): Metrics {
  const ids = tok.encode(text);
  const T = Math.min(model.config.maxLen, 256);
  let total = 0;
  let count = 0;
  for (let w = 0; w < windows && (w + 1) * T + 1 <= ids.length; w++) {
    const input = ids.slice(w * T, (w + 1) * T);
    const target = ids.slice(w * T + 1, (w + 1) * T + 1);
    total +=
      noGrad(() =>
        tidy(() =>
          model
            .loss(fromArray(input, [1, T], "int32"), fromArray(target, [1, T], "int32"))
            .loss.item(),
        ),
      ) * T;
    count += T;
  }
  if (count === 0) throw new AttnError("held-out text is too short to measure perplexity");
  return { loss: total / count, perplexity: perplexity(total / count), tokens: count };
}

export function validateRunConfig(cfg: unknown, where: string): RunConfig {
  const c = cfg as RunConfig;
  if (c?.format !== "attention-lab-run" || !c.model || !c.data || !c.train) {
    throw new AttnError(`${where}: config.json is not an Attention Lab run configuration`);
  }
  const bad = (field: string, why: string, v: unknown): never => {
    const shown = String(JSON.stringify(v) ?? v);
    throw new AttnError(
      `${where}: config.json: ${field} ${why}, got ${shown.length > 40 ? `${shown.slice(0, 37)}...` : shown}`,
    );
  };
  if (c.version !== 1) bad("version", "must be 1", c.version);
  const kind = (c.data as { kind?: unknown }).kind;
  if (kind !== "task" && kind !== "tsv" && kind !== "text")
    bad("data.kind", 'must be "task", "tsv" or "text"', kind);
  type Check = "int0" | "int1" | "pos" | "nonneg" | "unit" | "frac" | "string";
  const ok: Record<Check, (v: unknown) => boolean> = {
    int0: (v) => Number.isSafeInteger(v) && (v as number) >= 0,
    int1: (v) => Number.isSafeInteger(v) && (v as number) >= 1,
    pos: (v) => typeof v === "number" && Number.isFinite(v) && v > 0,
    nonneg: (v) => typeof v === "number" && Number.isFinite(v) && v >= 0,
    unit: (v) => typeof v === "number" && v >= 0 && v <= 1,
    frac: (v) => typeof v === "number" && v >= 0 && v < 1,
    string: (v) => typeof v === "string",
  };
  const why: Record<Check, string> = {
    int0: "must be an integer >= 0",
    int1: "must be an integer >= 1",
    pos: "must be a number > 0",
    nonneg: "must be a number >= 0",
    unit: "must be a number in [0, 1]",
    frac: "must be a number in [0, 1)",
    string: "must be a string",
  };
  const fields = (part: "data" | "train", spec: Record<string, Check>, optional: string[] = []) => {
    const obj = c[part] as unknown as Record<string, unknown>;
    for (const [k, check] of Object.entries(spec)) {
      if (obj[k] === undefined && optional.includes(k)) continue;
      if (!ok[check](obj[k])) bad(`${part}.${k}`, why[check], obj[k]);
    }
  };
  const d = c.data as unknown as Record<string, unknown>;
  if (kind === "task")
    fields("data", { task: "string", trainSeed: "int0", evalSeed: "int0", evalSize: "int0" });
  if (kind === "text") fields("data", { path: "string", holdout: "frac", evalSize: "int0" });
  if (kind === "tsv") {
    fields("data", { path: "string", maxLen: "int1", evalSize: "int0", dev: "string" }, ["dev"]);
    for (const k of ["src", "tgt"])
      if (!ok.string(d[k]) && !ok.int0(d[k]))
        bad(`data.${k}`, "must be a column name or index", d[k]);
    if (d.onBadLine !== "skip" && d.onBadLine !== "error")
      bad("data.onBadLine", 'must be "skip" or "error"', d.onBadLine);
    if (d.columns !== undefined && !(Array.isArray(d.columns) && d.columns.every(ok.string)))
      bad("data.columns", "must be a list of names", d.columns);
  }
  fields(
    "train",
    {
      batchSize: "int1",
      maxTokens: "int1",
      steps: "int0",
      timeMs: "pos",
      lr: "pos",
      warmup: "int0",
      minLrFraction: "unit",
      averageLast: "int0",
      averageEvery: "unit",
      labelSmoothing: "frac",
      clipNorm: "nonneg",
      weightDecay: "nonneg",
      seed: "int0",
      evalEvery: "int0",
    },
    ["timeMs", "minLrFraction", "averageLast", "averageEvery"],
  );
  const schedule = (c.train as { schedule?: unknown }).schedule;
  if (!["cosine", "linear", "paper", "constant"].includes(schedule as string))
    bad("train.schedule", 'must be "cosine", "linear", "paper" or "constant"', schedule);
  try {
    c.model = validateConfig(c.model);
  } catch (e) {
    if (e instanceof AttnError) throw new AttnError(`${where}: config.json: ${e.message}`);
    throw e;
  }
  return c;
}
