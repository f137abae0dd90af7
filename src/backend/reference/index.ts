import type { Backend, DType, TypedArray } from "../backend.js";
import { binary, copy, fill, reduce, unary, unaryGrad, where } from "./elementwise.js";
import { matmul } from "./matmul.js";
import {
  adam,
  bernoulli,
  crossEntropy,
  dropout,
  gather,
  layerNorm,
  layerNormGrad,
  scatterAdd,
  softmax,
  softmaxGrad,
  topk,
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
  private readonly pool = new Map<number, ArrayBuffer[]>();
  /** Every pooled buffer, oldest release first (Map keeps insertion order): eviction order. */
  private readonly pooledOrder = new Map<ArrayBuffer, number>();
  /** Buffers this backend made (only those are pooled: a foreign array may be shared). */
  private readonly own = new WeakSet<ArrayBuffer>();
  private pooledBytes = 0;
  /** Bytes of pool-sized buffers handed out and not yet released, and their peak. */
  private liveBytes = 0;
  private peakLiveBytes = 0;
  /**
   * Memory held for reuse is bounded by this or by the peak of live memory,
   * whichever is larger: a step then reuses all of the previous step's
   * buffers (a miss costs fresh pages: ~10 µs per 4 KiB), and the pool never
   * holds more than one step's worth.
   */
  maxPooledBytes = 256 * 2 ** 20;

  /** Fill unspecified (`zero` = false) allocations with NaN, to catch ops that read them (ATTN_POISON_UNINIT=1). */
  poisonUninit =
    (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
      ?.ATTN_POISON_UNINIT === "1";

  allocate(dtype: DType, size: number, zero = true): TypedArray {
    const data = this.allocateRaw(dtype, size, zero);
    if (!zero && this.poisonUninit && dtype !== "int32") data.fill(Number.NaN);
    return data;
  }

  private allocateRaw(dtype: DType, size: number, zero: boolean): TypedArray {
    const width = dtype === "float64" ? 8 : 4;
    const bytes = size * width;
    if (bytes < MIN_POOLED_BYTES) return makeArray(dtype, new ArrayBuffer(bytes), size);
    const cls = sizeClass(bytes);
    const buffer = this.takePooled(cls);
    const got = buffer?.byteLength ?? cls;
    this.liveBytes += got;
    if (this.liveBytes > this.peakLiveBytes) this.peakLiveBytes = this.liveBytes;
    if (buffer) {
      this.pooledBytes -= got;
      const data = makeArray(dtype, buffer, size);
      if (zero) data.fill(0);
      return data;
    }
    const fresh = new ArrayBuffer(cls);
    this.own.add(fresh);
    return makeArray(dtype, fresh, size);
  }

  /**
   * A pooled buffer of class `cls`, or else of one of the next classes up to
   * twice its size: when shapes shrink from call to call (decoding drops
   * finished sentences from the batch) the larger buffers released before
   * still serve, instead of fresh pages.
   */
  private takePooled(cls: number): ArrayBuffer | undefined {
    for (let c = cls; c <= 2 * cls; c = nextClass(c)) {
      const b = this.pool.get(c)?.pop();
      if (b) {
        this.pooledOrder.delete(b);
        return b;
      }
    }
    return undefined;
  }

  release(data: TypedArray): void {
    const buffer = data.buffer as ArrayBuffer;
    const cls = buffer.byteLength;
    if (!this.own.has(buffer)) return;
    this.liveBytes -= cls;
    const bound = Math.max(this.maxPooledBytes, this.peakLiveBytes);
    if (cls > bound) return;
    // Over the bound, the buffers released longest ago go (to the garbage
    // collector): sizes in use drift (each decode batch is shorter than the
    // last), and the recent ones are the ones the next calls ask for.
    for (const [old, oldCls] of this.pooledOrder) {
      if (this.pooledBytes + cls <= bound) break;
      const list = this.pool.get(oldCls)!;
      list.splice(list.indexOf(old), 1);
      this.pooledOrder.delete(old);
      this.pooledBytes -= oldCls;
    }
    let free = this.pool.get(cls);
    if (!free) this.pool.set(cls, (free = []));
    free.push(buffer);
    this.pooledOrder.set(buffer, cls);
    this.pooledBytes += cls;
  }

  /** Drops every pooled array (memory goes back to the garbage collector). */
  trimPool(): void {
    this.pool.clear();
    this.pooledOrder.clear();
    this.pooledBytes = 0;
  }

  write(dst: TypedArray, offset: number, values: ArrayLike<number>): void {
    dst.set(values, offset);
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
  topk = topk;
  dropout = dropout;
  bernoulli = bernoulli;
}

/** Arrays under this many bytes are left to the garbage collector. */
const MIN_POOLED_BYTES = 256;

/**
 * Pool size classes: four per power of two (at most 25% unused), so tensors
 * whose length changes a little from call to call (decoding a growing
 * sequence) still reuse each other's buffers.
 */
function sizeClass(bytes: number): number {
  const quarter = 2 ** Math.max(6, Math.floor(Math.log2(bytes)) - 2);
  return Math.ceil(bytes / quarter) * quarter;
}

/** The size class after `cls`. */
function nextClass(cls: number): number {
  return sizeClass(cls + 1);
}

function makeArray(dtype: DType, buffer: ArrayBuffer, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer, 0, size);
    case "float64":
      return new Float64Array(buffer, 0, size);
    case "int32":
      return new Int32Array(buffer, 0, size);
  }
}
