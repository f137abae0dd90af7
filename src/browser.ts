/**
 * The browser-safe entry point (`attention-lab/browser`): the engine, the
 * models, decoding, tokenizers, task data, safetensors parsing, the training
 * step and the tap names, with no Node module anywhere below it, and the
 * WebAssembly backend for pages. The explorer (web/) imports only this.
 * `test/api/entry-points.test.ts` checks both.
 */
export * from "./tensor/index.js";
export type { Backend, DType } from "./backend/backend.js";
export { createBrowserWasmBackend } from "./backend/wasm/browser.js";
export { AttnError } from "./errors.js";
export * from "./models/index.js";
export { MultiHeadAttention, scaledDotProductAttention } from "./nn/attention.js";
export { recordIntermediates, withTapHook, type Recorded, type TapHook } from "./nn/hooks.js";
export * from "./nn/taps.js";
export { sinusoidalPositionalEncoding, alibiBias, applyRope } from "./nn/positional.js";
export {
  type DecodeStep,
  type DecodeOptions,
  type Hypothesis,
  decodeBatch,
  decodeBatchAsync,
  lengthPenalty,
} from "./generate/decode.js";
export * from "./generate/select.js";
export { generate, generateTokens, type GenerateOptions } from "./generate/lm.js";
export * from "./tokenizers/index.js";
export * from "./data/tasks.js";
export { makeSeq2SeqBatch, type Seq2SeqBatch } from "./data/batching.js";
export { parseSafetensors, toFloat32 } from "./io/safetensors-format.js";
export { type Pca2, pca2 } from "./experiments/pca.js";
export { Adam, SGD, type Optimizer } from "./train/optim.js";
export { trainStep, type TrainStepOptions, type TrainStepResult } from "./train/step.js";
/** The experiments (the explorer's Experiments view lists them and runs their --quick versions). */
export {
  EXPERIMENTS,
  DEFAULT_SEEDS,
  experimentNames,
  runExperiment,
  RowBuilder,
  rankArms,
  compareArms,
  formatCell,
  formatValue,
  vegaLiteSpec,
  plotToSvg,
  type ExperimentDef,
  type ExperimentBody,
  type ExperimentResult,
  type RunOptions,
  type MetricSpec,
  type PlotSpec,
  type Series,
  type Cell,
  type Row,
} from "./experiments/index.js";
export { Progress } from "./experiments/experiment.js";
export { trainSeq2Seq } from "./experiments/harness.js";
