/** Attention Lab's public API. */
import { useBackend } from "./backend/select.js";
import { setDefaultBackend } from "./tensor/engine.js";
export * from "./tensor/index.js";
export type {
  AdamArgs,
  Backend,
  BinaryOp,
  CrossEntropyArgs,
  DropoutArgs,
  DType,
  GatherArgs,
  LayerNormArgs,
  LayerNormGradArgs,
  MatmulArgs,
  MatmulOperand,
  ScatterAddArgs,
  SoftmaxArgs,
  SoftmaxGradArgs,
  TypedArray,
  UnaryGradArgs,
  UnaryOp,
  View,
} from "./backend/backend.js";
export { ReferenceBackend } from "./backend/reference/index.js";
export { BACKEND_NAMES, type BackendName, useBackend } from "./backend/select.js";
export { AttnError, isUserError } from "./errors.js";
export { packageVersion } from "./version.js";
export { Module, ModuleList, parameter } from "./nn/module.js";
export { Linear, Embedding, LayerNorm, Dropout } from "./nn/layers.js";
export { MultiHeadAttention } from "./nn/attention.js";
export { KVCache } from "./nn/kv-cache.js";
export { FeedForward } from "./nn/ffn.js";
export { causalMask, keyPaddingMask, combineMasks } from "./nn/masks.js";
export {
  sinusoidalPositionalEncoding,
  applyRope,
  alibiBias,
  alibiSlopes,
} from "./nn/positional.js";
export { recordIntermediates, withTapHook, type TapHook } from "./nn/hooks.js";
export * from "./models/index.js";
export * from "./generate/index.js";
export {
  PAD_ID,
  BOS_ID,
  EOS_ID,
  UNK_ID,
  type Tokenizer,
  tokenizerFromJSON,
  trainCharTokenizer,
  createByteTokenizer,
  trainWordTokenizer,
  trainBpeTokenizer,
} from "./tokenizers/index.js";

// The package's default engine: the fastest backend that loads here (native C, then
// WebAssembly, then TypeScript), or the one ATTN_BACKEND names, chosen when the first
// tensor is made (importing loads no addon, starts no worker). `useBackend(name)` changes it.
setDefaultBackend(() => useBackend());
