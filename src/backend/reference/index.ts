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

  /**
   * Released arrays by dtype and length, for reuse. A training step allocates
   * the same shapes every time, so after the first step most allocations are
   * reuses: no fresh pages from the OS (page faults cost ~10 µs per 4 KiB
   * here) and less garbage collection.
   */
  private readonly pool = new Map<string, TypedArray[]>();
  private pooledBytes = 0;
  /** Upper bound on memory held for reuse. */
  maxPooledBytes = 512 * 2 ** 20;

  allocate(dtype: DType, size: number): TypedArray {
    const free = this.pool.get(`${dtype}:${size}`);
    const reused = free?.pop();
    if (reused) {
      this.pooledBytes -= reused.byteLength;
      reused.fill(0);
      return reused;
    }
    switch (dtype) {
      case "float32":
        return new Float32Array(size);
      case "float64":
        return new Float64Array(size);
      case "int32":
        return new Int32Array(size);
    }
  }

  release(data: TypedArray): void {
    // Small arrays are cheap to make; large ones are worth keeping.
    if (data.length < 64 || this.pooledBytes + data.byteLength > this.maxPooledBytes) return;
    const dtype =
      data instanceof Float32Array ? "float32" : data instanceof Float64Array ? "float64" : "int32";
    const key = `${dtype}:${data.length}`;
    let free = this.pool.get(key);
    if (!free) this.pool.set(key, (free = []));
    if (free.length >= 32) return;
    free.push(data);
    this.pooledBytes += data.byteLength;
  }

  /** Drops every pooled array (memory goes back to the garbage collector). */
  trimPool(): void {
    this.pool.clear();
    this.pooledBytes = 0;
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
