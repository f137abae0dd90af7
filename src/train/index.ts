/** Training: optimizers, learning-rate schedules, gradient clipping, checkpoints, the training loop, metrics. */
export * from "./optim.js";
export * from "./schedules.js";
export * from "./clip.js";
export * from "./checkpoint.js";
export * from "./step.js";
export * from "./trainer.js";
export * from "./metrics.js";
export {
  type DataSpec,
  type LoadedData,
  type RunConfig,
  type TokenizerKind,
  type TrainSpec,
  buildTokenizer,
  checkVocab,
  evaluateRun,
  heldOutPairs,
  languageModelMetrics,
  lmTrainable,
  loadData,
  seq2seqTrainable,
  trainingSource,
  validateRunConfig,
} from "./recipe.js";
