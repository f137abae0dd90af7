/**
 * The explorer's models: a freshly initialised, seeded encoder-decoder for a
 * shipped task (so the page works before any checkpoint exists), or a
 * checkpoint loaded from static files (see checkpoint.ts): an encoder-decoder
 * or a GPT. Browser-safe.
 */
import {
  getTask,
  presetConfig,
  trainCharTokenizer,
  Transformer,
  type EncoderDecoderConfig,
  type GPT,
  type GPTConfig,
  type Task,
  type Tokenizer,
} from "../../../src/browser.js";
import { type FreshSpec, SIZES, type TaskName } from "../protocol.js";

export { POSITIONALS, SIZES, TASKS } from "../protocol.js";

/** Everything the worker holds about one encoder-decoder. */
export interface LoadedSeq2Seq {
  kind: "encdec";
  model: Transformer;
  tokenizer: Tokenizer;
  /** The task whose examples the page offers (and live training draws from). */
  task: Task;
  config: EncoderDecoderConfig;
  /** Where it came from, for the page's model line. */
  origin: string;
}

/** A GPT (decoder-only language model): no task, the page offers prompts. */
export interface LoadedGpt {
  kind: "gpt";
  model: GPT;
  tokenizer: Tokenizer;
  task: null;
  config: GPTConfig;
  origin: string;
}

export type LoadedModel = LoadedSeq2Seq | LoadedGpt;

/** Prompts offered for a GPT (the shipped one learned the King James text). */
export const GPT_PROMPTS = [
  "In the beginning God created",
  "And God said, Let there be",
  "The LORD is my shepherd;",
  "Blessed are the",
  "And it came to pass, when",
];

/** The task of a fresh model; short strings for copy/reverse/sort so the heatmaps stay legible. */
export function taskFor(name: TaskName): Task {
  return name === "dates" ? getTask("dates") : getTask(name, { minLen: 3, maxLen: 9 });
}

/** The config of a fresh model: the s2s-tiny preset resized, dropout off (deterministic steps). */
export function freshConfig(spec: FreshSpec, vocabSize: number): EncoderDecoderConfig {
  const size = SIZES[spec.size];
  return presetConfig("s2s-tiny", {
    vocabSize,
    dModel: size.dModel,
    heads: size.heads,
    dFF: size.dFF,
    encoderLayers: size.layers,
    decoderLayers: size.layers,
    positional: spec.positional,
    dropout: 0,
    maxLen: 64,
    seed: spec.seed,
  } as Partial<EncoderDecoderConfig>) as EncoderDecoderConfig;
}

/** A seeded, untrained model with a char tokenizer built from the task's alphabet. */
export function freshModel(spec: FreshSpec): LoadedSeq2Seq {
  const task = taskFor(spec.task);
  const tokenizer = trainCharTokenizer([], { alphabet: task.alphabet });
  const config = freshConfig(spec, tokenizer.vocabSize);
  const model = new Transformer(config);
  return {
    kind: "encdec",
    model,
    tokenizer,
    task,
    config,
    origin: `fresh ${spec.task} model, size ${spec.size}, ${spec.positional} positions, seed ${spec.seed}`,
  };
}
