/** Data (`attention-lab/data`): shipped tasks, TSV and text readers, batching by tokens, training sources. */
export * from "./tasks.js";
export * from "./readers.js";
export {
  type BatchByTokensOptions,
  type Seq2SeqBatch,
  type Seq2SeqBatchOptions,
  type Seq2SeqExample,
  batchByTokens,
  makeLmBatch,
  makeSeq2SeqBatch,
  paddingMaskFromIds,
  paddingMaskFromLengths,
  sampleLmOffsets,
  sequentialLmOffsets,
  shuffleInPlace,
} from "./batching.js";
export { LmSource, PairsSource, TaskSource } from "./sources.js";
