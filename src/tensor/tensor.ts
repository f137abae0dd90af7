import { AttnError } from "../errors.js";
import type { DType, TypedArray, View } from "../backend/backend.js";
import { Storage, getBackend, track } from "./engine.js";
import { contiguousStrides, fmt, type Shape, sizeOf } from "./shape.js";

/** How a tensor was computed: the op, its inputs, and the vector-Jacobian product. */
export interface GradNode {
  op: string;
  inputs: Tensor[];
  /** Given dLoss/dOutput, returns dLoss/dInput for each input (null where none flows). */
  backward: (grad: Tensor) => (Tensor | null)[];
}

let nextId = 1;

type BackwardFn = (root: Tensor, seed?: Tensor, opts?: { retainGraph?: boolean }) => void;
/**
 * autograd.ts registers its backward here when it loads (every op imports
 * it): it needs the Tensor class, and Tensor needs it only when backward()
 * is called, so neither module imports the other at load time.
 */
let runBackward: BackwardFn | null = null;
export function registerBackward(fn: BackwardFn): void {
  runBackward = fn;
}

/**
 * An n-dimensional array: a strided view (shape, strides, offset) on a
 * Storage owned by a backend. Many tensors may view one storage (reshape,
 * transpose, slice and expand never copy).
 */
export class Tensor {
  readonly isTensor = true;
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  readonly storage: Storage;
  /** Whether gradients flow to (or through) this tensor. */
  requiresGrad = false;
  /** Accumulated dLoss/dThis, for leaves that require grad. */
  grad: Tensor | null = null;
  /** The recorded op that made this tensor; null for leaves and in no-grad mode. */
  node: GradNode | null = null;
  /** Survives scope disposal (see engine.tidy). */
  kept = false;
  disposed = false;

  constructor(
    storage: Storage,
    dtype: DType,
    shape: Shape,
    strides?: readonly number[],
    offset = 0,
  ) {
    this.storage = storage;
    this.dtype = dtype;
    this.shape = shape.slice();
    this.strides = strides ? strides.slice() : contiguousStrides(shape);
    this.offset = offset;
    storage.refs++;
    track(this);
  }

  /** A new contiguous, zero-filled tensor on the active backend. */
  static empty(shape: Shape, dtype: DType = "float32"): Tensor {
    const backend = getBackend();
    return new Tensor(new Storage(backend, backend.allocate(dtype, sizeOf(shape))), dtype, shape);
  }

  /** Like `empty`, but the contents are unspecified: for outputs that an op writes completely. */
  static uninit(shape: Shape, dtype: DType = "float32"): Tensor {
    const backend = getBackend();
    const data = backend.allocate(dtype, sizeOf(shape), false);
    return new Tensor(new Storage(backend, data), dtype, shape);
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The whole underlying array (mind offset/strides); throws if disposed. */
  get data(): TypedArray {
    if (this.disposed || this.storage.released) {
      throw new AttnError(`tensor#${this.id} ${fmt(this.shape)} was disposed and cannot be used`);
    }
    return this.storage.data;
  }

  get isFloat(): boolean {
    return this.dtype !== "int32";
  }

  isContiguous(): boolean {
    let s = 1;
    for (let d = this.shape.length - 1; d >= 0; d--) {
      if (this.shape[d] !== 1 && this.strides[d] !== s) return false;
      s *= this.shape[d];
    }
    return true;
  }

  view(): View {
    return { data: this.data, offset: this.offset, shape: this.shape, strides: this.strides };
  }

  /**
   * The values in row-major order, as a fresh typed array of this dtype.
   * Synchronous, so only for backends whose memory the CPU can read (js,
   * native, wasm); `read()` works on every backend. With `{ view: true }` a
   * contiguous tensor gives a view of its storage instead of a copy (no
   * allocation on a hot path), valid until the tensor is disposed.
   */
  readSync(opts?: { view?: boolean }): TypedArray {
    const data = this.hostData("readSync");
    if (this.isContiguous()) {
      const end = this.offset + this.size;
      return opts?.view ? data.subarray(this.offset, end) : data.slice(this.offset, end);
    }
    const out = getBackend().allocate(this.dtype, this.size);
    getBackend().copy(this.view(), {
      data: out,
      offset: 0,
      shape: this.shape,
      strides: contiguousStrides(this.shape),
    });
    return out;
  }

  /** The values in row-major order, as a fresh typed array: works on every backend. */
  async read(): Promise<TypedArray> {
    const download = this.storage.rec.backend.download;
    if (!download) return this.readSync();
    const t = this.isContiguous() ? this : contiguousCopy(this);
    try {
      return await download.call(this.storage.rec.backend, t.data, t.offset, t.size);
    } finally {
      if (t !== this) t.dispose();
    }
  }

  toArray(): number[] {
    return Array.from(this.readSync());
  }

  /** The single value of a one-element tensor (a synchronous read, as readSync). */
  item(): number {
    if (this.size !== 1)
      throw new AttnError(`item: tensor has shape ${fmt(this.shape)}, not one element`);
    return this.hostData("item")[this.offset];
  }

  /** The storage as a CPU-readable array, or a clear error on a device backend. */
  private hostData(op: string): TypedArray {
    const be = this.storage.rec.backend;
    if (be.download)
      throw new AttnError(
        `${op}: the ${be.name} backend keeps tensors in device memory; read them with await tensor.read()`,
      );
    return this.data;
  }

  /** Reverse-mode autodiff from this tensor; a non-scalar needs a seed gradient of its shape. */
  backward(seed?: Tensor, opts?: { retainGraph?: boolean }): void {
    if (!runBackward)
      throw new AttnError(
        "backward: autograd is not loaded (import the engine from src/tensor/index.js)",
      );
    runBackward(this, seed, opts);
  }

  /** Frees this tensor's hold on its storage (memory returns once no view uses it). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.node = null;
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
    this.storage.unref();
  }

  toString(): string {
    return `Tensor(${this.dtype} ${fmt(this.shape)})`;
  }
}

/** A contiguous copy of t on its backend (for reading a strided view). */
function contiguousCopy(t: Tensor): Tensor {
  const out = Tensor.uninit(t.shape, t.dtype);
  getBackend().copy(t.view(), out.view());
  return out;
}
