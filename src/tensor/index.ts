/** The tensor engine's public surface. */
export { Tensor, type GradNode } from "./tensor.js";
export {
  getBackend,
  keep,
  manualSeed,
  memory,
  noGrad,
  setBackend,
  setDefaultBackend,
  tidy,
  getRng,
  isGradEnabled,
} from "./engine.js";
export { Mulberry32 } from "./random.js";
export { type Shape, sizeOf } from "./shape.js";
export * from "./ops/creation.js";
export * from "./ops/view.js";
export * from "./ops/elementwise.js";
export * from "./ops/unary.js";
export * from "./ops/reduce.js";
export * from "./ops/matmul.js";
export * from "./ops/softmax.js";
export * from "./ops/layernorm.js";
export * from "./ops/embedding.js";
export * from "./ops/where.js";
export * from "./ops/concat.js";
export * from "./ops/dropout.js";
export * from "./ops/crossentropy.js";
export * from "./ops/inplace.js";
export * from "./ops/topk.js";
