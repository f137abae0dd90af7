/**
 * The kernel interface. Every op's arithmetic goes through a Backend, so a
 * faster backend (native C through Node-API, WebAssembly SIMD, later WebGPU)
 * replaces the reference TypeScript loops without touching ops, autograd or
 * models.
 *
 * Memory model: a backend owns the memory of every tensor it allocates
 * (`allocate`/`release`). CPU backends hand it out as typed arrays over their
 * own memory (the JS heap for `js` and `native`, the linear memory for `wasm`),
 * so kernels run in place on tensor storage, never copying per op.
 *
 * Kernel conventions:
 * - A `View` is a strided window on a typed array: element [i0, i1, ...] is at
 *   data[offset + i0*strides[0] + i1*strides[1] + ...]. A stride of 0 is a
 *   broadcast dimension.
 * - Outputs are written by the kernel; the op layer allocates them, usually
 *   contiguous.
 * - The elementwise and reduction kernels (copy, fill, unary, binary, where,
 *   reduce, bernoulli) take Views. Every fused or row kernel (unaryGrad,
 *   matmul, softmax, layerNorm, gather, crossEntropy, dropout, adam, ...)
 *   takes one args object (`SoftmaxArgs`, ...), so its many operands are
 *   named at the call site.
 * - `rows`/`cols` kernels (softmax, layerNorm, ...) take contiguous data and
 *   work on the last axis (cols) of a [rows, cols] matrix.
 */

export type DType = "float32" | "float64" | "int32";
export type FloatArray = Float32Array | Float64Array;
export type TypedArray = Float32Array | Float64Array | Int32Array;

export interface View {
  data: TypedArray;
  offset: number;
  shape: readonly number[];
  strides: readonly number[];
}

export type UnaryOp =
  | "neg"
  | "exp"
  | "log"
  | "sqrt"
  | "rsqrt"
  | "tanh"
  | "relu"
  | "gelu_tanh"
  | "gelu_erf"
  | "abs"
  | "sigmoid";

export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "max"
  | "min"
  // Comparisons give 1 or 0 in the operands' dtype (masks).
  | "eq"
  | "ne"
  | "lt"
  | "le"
  | "gt"
  | "ge";

/**
 * Every unary and binary op, in the order of the C kernels' op codes (the enums
 * of src/backend/kernels/kernels.h): the native and wasm glue pass the index.
 */
export const UNARY_OPS: readonly UnaryOp[] = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "tanh",
  "relu",
  "gelu_tanh",
  "gelu_erf",
  "abs",
  "sigmoid",
];
export const BINARY_OPS: readonly BinaryOp[] = [
  "add",
  "sub",
  "mul",
  "div",
  "pow",
  "max",
  "min",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
];

/** Operands of a batched matrix product: element (i, k) of batch b is at data[offsets[b] + i*rowStride + k*colStride]. */
export interface MatmulOperand {
  data: FloatArray;
  offsets: Int32Array;
  rowStride: number;
  colStride: number;
}

/** dx = dy * op'(x), elementwise over `size` contiguous elements (all arrays from element 0). */
export interface UnaryGradArgs {
  op: UnaryOp;
  x: TypedArray;
  /** y = op(x), given too where the derivative is cheaper from it. */
  y: TypedArray;
  dy: TypedArray;
  /** Out. */
  dx: TypedArray;
  size: number;
}

/** Batched C = alpha * A @ B + (accumulate ? C : 0), one product per entry of c.offsets. */
export interface MatmulArgs {
  /** Rows of A and C. */
  M: number;
  /** Columns of B and C. */
  N: number;
  /** Columns of A, rows of B. */
  K: number;
  a: MatmulOperand;
  b: MatmulOperand;
  /** Out: C rows have stride ldc and columns stride 1. */
  c: { data: FloatArray; offsets: Int32Array; ldc: number };
  alpha: number;
  /** Add into C instead of overwriting it. */
  accumulate: boolean;
}

/**
 * Row-wise softmax (or log-softmax) of a contiguous [rows, cols] matrix (from
 * element 0), max-subtracted. A row of only -Infinity gives zeros (softmax)
 * or -Infinity (log-softmax).
 */
export interface SoftmaxArgs {
  x: FloatArray;
  /** Out. */
  out: FloatArray;
  rows: number;
  cols: number;
  /** Log-softmax instead of softmax. */
  log: boolean;
}

/** Backward of softmax/log-softmax given the forward output y. */
export interface SoftmaxGradArgs {
  /** The forward output. */
  y: FloatArray;
  dy: FloatArray;
  /** Out. */
  dx: FloatArray;
  rows: number;
  cols: number;
  /** The forward was log-softmax. */
  log: boolean;
}

/** out[r, :] = table[ids[idsOffset + r], :]; ids already range-checked. */
export interface GatherArgs {
  table: FloatArray; // [vocab, cols]
  ids: Int32Array; // [rows], from idsOffset
  idsOffset: number;
  /** Out: [rows, cols] contiguous, from 0. */
  out: FloatArray;
  rows: number;
  cols: number;
}

/** dtable[ids[idsOffset + r], :] += dy[r, :] (the transpose of gather). */
export interface ScatterAddArgs {
  dy: FloatArray; // [rows, cols] contiguous, from 0
  ids: Int32Array; // [rows], from idsOffset
  idsOffset: number;
  /** Accumulated into (+=). */
  dtable: FloatArray;
  rows: number;
  cols: number;
}

export interface CrossEntropyArgs {
  logits: FloatArray; // [rows, cols] contiguous, from logitsOffset
  logitsOffset: number;
  targets: Int32Array; // [rows], from targetsOffset
  targetsOffset: number;
  rows: number;
  cols: number;
  ignoreIndex: number; // a target equal to this contributes nothing (-1 = none)
  smoothing: number; // label smoothing epsilon
  /** Out: loss of each row (0 for ignored rows). */
  rowLoss: FloatArray;
  /** Out, optional: d(rowLoss)/d(logits) per row, i.e. softmax - target distribution (0 for ignored rows). */
  dlogits: FloatArray | null;
}

/** Layer norm over the rows of a contiguous [rows, cols] x (all arrays from element 0). */
export interface LayerNormArgs {
  x: FloatArray;
  gamma: FloatArray; // [cols]
  beta: FloatArray; // [cols]
  out: FloatArray;
  /** Out: the mean and 1/√(var + eps) of each row, saved for the backward. */
  mean: FloatArray;
  rstd: FloatArray;
  rows: number;
  cols: number;
  eps: number;
}

/** Its backward: dx, and dgamma/dbeta accumulated (+=) over the rows. */
export interface LayerNormGradArgs {
  dy: FloatArray;
  x: FloatArray;
  gamma: FloatArray;
  mean: FloatArray;
  rstd: FloatArray;
  dx: FloatArray;
  dgamma: FloatArray;
  dbeta: FloatArray;
  rows: number;
  cols: number;
}

export interface AdamArgs {
  param: FloatArray;
  grad: FloatArray;
  m: FloatArray;
  v: FloatArray;
  size: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay (AdamW); 0 for plain Adam. */
  weightDecay: number;
  /** Optimizer step number, from 1. */
  step: number;
}

/** Inverted dropout with a mulberry32 mask, made inside the kernel (no mask tensor). */
export interface DropoutArgs {
  x: FloatArray; // contiguous, from xOffset
  xOffset: number;
  out: FloatArray; // contiguous, from 0
  size: number;
  /**
   * mulberry32 state before the first draw: element i keeps its value iff
   * draw i (state advanced i+1 times) u satisfies u / 2^32 >= p.
   */
  state: number;
  p: number;
  /** Kept values are multiplied by this (1 / (1 - p), or the upstream gradient's scale). */
  scale: number;
}

/**
 * The k largest values of each row of a contiguous [rows, cols] x (from element 0),
 * largest first, the lower column first on ties. Only values above -Infinity count
 * (NaN and -Infinity are never chosen); slots left over get index -1 and value
 * -Infinity. What decoding selects with, so the logits need not leave the backend.
 */
export interface TopKArgs {
  x: FloatArray;
  rows: number;
  cols: number;
  k: number;
  /** Out: [rows, k]. */
  values: FloatArray;
  /** Out: [rows, k] column indices. */
  indices: Int32Array;
}

export interface Backend {
  readonly name: string;

  /**
   * An array of `size` elements owned by this backend: zero-filled, or with
   * unspecified contents when `zero` is false (for outputs a kernel overwrites
   * completely; saves a pass over the memory).
   */
  allocate(dtype: DType, size: number, zero?: boolean): TypedArray;
  /**
   * Device backends only: reads `size` elements from `offset` of a buffer
   * back to the host. Its presence marks a backend whose memory the CPU
   * cannot read synchronously (Tensor.readSync then refuses); CPU backends
   * leave it out.
   */
  download?(data: TypedArray, offset: number, size: number): Promise<TypedArray>;
  /** Hands memory back (the backend may pool it). The array must not be used afterwards. */
  release(data: TypedArray): void;

  /** Copies host values into `dst` from element `offset` (how data reaches a device). */
  write(dst: TypedArray, offset: number, values: ArrayLike<number>): void;
  /** dst[...] = src[...] for two views of the same shape. */
  copy(src: View, dst: View): void;
  fill(dst: View, value: number): void;
  /** out = op(x), elementwise; shapes equal. */
  unary(op: UnaryOp, x: View, out: View): void;
  /** dx = dy * op'(x); y = op(x) is given too where the derivative is cheaper from it. All contiguous, `size` elements. */
  unaryGrad(args: UnaryGradArgs): void;
  /** out = a op b, elementwise over out.shape; a and b are broadcast views of out's shape. */
  binary(op: BinaryOp, a: View, b: View, out: View): void;
  /** out = where(cond != 0, a, b); all views of out's shape. */
  where(cond: View, a: View, b: View, out: View): void;
  /**
   * Reduction by accumulation: `out` is a view with x's shape whose reduced
   * axes have stride 0; the kernel folds each x element into it. `out` must
   * already hold the identity (0 for sum, -Infinity for max).
   */
  reduce(op: "sum" | "max", x: View, out: View): void;
  /** C = alpha * A @ B + (accumulate ? C : 0) for every batch entry; C rows have stride ldc and columns stride 1. */
  matmul(args: MatmulArgs): void;
  /** Row-wise softmax (or log-softmax) of a contiguous [rows, cols] matrix, max-subtracted. A row of only -Infinity gives zeros (softmax) or -Infinity (log-softmax). */
  softmax(args: SoftmaxArgs): void;
  /** Backward of softmax/log-softmax given the forward output y. */
  softmaxGrad(args: SoftmaxGradArgs): void;
  /** out = (x - mean) * rstd * gamma + beta over each row; writes mean and rstd per row. */
  layerNorm(args: LayerNormArgs): void;
  /** dx, and dgamma/dbeta accumulated (+=) over rows. */
  layerNormGrad(args: LayerNormGradArgs): void;
  /** out[r, :] = table[ids[r], :]; ids already range-checked. */
  gather(args: GatherArgs): void;
  /** dtable[ids[r], :] += dy[r, :]. */
  scatterAdd(args: ScatterAddArgs): void;
  /** Fused log-sum-exp cross-entropy with label smoothing. */
  crossEntropy(args: CrossEntropyArgs): void;
  /**
   * The keep mask of dropout alone: element i of the contiguous `out` is 1 iff
   * draw i of mulberry32 from `state` is at least p · 2^32 (as DropoutArgs), else 0.
   */
  bernoulli(state: number, p: number, out: View): void;
  /** out = x · keep · scale, keep drawn from mulberry32 (see DropoutArgs). */
  dropout(args: DropoutArgs): void;
  /** One Adam/AdamW update, in place on param, m and v. */
  adam(args: AdamArgs): void;
  /** The k largest values of each row and their columns (decoding's selection). */
  topk(args: TopKArgs): void;
}
