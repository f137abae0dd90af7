/**
 * The WebAssembly backend: tensors live in the module's linear memory (see
 * ./heap.ts) and the kernels are C compiled to wasm with SIMD128 (./csrc),
 * multi-threaded over shared memory where the platform allows it (./runtime.ts).
 * Kernels without a wasm version, float64 work (gradient checks) and operands
 * that live elsewhere (tensors made before the backend switch, on the JS heap)
 * run the reference TypeScript loops, which read any typed array.
 *
 * Platform-neutral: create it with ./node.ts (Node) or ./browser.ts (browsers).
 *
 * Over 400 lines as one concern: one wrapper per kernel export, each checking its operands.
 */
import type {
  AdamArgs,
  BinaryOp,
  CrossEntropyArgs,
  DropoutArgs,
  DType,
  MatmulArgs,
  TypedArray,
  UnaryOp,
  View,
} from "../backend.js";
import { BINARY_OPS, UNARY_OPS } from "../backend.js";
import { ReferenceBackend } from "../reference/index.js";
import { matmul as referenceMatmul } from "../reference/matmul.js";
import type { KernelExports, WasmRuntime } from "./runtime.js";

/** Op codes of src/backend/kernels/kernels.h (enum order). */
const UNARY_CODES = Object.fromEntries(UNARY_OPS.map((op, i) => [op, i])) as Record<
  UnaryOp,
  number
>;
const BINARY_CODES = Object.fromEntries(BINARY_OPS.map((op, i) => [op, i])) as Record<
  BinaryOp,
  number
>;
/** Rank limit of the strided kernels (ATTN_MAX_DIMS). */
const MAX_DIMS = 16;

/** The exports of csrc/kernels_glue.c (pointers are byte addresses, lengths elements). */
interface OpExports {
  attn_w_unary(op: number, x: number, lx: number, o: number, lo: number, meta: number): number;
  attn_w_binary(
    op: number,
    a: number,
    la: number,
    b: number,
    lb: number,
    o: number,
    lo: number,
    meta: number,
  ): number;
  attn_w_where(
    c: number,
    lc: number,
    cInt: number,
    a: number,
    la: number,
    b: number,
    lb: number,
    o: number,
    lo: number,
    meta: number,
  ): number;
  attn_w_reduce(op: number, x: number, lx: number, o: number, lo: number, meta: number): number;
  attn_w_copy(s: number, ls: number, d: number, ld: number, meta: number): number;
  attn_w_fill(d: number, ld: number, value: number, meta: number): number;
  attn_w_unary_grad(op: number, x: number, y: number, dy: number, dx: number, n: number): void;
  attn_w_softmax(x: number, o: number, rows: number, cols: number, log: number): void;
  attn_w_softmax_grad(
    y: number,
    dy: number,
    dx: number,
    rows: number,
    cols: number,
    log: number,
  ): void;
  attn_w_layer_norm(
    x: number,
    g: number,
    b: number,
    o: number,
    mean: number,
    rstd: number,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  attn_w_layer_norm_grad(
    dy: number,
    x: number,
    g: number,
    mean: number,
    rstd: number,
    dx: number,
    dg: number,
    db: number,
    rows: number,
    cols: number,
  ): void;
  attn_w_gather(
    table: number,
    ltable: number,
    ids: number,
    o: number,
    rows: number,
    cols: number,
  ): number;
  attn_w_scatter_add(
    dy: number,
    ids: number,
    dtable: number,
    ltable: number,
    rows: number,
    cols: number,
  ): number;
  attn_w_cross_entropy(
    z: number,
    t: number,
    rows: number,
    cols: number,
    ignore: number,
    smoothing: number,
    loss: number,
    dlogits: number,
  ): number;
  attn_w_dropout(x: number, o: number, n: number, state: number, p: number, scale: number): void;
  attn_w_adam(
    p: number,
    g: number,
    m: number,
    v: number,
    n: number,
    lr: number,
    b1: number,
    b2: number,
    eps: number,
    wd: number,
    step: number,
  ): void;
}

export type { WasmPlatform, RuntimeOptions } from "./runtime.js";

const OPERANDS = ["A", "B", "C"];

export class WasmBackend extends ReferenceBackend {
  override readonly name: string = "wasm";
  readonly runtime: WasmRuntime;
  private readonly ex: KernelExports;
  /** The non-GEMM kernels, or null in a module built without src/backend/kernels. */
  private readonly ops: OpExports | null;
  /** View geometry for the strided kernels, in wasm memory (see csrc/kernels_glue.c). */
  private readonly metaPtr: number;
  private readonly meta: Int32Array;
  /** Staging area in wasm memory for small per-call arrays (batch offsets). */
  private stage = 0;
  private stageBytes = 0;
  private stageI32: Int32Array = new Int32Array(0);
  private readonly poison =
    (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
      ?.ATTN_POISON_UNINIT === "1";

  constructor(runtime: WasmRuntime) {
    super();
    this.runtime = runtime;
    this.ex = runtime.exports;
    this.ops =
      typeof this.ex.attn_w_unary === "function" ? (this.ex as unknown as OpExports) : null;
    const bytes = 4 * (1 + MAX_DIMS + 4 * (MAX_DIMS + 1));
    this.metaPtr = runtime.heap.alloc(bytes, true);
    if (this.metaPtr < 0) throw new Error("wasm backend: out of memory");
    this.meta = new Int32Array(runtime.heap.buffer, this.metaPtr, bytes / 4);
    this.matmul = (args) => this.gemm(args);
    if (this.ops) this.installKernels(this.ops);
  }

  /** Threads used by the kernels, caller included. */
  setNumThreads(n: number): void {
    this.runtime.setThreads(n);
  }

  getNumThreads(): number {
    return this.runtime.numThreads;
  }

  /** Stops the worker threads (the backend keeps working on the calling thread). */
  close(): void {
    this.runtime.close();
  }

  /** Resolves once the worker threads asked for are running (they start asynchronously). */
  whenReady(timeoutMs?: number): Promise<boolean> {
    return this.runtime.whenReady(timeoutMs);
  }

  /** True if `a` is a view of this backend's memory (kernels run in place only on those). */
  owns(a: TypedArray): boolean {
    return this.runtime.heap.owns(a.buffer);
  }

  override allocate(dtype: DType, size: number, zero = true): TypedArray {
    if (dtype === "float64") return super.allocate(dtype, size, zero);
    const heap = this.runtime.heap;
    const addr = heap.alloc(size * 4, zero);
    // Memory full (or a fixed, non-shared memory exhausted): a JS-heap array.
    if (addr < 0) return super.allocate(dtype, size, zero);
    const buf = heap.buffer;
    if (dtype === "int32") return new Int32Array(buf, addr, size);
    const a = new Float32Array(buf, addr, size);
    if (!zero && this.poison) a.fill(Number.NaN);
    return a;
  }

  override release(data: TypedArray): void {
    const heap = this.runtime.heap;
    if (heap.owns(data.buffer)) heap.release(data.byteOffset, data.byteLength);
    else super.release(data);
  }

  /** A pointer to `n` int32 of staging memory (this.stageI32 views it); -1 if memory is full. */
  private staged(n: number): number {
    const bytes = n * 4;
    if (bytes > this.stageBytes) {
      const heap = this.runtime.heap;
      if (this.stageBytes > 0) heap.release(this.stage, this.stageBytes);
      this.stageBytes = Math.max(4096, 2 ** Math.ceil(Math.log2(bytes)));
      this.stage = heap.alloc(this.stageBytes, false);
      if (this.stage < 0) {
        this.stageBytes = 0;
        return -1;
      }
      // Shared memory: an older buffer's view stays valid after growth.
      this.stageI32 = new Int32Array(heap.buffer, this.stage, this.stageBytes / 4);
    }
    return this.stage;
  }

  /** A Float32Array in this backend's memory. */
  private f32(a: TypedArray | null): a is Float32Array {
    return a instanceof Float32Array && this.runtime.heap.owns(a.buffer);
  }

  private i32(a: TypedArray): a is Int32Array {
    return a instanceof Int32Array && this.runtime.heap.owns(a.buffer);
  }

  /** Writes [nd, shape, (strides, offset) per view] to the meta block; false if the rank is too high. */
  private setMeta(shape: readonly number[], v0: View, v1?: View, v2?: View, v3?: View): boolean {
    const nd = shape.length;
    if (nd > MAX_DIMS) return false;
    const m = this.meta;
    m[0] = nd;
    for (let d = 0; d < nd; d++) m[1 + d] = shape[d];
    let at = 1 + nd;
    for (const v of [v0, v1, v2, v3]) {
      if (v === undefined) break;
      for (let d = 0; d < nd; d++) m[at++] = v.strides[d];
      m[at++] = v.offset;
    }
    return true;
  }

  /** Replaces the reference kernels with the wasm ones, each falling back where it cannot run. */
  private installKernels(ops: OpExports): void {
    const ref = new ReferenceBackend();
    const meta = this.metaPtr;
    const need = (ok: boolean, what: string) => {
      if (!ok) throw new RangeError(`wasm backend: ${what} is too short`);
    };

    this.copy = (src, dst) => {
      const s = src.data;
      const d = dst.data;
      const same = (this.f32(s) && this.f32(d)) || (this.i32(s) && this.i32(d));
      if (!same || !this.setMeta(dst.shape, src, dst)) return ref.copy(src, dst);
      check(ops.attn_w_copy(s.byteOffset, s.length, d.byteOffset, d.length, meta), "copy");
    };
    this.fill = (dst, value) => {
      const d = dst.data;
      if (!this.f32(d) || !this.setMeta(dst.shape, dst)) return ref.fill(dst, value);
      check(ops.attn_w_fill(d.byteOffset, d.length, value, meta), "fill");
    };
    this.unary = (op, x, out) => {
      const xd = x.data;
      const od = out.data;
      if (!this.f32(xd) || !this.f32(od) || !this.setMeta(out.shape, x, out))
        return ref.unary(op, x, out);
      check(
        ops.attn_w_unary(UNARY_CODES[op], xd.byteOffset, xd.length, od.byteOffset, od.length, meta),
        "unary",
      );
    };
    this.unaryGrad = (args) => {
      const { op, x, y, dy, dx, size } = args;
      if (!this.f32(x) || !this.f32(y) || !this.f32(dy) || !this.f32(dx))
        return ref.unaryGrad(args);
      need(Math.min(x.length, y.length, dy.length, dx.length) >= size, "unaryGrad: an operand");
      ops.attn_w_unary_grad(
        UNARY_CODES[op],
        x.byteOffset,
        y.byteOffset,
        dy.byteOffset,
        dx.byteOffset,
        size,
      );
    };
    this.binary = (op, a, b, out) => {
      const ad = a.data;
      const bd = b.data;
      const od = out.data;
      if (!this.f32(ad) || !this.f32(bd) || !this.f32(od) || !this.setMeta(out.shape, a, b, out))
        return ref.binary(op, a, b, out);
      check(
        ops.attn_w_binary(
          BINARY_CODES[op],
          ad.byteOffset,
          ad.length,
          bd.byteOffset,
          bd.length,
          od.byteOffset,
          od.length,
          meta,
        ),
        "binary",
      );
    };
    this.where = (cond, a, b, out) => {
      const cd = cond.data;
      const ad = a.data;
      const bd = b.data;
      const od = out.data;
      const condOk = this.f32(cd) || this.i32(cd);
      if (
        !condOk ||
        !this.f32(ad) ||
        !this.f32(bd) ||
        !this.f32(od) ||
        !this.setMeta(out.shape, cond, a, b, out)
      )
        return ref.where(cond, a, b, out);
      check(
        ops.attn_w_where(
          cd.byteOffset,
          cd.length,
          cd instanceof Int32Array ? 1 : 0,
          ad.byteOffset,
          ad.length,
          bd.byteOffset,
          bd.length,
          od.byteOffset,
          od.length,
          meta,
        ),
        "where",
      );
    };
    this.reduce = (op, x, out) => {
      const xd = x.data;
      const od = out.data;
      if (!this.f32(xd) || !this.f32(od) || !this.setMeta(x.shape, x, out))
        return ref.reduce(op, x, out);
      check(
        ops.attn_w_reduce(
          op === "sum" ? 0 : 1,
          xd.byteOffset,
          xd.length,
          od.byteOffset,
          od.length,
          meta,
        ),
        "reduce",
      );
    };
    this.softmax = (args) => {
      const { x, out, rows, cols, log } = args;
      if (!this.f32(x) || !this.f32(out)) return ref.softmax(args);
      need(Math.min(x.length, out.length) >= rows * cols, "softmax: x or out");
      ops.attn_w_softmax(x.byteOffset, out.byteOffset, rows, cols, log ? 1 : 0);
    };
    this.softmaxGrad = (args) => {
      const { y, dy, dx, rows, cols, log } = args;
      if (!this.f32(y) || !this.f32(dy) || !this.f32(dx)) return ref.softmaxGrad(args);
      need(Math.min(y.length, dy.length, dx.length) >= rows * cols, "softmaxGrad: an operand");
      ops.attn_w_softmax_grad(y.byteOffset, dy.byteOffset, dx.byteOffset, rows, cols, log ? 1 : 0);
    };
    this.layerNorm = (args) => {
      const { x, gamma, beta, out, mean, rstd, rows, cols, eps } = args;
      if (![x, gamma, beta, out, mean, rstd].every((a) => this.f32(a))) return ref.layerNorm(args);
      const n = rows * cols;
      const c = rows > 0 ? cols : 0;
      need(x.length >= n && out.length >= n, "layerNorm: x or out");
      need(gamma.length >= c && beta.length >= c, "layerNorm: gamma or beta");
      need(mean.length >= rows && rstd.length >= rows, "layerNorm: mean or rstd");
      ops.attn_w_layer_norm(
        x.byteOffset,
        gamma.byteOffset,
        beta.byteOffset,
        out.byteOffset,
        mean.byteOffset,
        rstd.byteOffset,
        rows,
        cols,
        eps,
      );
    };
    this.layerNormGrad = (args) => {
      const { dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols } = args;
      if (![dy, x, gamma, mean, rstd, dx, dgamma, dbeta].every((a) => this.f32(a)))
        return ref.layerNormGrad(args);
      const n = rows * cols;
      const c = rows > 0 ? cols : 0;
      need(Math.min(dy.length, x.length, dx.length) >= n, "layerNormGrad: dy, x or dx");
      need(Math.min(gamma.length, dgamma.length, dbeta.length) >= c, "layerNormGrad: gamma");
      need(mean.length >= rows && rstd.length >= rows, "layerNormGrad: mean or rstd");
      ops.attn_w_layer_norm_grad(
        dy.byteOffset,
        x.byteOffset,
        gamma.byteOffset,
        mean.byteOffset,
        rstd.byteOffset,
        dx.byteOffset,
        dgamma.byteOffset,
        dbeta.byteOffset,
        rows,
        cols,
      );
    };
    this.gather = (args) => {
      const { table, ids, idsOffset, out, rows, cols } = args;
      if (!this.f32(table) || !this.i32(ids) || !this.f32(out)) return ref.gather(args);
      need(ids.length >= idsOffset + rows && out.length >= rows * cols, "gather: ids or out");
      check(
        ops.attn_w_gather(
          table.byteOffset,
          table.length,
          ids.byteOffset + 4 * idsOffset,
          out.byteOffset,
          rows,
          cols,
        ),
        "gather",
      );
    };
    this.scatterAdd = (args) => {
      const { dy, ids, idsOffset, dtable, rows, cols } = args;
      if (!this.f32(dy) || !this.i32(ids) || !this.f32(dtable)) return ref.scatterAdd(args);
      need(ids.length >= idsOffset + rows && dy.length >= rows * cols, "scatterAdd: ids or dy");
      check(
        ops.attn_w_scatter_add(
          dy.byteOffset,
          ids.byteOffset + 4 * idsOffset,
          dtable.byteOffset,
          dtable.length,
          rows,
          cols,
        ),
        "scatterAdd",
      );
    };
    this.crossEntropy = (args: CrossEntropyArgs) => {
      const { logits, targets, rowLoss, dlogits, rows, cols } = args;
      if (
        !this.f32(logits) ||
        !this.i32(targets) ||
        !this.f32(rowLoss) ||
        (dlogits !== null && !this.f32(dlogits))
      )
        return ref.crossEntropy(args);
      const n = rows * cols;
      need(logits.length >= args.logitsOffset + n, "crossEntropy: logits");
      need(targets.length >= args.targetsOffset + rows, "crossEntropy: targets");
      need(
        rowLoss.length >= rows && (dlogits === null || dlogits.length >= n),
        "crossEntropy: rowLoss or dlogits",
      );
      check(
        ops.attn_w_cross_entropy(
          logits.byteOffset + 4 * args.logitsOffset,
          targets.byteOffset + 4 * args.targetsOffset,
          rows,
          cols,
          args.ignoreIndex,
          args.smoothing,
          rowLoss.byteOffset,
          dlogits === null ? 0 : dlogits.byteOffset,
        ),
        "crossEntropy",
      );
    };
    this.dropout = (args: DropoutArgs) => {
      const { x, out, size } = args;
      if (!this.f32(x) || !this.f32(out)) return ref.dropout(args);
      need(x.length >= args.xOffset + size && out.length >= size, "dropout: x or out");
      ops.attn_w_dropout(
        x.byteOffset + 4 * args.xOffset,
        out.byteOffset,
        size,
        args.state,
        args.p,
        args.scale,
      );
    };
    this.adam = (args: AdamArgs) => {
      const { param, grad, m, v, size } = args;
      if (!this.f32(param) || !this.f32(grad) || !this.f32(m) || !this.f32(v))
        return ref.adam(args);
      need(Math.min(param.length, grad.length, m.length, v.length) >= size, "adam: an operand");
      ops.attn_w_adam(
        param.byteOffset,
        grad.byteOffset,
        m.byteOffset,
        v.byteOffset,
        size,
        args.lr,
        args.beta1,
        args.beta2,
        args.eps,
        args.weightDecay,
        args.step,
      );
    };
  }

  private gemm(args: MatmulArgs): void {
    const { M, N, K, a, b, c, alpha, accumulate } = args;
    const heap = this.runtime.heap;
    const batch = c.offsets.length;
    if (
      !(
        a.data instanceof Float32Array &&
        b.data instanceof Float32Array &&
        c.data instanceof Float32Array &&
        heap.owns(a.data.buffer) &&
        heap.owns(b.data.buffer) &&
        heap.owns(c.data.buffer)
      ) ||
      a.offsets.length !== batch ||
      b.offsets.length !== batch
    ) {
      referenceMatmul(args);
      return;
    }
    const st = this.staged(3 * batch);
    if (st < 0) {
      referenceMatmul(args);
      return;
    }
    const s = this.stageI32;
    s.set(a.offsets, 0);
    s.set(b.offsets, batch);
    s.set(c.offsets, 2 * batch);
    const rc = this.ex.attn_gemm(
      M,
      N,
      K,
      alpha,
      a.data.byteOffset,
      st,
      a.rowStride,
      a.colStride,
      a.data.length,
      b.data.byteOffset,
      st + 4 * batch,
      b.rowStride,
      b.colStride,
      b.data.length,
      accumulate ? 1 : 0,
      c.data.byteOffset,
      st + 8 * batch,
      c.ldc,
      c.data.length,
      batch,
    );
    if (rc !== 0) throw gemmError(rc);
  }
}

/** Turns a kernel's negative return code into an Error. */
function check(rc: number, fn: string): void {
  if (rc === 0) return;
  if (rc === -100) throw new RangeError(`wasm ${fn}: invalid op or view geometry`);
  if (rc <= -200)
    throw new RangeError(`wasm ${fn}: id or target at row ${-200 - rc} is out of range`);
  throw new RangeError(`wasm ${fn}: operand ${-rc} reaches outside its array`);
}

function gemmError(rc: number): Error {
  if (rc === -(2 ** 30)) return new Error("wasm matmul: no scratch memory for this thread");
  const i = -rc - 1;
  const b = Math.floor(i / 3);
  return new RangeError(
    `wasm matmul: operand ${OPERANDS[i % 3]} of batch entry ${b} reaches outside its array`,
  );
}
