/**
 * The native backend: every kernel runs in C through Node-API (see
 * ./README.md) for float32 tensors. Tensors stay plain typed arrays on the JS
 * heap; the addon reads and writes them in place. float64 (the gradient
 * checks) and anything else the C kernels do not take (int32 arithmetic,
 * views of rank > 16) go to the inherited reference kernels.
 */
import type {
  AdamArgs,
  BinaryOp,
  CrossEntropyArgs,
  DropoutArgs,
  FloatArray,
  GatherArgs,
  LayerNormArgs,
  LayerNormGradArgs,
  MatmulArgs,
  ScatterAddArgs,
  SoftmaxArgs,
  SoftmaxGradArgs,
  TopKArgs,
  TypedArray,
  UnaryGradArgs,
  UnaryOp,
  View,
} from "../backend.js";
import * as ref from "../reference/elementwise.js";
import { matmul as referenceMatmul } from "../reference/matmul.js";
import * as refNN from "../reference/nn.js";
import { ReferenceBackend } from "../reference/index.js";
import { BINARY_OPS, NATIVE_MAX_DIMS, type NativeAddon, UNARY_OPS } from "./addon.js";

const UNARY_CODE = new Map<UnaryOp, number>(UNARY_OPS.map((op, i) => [op, i]));
const BINARY_CODE = new Map<BinaryOp, number>(BINARY_OPS.map((op, i) => [op, i]));

const isF32 = (a: TypedArray): a is Float32Array => a instanceof Float32Array;

/** Args with every array seen as float32 (after an isF32 check of each). */
type F32<T> = { [K in keyof T]: T[K] extends FloatArray ? Float32Array : T[K] };

export class NativeBackend extends ReferenceBackend {
  override readonly name: string = "native";
  /** View geometry for the strided kernels, reused by every call (see NativeAddon). */
  private readonly meta = new Int32Array(1 + NATIVE_MAX_DIMS + 4 * (NATIVE_MAX_DIMS + 1));

  constructor(readonly addon: NativeAddon) {
    super();
    // ReferenceBackend's kernels are instance properties, so these replace them.
    this.matmul = (args) => this.gemm(args);
    this.copy = (src, dst) => this.copyKernel(src, dst);
    this.fill = (dst, value) => this.fillKernel(dst, value);
    this.unary = (op, x, out) => this.unaryKernel(op, x, out);
    this.unaryGrad = (args) => this.unaryGradKernel(args);
    this.binary = (op, a, b, out) => this.binaryKernel(op, a, b, out);
    this.where = (cond, a, b, out) => this.whereKernel(cond, a, b, out);
    this.reduce = (op, x, out) => this.reduceKernel(op, x, out);
    this.softmax = (args) => this.softmaxKernel(args);
    this.softmaxGrad = (args) => this.softmaxGradKernel(args);
    this.layerNorm = (a) => this.layerNormKernel(a);
    this.layerNormGrad = (a) => this.layerNormGradKernel(a);
    this.gather = (args) => this.gatherKernel(args);
    this.scatterAdd = (args) => this.scatterAddKernel(args);
    this.crossEntropy = (args) => this.crossEntropyKernel(args);
    this.adam = (args) => this.adamKernel(args);
    this.dropout = (args) => this.dropoutKernel(args);
    this.topk = (args) => this.topkKernel(args);
  }

  setNumThreads(n: number): void {
    this.addon.setNumThreads(n);
  }

  /**
   * Fused bias + activation (not in the Backend interface yet): out[r, c] =
   * act(x[r, c] + bias[c]) for contiguous [rows, cols] float32 data;
   * act "identity" is the bias add alone.
   */
  biasAct(
    act: UnaryOp | "identity",
    x: Float32Array,
    bias: Float32Array,
    out: Float32Array,
    rows: number,
    cols: number,
  ): void {
    const code = act === "identity" ? UNARY_OPS.length : UNARY_CODE.get(act)!;
    this.addon.biasAct(code, x, bias, out, rows, cols);
  }

  /**
   * Writes shape and the views' strides/offsets into this.meta; false when
   * the C kernels cannot take them (rank too high, or a view of another rank).
   */
  private pack(shape: readonly number[], a: View, b?: View, c?: View, d?: View): boolean {
    const nd = shape.length;
    if (nd > NATIVE_MAX_DIMS) return false;
    const m = this.meta;
    m[0] = nd;
    for (let i = 0; i < nd; i++) m[1 + i] = shape[i];
    let p = this.put(a, 1 + nd, nd);
    if (b !== undefined) p = this.put(b, p, nd);
    if (c !== undefined) p = this.put(c, p, nd);
    if (d !== undefined) p = this.put(d, p, nd);
    return p >= 0;
  }

  /** Writes one view's strides and offset at meta[p]; returns the next position, or -1. */
  private put(v: View, p: number, nd: number): number {
    const st = v.strides;
    if (p < 0 || st.length !== nd) return -1;
    const m = this.meta;
    for (let i = 0; i < nd; i++) m[p++] = st[i];
    m[p++] = v.offset;
    return p;
  }

  private copyKernel(src: View, dst: View): void {
    const s = src.data;
    const t = dst.data;
    const same = (isF32(s) && isF32(t)) || (s instanceof Int32Array && t instanceof Int32Array);
    if (same && this.pack(dst.shape, src, dst)) this.addon.copy(s, t, this.meta);
    else ref.copy(src, dst);
  }

  private fillKernel(dst: View, value: number): void {
    if (isF32(dst.data) && this.pack(dst.shape, dst)) this.addon.fill(dst.data, value, this.meta);
    else ref.fill(dst, value);
  }

  private unaryKernel(op: UnaryOp, x: View, out: View): void {
    if (isF32(x.data) && isF32(out.data) && this.pack(out.shape, x, out)) {
      this.addon.unary(UNARY_CODE.get(op)!, x.data, out.data, this.meta);
    } else ref.unary(op, x, out);
  }

  private unaryGradKernel(args: UnaryGradArgs): void {
    const { op, x, y, dy, dx, size } = args;
    if (isF32(x) && isF32(y) && isF32(dy) && isF32(dx)) {
      this.addon.unaryGrad(UNARY_CODE.get(op)!, x, y, dy, dx, size);
    } else ref.unaryGrad(args);
  }

  private binaryKernel(op: BinaryOp, a: View, b: View, out: View): void {
    const ad = a.data;
    const bd = b.data;
    const od = out.data;
    const f32 = isF32(ad) && isF32(bd) && isF32(od);
    // int32 (masks, ids) too, except pow
    const i32 =
      !f32 &&
      op !== "pow" &&
      ad instanceof Int32Array &&
      bd instanceof Int32Array &&
      od instanceof Int32Array;
    if ((f32 || i32) && this.pack(out.shape, a, b, out)) {
      this.addon.binary(BINARY_CODE.get(op)!, ad, bd, od, this.meta);
    } else ref.binary(op, a, b, out);
  }

  private whereKernel(cond: View, a: View, b: View, out: View): void {
    const c = cond.data;
    if (
      (isF32(c) || c instanceof Int32Array) &&
      isF32(a.data) &&
      isF32(b.data) &&
      isF32(out.data) &&
      this.pack(out.shape, cond, a, b, out)
    ) {
      this.addon.where(c, a.data, b.data, out.data, this.meta);
    } else ref.where(cond, a, b, out);
  }

  private reduceKernel(op: "sum" | "max", x: View, out: View): void {
    if (isF32(x.data) && isF32(out.data) && this.pack(x.shape, x, out)) {
      this.addon.reduce(op === "sum" ? 0 : 1, x.data, out.data, this.meta);
    } else ref.reduce(op, x, out);
  }

  private topkKernel(args: TopKArgs): void {
    const { x, rows, cols, k, values, indices } = args;
    // An addon built before topk existed falls back to the reference loop.
    if (isF32(x) && isF32(values) && typeof this.addon.topk === "function")
      this.addon.topk(x, rows, cols, k, values, indices);
    else refNN.topk(args);
  }

  private softmaxKernel(args: SoftmaxArgs): void {
    const { x, out, rows, cols, log } = args;
    if (isF32(x) && isF32(out)) this.addon.softmax(x, out, rows, cols, log ? 1 : 0);
    else refNN.softmax(args);
  }

  private softmaxGradKernel(args: SoftmaxGradArgs): void {
    const { y, dy, dx, rows, cols, log } = args;
    if (isF32(y) && isF32(dy) && isF32(dx)) {
      this.addon.softmaxGrad(y, dy, dx, rows, cols, log ? 1 : 0);
    } else refNN.softmaxGrad(args);
  }

  private layerNormKernel(a: LayerNormArgs): void {
    const { x, gamma, beta, out, mean, rstd, rows, cols, eps } = a as F32<LayerNormArgs>;
    if ([x, gamma, beta, out, mean, rstd].every(isF32)) {
      this.addon.layerNorm(x, gamma, beta, out, mean, rstd, rows, cols, eps);
    } else refNN.layerNorm(a);
  }

  private layerNormGradKernel(a: LayerNormGradArgs): void {
    const { dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols } = a as F32<LayerNormGradArgs>;
    if ([dy, x, gamma, mean, rstd, dx, dgamma, dbeta].every(isF32)) {
      this.addon.layerNormGrad(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols);
    } else refNN.layerNormGrad(a);
  }

  private gatherKernel(args: GatherArgs): void {
    const { table, ids, idsOffset, out, rows, cols } = args;
    if (isF32(table) && isF32(out)) this.addon.gather(table, ids, idsOffset, out, rows, cols);
    else refNN.gather(args);
  }

  private scatterAddKernel(args: ScatterAddArgs): void {
    const { dy, ids, idsOffset, dtable, rows, cols } = args;
    if (isF32(dy) && isF32(dtable)) this.addon.scatterAdd(dy, ids, idsOffset, dtable, rows, cols);
    else refNN.scatterAdd(args);
  }

  private crossEntropyKernel(args: CrossEntropyArgs): void {
    const { logits, rowLoss, dlogits } = args;
    if (isF32(logits) && isF32(rowLoss) && (dlogits === null || isF32(dlogits))) {
      this.addon.crossEntropy(
        logits,
        args.logitsOffset,
        args.targets,
        args.targetsOffset,
        args.rows,
        args.cols,
        args.ignoreIndex,
        args.smoothing,
        rowLoss,
        dlogits,
      );
    } else refNN.crossEntropy(args);
  }

  private adamKernel(args: AdamArgs): void {
    const { param, grad, m, v } = args;
    if (isF32(param) && isF32(grad) && isF32(m) && isF32(v)) {
      this.addon.adam(
        param,
        grad,
        m,
        v,
        args.size,
        args.lr,
        args.beta1,
        args.beta2,
        args.eps,
        args.weightDecay,
        args.step,
      );
    } else refNN.adam(args);
  }

  private dropoutKernel(args: DropoutArgs): void {
    const { x, out } = args;
    if (isF32(x) && isF32(out)) {
      this.addon.dropout(x, args.xOffset, out, args.size, args.state | 0, args.p, args.scale);
    } else refNN.dropout(args);
  }

  private gemm(args: MatmulArgs): void {
    const { M, N, K, a, b, c, alpha, accumulate } = args;
    // float64 (gradient checks) stays on the reference loops.
    if (
      !(
        a.data instanceof Float32Array &&
        b.data instanceof Float32Array &&
        c.data instanceof Float32Array
      )
    ) {
      referenceMatmul(args);
      return;
    }
    this.addon.gemmBatched(
      M,
      N,
      K,
      alpha,
      a.data,
      a.offsets,
      a.rowStride,
      a.colStride,
      b.data,
      b.offsets,
      b.rowStride,
      b.colStride,
      accumulate ? 1 : 0,
      c.data,
      c.offsets,
      c.ldc,
    );
  }
}
