/**
 * The fused kernels (softmax, layer norm, cross-entropy, Adam, dropout),
 * written with the primitive kernels only. A new backend implements the
 * primitives, takes these as its defaults (`withFusedDefaults`), passes the
 * whole suite, and then replaces them one at a time with fused kernels of its
 * own where the profile says they pay. `ATTN_BACKEND=primitive` runs the
 * reference primitives with these defaults, so CI proves they are complete.
 *
 * Each function follows the reference kernel's definition (src/backend/reference/nn.ts),
 * including its edge cases: a fully masked softmax row, ignored targets.
 * Over 400 lines as one concern: one composition per fused kernel, side by side.
 */
import type {
  AdamArgs,
  Backend,
  CrossEntropyArgs,
  DropoutArgs,
  DType,
  LayerNormArgs,
  LayerNormGradArgs,
  SoftmaxArgs,
  SoftmaxGradArgs,
  TopKArgs,
  TypedArray,
  View,
} from "./backend.js";

/** The kernels every backend implements itself. */
export const PRIMITIVE_KERNELS = [
  "allocate",
  "release",
  "write",
  "copy",
  "fill",
  "unary",
  "unaryGrad",
  "binary",
  "where",
  "reduce",
  "matmul",
  "gather",
  "scatterAdd",
  "bernoulli",
] as const;

/** The fused kernels, which default to the compositions below. */
export const FUSED_KERNELS = [
  "softmax",
  "softmaxGrad",
  "layerNorm",
  "layerNormGrad",
  "crossEntropy",
  "adam",
  "dropout",
  "topk",
] as const;

export type Primitives = Pick<Backend, (typeof PRIMITIVE_KERNELS)[number]> & { name: string };
export type FusedKernels = Pick<Backend, (typeof FUSED_KERNELS)[number]>;

/** A backend from its primitives, with each fused kernel it lacks composed from them. */
export function withFusedDefaults<B extends Primitives & Partial<FusedKernels>>(
  b: B,
): B & FusedKernels {
  const defaults = composedKernels(b);
  for (const k of FUSED_KERNELS) {
    if (typeof b[k] !== "function") (b as Record<string, unknown>)[k] = defaults[k];
  }
  return b as B & FusedKernels;
}

/**
 * A backend that has only `b`'s primitive kernels, every fused kernel composed
 * from them (`ATTN_BACKEND=primitive` with b the reference backend): what a new
 * backend passes the suite with before it writes a fused kernel.
 */
export function primitiveOnly(b: Backend, name = "primitive"): Backend {
  const prims: Record<string, unknown> = { name };
  for (const k of PRIMITIVE_KERNELS) prims[k] = (b[k] as (...a: unknown[]) => unknown).bind(b);
  return withFusedDefaults(prims as Primitives) as Backend;
}

function dtypeOf(a: TypedArray): DType {
  return a instanceof Float64Array ? "float64" : a instanceof Int32Array ? "int32" : "float32";
}

/** A contiguous [rows, cols] view of `data` from `offset`. */
function mat(data: TypedArray, rows: number, cols: number, offset = 0): View {
  return { data, offset, shape: [rows, cols], strides: [cols, 1] };
}

/** A per-row vector [rows] seen as [rows, cols] (broadcast along the row). */
function perRow(data: TypedArray, rows: number, cols: number): View {
  return { data, offset: 0, shape: [rows, cols], strides: [1, 0] };
}

/** A per-column vector [cols] seen as [rows, cols] (broadcast down the columns). */
function perCol(data: TypedArray, rows: number, cols: number, offset = 0): View {
  return { data, offset, shape: [rows, cols], strides: [0, 1] };
}

export function composedKernels(p: Primitives): FusedKernels {
  /** Scratch memory of one kernel call, released when it returns. */
  const scratch = <T>(fn: (alloc: (dtype: DType, size: number) => TypedArray) => T): T => {
    const held: TypedArray[] = [];
    try {
      return fn((dtype, size) => {
        const a = p.allocate(dtype, size, false);
        held.push(a);
        return a;
      });
    } finally {
      for (const a of held) p.release(a);
    }
  };
  /** A one-element array broadcast to `shape`. */
  const constant = (alloc: (d: DType, n: number) => TypedArray, dtype: DType) => {
    return (value: number, shape: readonly number[]): View => {
      const a = alloc(dtype, 1);
      p.fill({ data: a, offset: 0, shape: [1], strides: [1] }, value);
      return { data: a, offset: 0, shape, strides: shape.map(() => 0) };
    };
  };
  /** Row-wise reduction of [rows, cols] into a fresh [rows] array. */
  const rowReduce = (
    alloc: (d: DType, n: number) => TypedArray,
    op: "sum" | "max",
    x: View,
  ): TypedArray => {
    const [rows, cols] = x.shape;
    const out = alloc(dtypeOf(x.data), rows);
    const flat = { data: out, offset: 0, shape: [rows], strides: [1] };
    p.fill(flat, op === "sum" ? 0 : Number.NEGATIVE_INFINITY);
    p.reduce(op, x, perRow(out, rows, cols));
    return out;
  };

  return {
    softmax(a: SoftmaxArgs): void {
      const { x, out, rows, cols, log } = a;
      scratch((alloc) => {
        const dt = dtypeOf(x);
        const c = constant(alloc, dt);
        const shape = [rows, cols];
        const X = mat(x, rows, cols);
        const O = mat(out, rows, cols);
        const vec = [rows];
        const v1 = (data: TypedArray): View => ({ data, offset: 0, shape: vec, strides: [1] });
        // m = max_j x; a row of only -inf (fully masked) is shifted by 0 instead.
        const max = rowReduce(alloc, "max", X);
        const masked = alloc(dt, rows);
        p.binary("eq", v1(max), c(Number.NEGATIVE_INFINITY, vec), v1(masked));
        p.where(v1(masked), c(0, vec), v1(max), v1(max));
        // e = exp(x - m), s = Σ_j e
        const e = mat(alloc(dt, rows * cols), rows, cols);
        p.binary("sub", X, perRow(max, rows, cols), e);
        const shifted = log ? mat(alloc(dt, rows * cols), rows, cols) : null;
        if (shifted) p.copy(e, shifted);
        p.unary("exp", e, e);
        const s = rowReduce(alloc, "sum", e);
        if (shifted) {
          // log softmax = x - m - log s; -inf where the row is fully masked.
          p.unary("log", v1(s), v1(s));
          p.binary("sub", shifted, perRow(s, rows, cols), O);
          p.where(perRow(masked, rows, cols), c(Number.NEGATIVE_INFINITY, shape), O, O);
        } else {
          // softmax = e / s; zeros where the row is fully masked.
          p.binary("div", e, perRow(s, rows, cols), O);
          p.where(perRow(masked, rows, cols), c(0, shape), O, O);
        }
      });
    },

    softmaxGrad(a: SoftmaxGradArgs): void {
      const { y, dy, dx, rows, cols, log } = a;
      scratch((alloc) => {
        const dt = dtypeOf(y);
        const shape = [rows, cols];
        const Y = mat(y, rows, cols);
        const DY = mat(dy, rows, cols);
        const DX = mat(dx, rows, cols);
        const t = mat(alloc(dt, rows * cols), rows, cols);
        if (log) {
          // dx = dy - exp(y) · Σ_j dy; 0 where y = -inf (a fully masked row).
          const s = perRow(rowReduce(alloc, "sum", DY), rows, cols);
          p.unary("exp", Y, t);
          p.binary("mul", t, s, t);
          p.binary("sub", DY, t, DX);
          const c = constant(alloc, dt);
          const masked = mat(alloc(dt, rows * cols), rows, cols);
          p.binary("eq", Y, c(Number.NEGATIVE_INFINITY, shape), masked);
          p.where(masked, c(0, shape), DX, DX);
        } else {
          // dx = y ⊙ (dy - Σ_j y·dy)
          p.binary("mul", Y, DY, t);
          const s = perRow(rowReduce(alloc, "sum", t), rows, cols);
          p.binary("sub", DY, s, t);
          p.binary("mul", Y, t, DX);
        }
      });
    },

    layerNorm(a: LayerNormArgs): void {
      const { x, gamma, beta, out, mean, rstd, rows, cols, eps } = a;
      scratch((alloc) => {
        const dt = dtypeOf(x);
        const c = constant(alloc, dt);
        const X = mat(x, rows, cols);
        const vec = [rows];
        const meanV = { data: mean, offset: 0, shape: vec, strides: [1] };
        const rstdV = { data: rstd, offset: 0, shape: vec, strides: [1] };
        // μ = Σ x / n
        p.fill(meanV, 0);
        p.reduce("sum", X, perRow(mean, rows, cols));
        p.binary("mul", meanV, c(1 / cols, vec), meanV);
        // σ⁻¹ = 1 / √(Σ (x - μ)² / n + ε)   (biased variance, as PyTorch)
        const d = mat(alloc(dt, rows * cols), rows, cols);
        p.binary("sub", X, perRow(mean, rows, cols), d);
        const d2 = mat(alloc(dt, rows * cols), rows, cols);
        p.binary("mul", d, d, d2);
        p.fill(rstdV, 0);
        p.reduce("sum", d2, perRow(rstd, rows, cols));
        p.binary("mul", rstdV, c(1 / cols, vec), rstdV);
        p.binary("add", rstdV, c(eps, vec), rstdV);
        p.unary("rsqrt", rstdV, rstdV);
        // out = (x - μ) σ⁻¹ γ + β
        const O = mat(out, rows, cols);
        p.binary("mul", d, perRow(rstd, rows, cols), O);
        p.binary("mul", O, perCol(gamma, rows, cols), O);
        p.binary("add", O, perCol(beta, rows, cols), O);
      });
    },

    layerNormGrad(a: LayerNormGradArgs): void {
      const { dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols } = a;
      scratch((alloc) => {
        const dt = dtypeOf(x);
        const c = constant(alloc, dt);
        const shape = [rows, cols];
        const DY = mat(dy, rows, cols);
        const S = perRow(rstd, rows, cols);
        // x̂ = (x - μ) σ⁻¹, g = dy γ
        const xh = mat(alloc(dt, rows * cols), rows, cols);
        p.binary("sub", mat(x, rows, cols), perRow(mean, rows, cols), xh);
        p.binary("mul", xh, S, xh);
        const g = mat(alloc(dt, rows * cols), rows, cols);
        p.binary("mul", DY, perCol(gamma, rows, cols), g);
        // dγ += Σ_rows dy x̂, dβ += Σ_rows dy (reduce accumulates into its output)
        const t = mat(alloc(dt, rows * cols), rows, cols);
        p.binary("mul", DY, xh, t);
        p.reduce("sum", t, perCol(dgamma, rows, cols));
        p.reduce("sum", DY, perCol(dbeta, rows, cols));
        // dx = σ⁻¹ (g - mean(g) - x̂ · mean(g x̂))
        const mg = rowReduce(alloc, "sum", g);
        p.binary("mul", g, xh, t);
        const mgx = rowReduce(alloc, "sum", t);
        const inv = c(1 / cols, shape);
        const MG = perRow(mg, rows, cols);
        const MGX = perRow(mgx, rows, cols);
        p.binary("mul", xh, MGX, t);
        p.binary("mul", t, inv, t);
        const DX = mat(dx, rows, cols);
        p.binary("sub", g, t, DX);
        p.binary("mul", MG, inv, t);
        p.binary("sub", DX, t, DX);
        p.binary("mul", DX, S, DX);
      });
    },

    crossEntropy(a: CrossEntropyArgs): void {
      const { rows, cols, smoothing } = a;
      scratch((alloc) => {
        const dt = dtypeOf(a.logits);
        const c = constant(alloc, dt);
        const shape = [rows, cols];
        const vec = [rows];
        const Z = mat(a.logits, rows, cols, a.logitsOffset);
        // q = (1-ε)·onehot(y) + ε/V: the one-hot from a column index row compared with y.
        const cols32 = alloc("int32", cols) as Int32Array;
        p.write(
          cols32,
          0,
          Int32Array.from({ length: cols }, (_, j) => j),
        );
        const Y = { data: a.targets, offset: a.targetsOffset, shape, strides: [1, 0] };
        const onehot = mat(alloc("int32", rows * cols), rows, cols);
        p.binary("eq", perCol(cols32, rows, cols), Y, onehot);
        const Yv = { data: a.targets, offset: a.targetsOffset, shape: vec, strides: [1] };
        const ignored = alloc("int32", rows);
        const ignoredV = { data: ignored, offset: 0, shape: vec, strides: [1] };
        p.binary("eq", Yv, constant(alloc, "int32")(a.ignoreIndex, vec), ignoredV);
        // lse = m + log Σ exp(z - m)
        const max = rowReduce(alloc, "max", Z);
        const e = mat(alloc(dt, rows * cols), rows, cols);
        p.binary("sub", Z, perRow(max, rows, cols), e);
        p.unary("exp", e, e);
        const sum = rowReduce(alloc, "sum", e);
        const lse = { data: alloc(dt, rows), offset: 0, shape: vec, strides: [1] };
        p.unary("log", { data: sum, offset: 0, shape: vec, strides: [1] }, lse);
        p.binary("add", lse, { data: max, offset: 0, shape: vec, strides: [1] }, lse);
        // loss = lse - (1-ε) z_y - (ε/V) Σ z; 0 for an ignored target.
        const zy = mat(alloc(dt, rows * cols), rows, cols);
        p.where(onehot, Z, c(0, shape), zy);
        const zY = rowReduce(alloc, "sum", zy);
        const sumZ = rowReduce(alloc, "sum", Z);
        const loss = { data: a.rowLoss, offset: 0, shape: vec, strides: [1] };
        const t = { data: alloc(dt, rows), offset: 0, shape: vec, strides: [1] };
        p.binary(
          "mul",
          { data: zY, offset: 0, shape: vec, strides: [1] },
          c(1 - smoothing, vec),
          t,
        );
        p.binary("sub", lse, t, loss);
        p.binary(
          "mul",
          { data: sumZ, offset: 0, shape: vec, strides: [1] },
          c(smoothing / cols, vec),
          t,
        );
        p.binary("sub", loss, t, loss);
        p.where(ignoredV, c(0, vec), loss, loss);
        if (a.dlogits) {
          // dz = softmax(z) - q; 0 for an ignored target.
          const D = mat(a.dlogits, rows, cols);
          p.binary("div", e, perRow(sum, rows, cols), D);
          p.binary("sub", D, c(smoothing / cols, shape), D);
          const q = mat(alloc(dt, rows * cols), rows, cols);
          p.where(onehot, c(1 - smoothing, shape), c(0, shape), q);
          p.binary("sub", D, q, D);
          p.where(perRow(ignored, rows, cols), c(0, shape), D, D);
        }
      });
    },

    adam(a: AdamArgs): void {
      const { size, lr, beta1, beta2, eps, weightDecay, step } = a;
      scratch((alloc) => {
        const dt = dtypeOf(a.param);
        const c = constant(alloc, dt);
        const s = [size];
        const v1 = (data: TypedArray): View => ({ data, offset: 0, shape: s, strides: [1] });
        const P = v1(a.param);
        const G = v1(a.grad);
        const M = v1(a.m);
        const V = v1(a.v);
        const t = v1(alloc(dt, size));
        // m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²
        p.binary("mul", M, c(beta1, s), M);
        p.binary("mul", G, c(1 - beta1, s), t);
        p.binary("add", M, t, M);
        p.binary("mul", V, c(beta2, s), V);
        p.binary("mul", G, G, t);
        p.binary("mul", t, c(1 - beta2, s), t);
        p.binary("add", V, t, V);
        // p = p (1 - lr λ) - (lr / (1-β1^t)) m / (√v / √(1-β2^t) + ε)
        const bc1 = 1 - beta1 ** step;
        const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
        if (weightDecay !== 0) p.binary("mul", P, c(1 - lr * weightDecay, s), P);
        p.unary("sqrt", V, t);
        p.binary("div", t, c(bc2Sqrt, s), t);
        p.binary("add", t, c(eps, s), t);
        p.binary("div", M, t, t);
        p.binary("mul", t, c(lr / bc1, s), t);
        p.binary("sub", P, t, P);
      });
    },

    dropout(a: DropoutArgs): void {
      const { size } = a;
      scratch((alloc) => {
        const dt = dtypeOf(a.x);
        const c = constant(alloc, dt);
        const s = [size];
        const keep = { data: alloc(dt, size), offset: 0, shape: s, strides: [1] };
        p.bernoulli(a.state, a.p, keep);
        const out = { data: a.out, offset: 0, shape: s, strides: [1] };
        p.binary(
          "mul",
          { data: a.x, offset: a.xOffset, shape: s, strides: [1] },
          c(a.scale, s),
          out,
        );
        p.where(keep, out, c(0, s), out);
      });
    },

    topk(a: TopKArgs): void {
      const { x, rows, cols, k } = a;
      const NEG = Number.NEGATIVE_INFINITY;
      scratch((alloc) => {
        const dt = dtypeOf(x);
        const c = constant(alloc, dt);
        const shape = [rows, cols];
        const vec = [rows];
        const v1 = (data: TypedArray): View => ({ data, offset: 0, shape: vec, strides: [1] });
        const column = (data: TypedArray, i: number): View => ({
          data,
          offset: i,
          shape: vec,
          strides: [k],
        });
        // W = x with NaN as -inf (never chosen); chosen columns become -inf one by one.
        const X = mat(x, rows, cols);
        const W = mat(alloc(dt, rows * cols), rows, cols);
        const t = mat(alloc(dt, rows * cols), rows, cols);
        p.binary("ne", X, X, t);
        p.where(t, c(NEG, shape), X, W);
        const iota = alloc(dt, cols);
        p.write(
          iota,
          0,
          Array.from({ length: cols }, (_, j) => j),
        );
        const I = perCol(iota, rows, cols);
        const idx = alloc(dt, rows);
        const none = alloc(dt, rows);
        for (let i = 0; i < k; i++) {
          const m = rowReduce(alloc, "max", W);
          // The first column holding the row's max: min_j where(W == m, j, cols) = -max(-…).
          p.binary("eq", W, perRow(m, rows, cols), t);
          p.where(t, I, c(cols, shape), t);
          p.unary("neg", t, t);
          p.fill(v1(idx), NEG);
          p.reduce("max", t, perRow(idx, rows, cols));
          p.unary("neg", v1(idx), v1(idx));
          // Nothing above -inf left: index -1 (the value is already -inf).
          p.binary("eq", v1(m), c(NEG, vec), v1(none));
          p.where(v1(none), c(-1, vec), v1(idx), v1(idx));
          p.copy(v1(m), column(a.values, i));
          p.copy(v1(idx), column(a.indices, i));
          p.binary("eq", I, perRow(idx, rows, cols), t);
          p.where(t, c(NEG, shape), W, W);
        }
      });
    },
  };
}
