import type { Backend, DType, TypedArray } from "../backend.js";
import { binary, copy, fill, reduce, unary, unaryGrad, where } from "./elementwise.js";
import { matmul } from "./matmul.js";
import {
  adam,
  crossEntropy,
  gather,
  layerNorm,
  layerNormGrad,
  scatterAdd,
  softmax,
  softmaxGrad,
} from "./nn.js";

/**
 * The reference backend: plain TypeScript loops over typed arrays on the JS
 * heap. It is the definition every faster backend is checked against, and it
 * is the only one that also runs float64 (used by the gradient checks).
 */
export class ReferenceBackend implements Backend {
  readonly name: string = "js";

  allocate(dtype: DType, size: number): TypedArray {
    switch (dtype) {
      case "float32":
        return new Float32Array(size);
      case "float64":
        return new Float64Array(size);
      case "int32":
        return new Int32Array(size);
    }
  }

  release(_data: TypedArray): void {
    // The JS heap reclaims it once the last reference goes.
  }

  copy = copy;
  fill = fill;
  unary = unary;
  unaryGrad = unaryGrad;
  binary = binary;
  where = where;
  reduce = reduce;
  matmul = matmul;
  softmax = softmax;
  softmaxGrad = softmaxGrad;
  layerNorm = layerNorm;
  layerNormGrad = layerNormGrad;
  gather = gather;
  scatterAdd = scatterAdd;
  crossEntropy = crossEntropy;
  adam = adam;
}
