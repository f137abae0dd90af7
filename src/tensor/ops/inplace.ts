/**
 * In-place writes into existing tensors, outside autograd: loading weights,
 * optimizer updates, gradient scaling, and the KV cache's appends and beam
 * reorders. Code above src/tensor goes through these instead of touching a
 * tensor's storage, so the same calls work on a backend whose memory is a
 * device buffer.
 */
import type { AdamArgs, FloatArray, View } from "../../backend/backend.js";
import { AttnError } from "../../errors.js";
import { getBackend } from "../engine.js";
import { contiguousStrides, fmt, sameShape } from "../shape.js";
import { Tensor } from "../tensor.js";

/** dst[...] = src[...] (a tensor of dst's shape, or host values in row-major order). */
export function assign(dst: Tensor, src: Tensor | ArrayLike<number>): void {
  if (src instanceof Tensor) {
    if (!sameShape(src.shape, dst.shape))
      throw new AttnError(`assign: source ${fmt(src.shape)} into ${fmt(dst.shape)}`);
    if (src.dtype !== dst.dtype)
      throw new AttnError(`assign: source ${src.dtype} into ${dst.dtype}`);
    getBackend().copy(src.view(), dst.view());
    return;
  }
  if (src.length !== dst.size)
    throw new AttnError(`assign: ${src.length} values into ${fmt(dst.shape)}`);
  if (dst.isContiguous()) {
    getBackend().write(dst.data, dst.offset, src);
    return;
  }
  const tmp = Tensor.uninit(dst.shape, dst.dtype);
  getBackend().write(tmp.data, 0, src);
  getBackend().copy(tmp.view(), dst.view());
  tmp.dispose();
}

/** Every element of t (a view is fine) set to value, in place. */
export function fillInPlace(t: Tensor, value: number): void {
  getBackend().fill(t.view(), value);
}

/** t *= factor, in place. */
export function scaleInPlace(t: Tensor, factor: number): void {
  const v = t.view();
  withScalar(t, factor, (s) => getBackend().binary("mul", v, s, v));
}

/** θ ← θ - lr·g (plain SGD). */
export function sgdUpdate(param: Tensor, grad: Tensor, lr: number): void {
  const step = Tensor.uninit(param.shape, param.dtype);
  const be = getBackend();
  withScalar(param, lr, (s) => be.binary("mul", grad.view(), s, step.view()));
  be.binary("sub", param.view(), step.view(), param.view());
  step.dispose();
}

/** Adam's settings of one update: the kernel's arguments without the arrays. */
export type AdamHyper = Omit<AdamArgs, "param" | "grad" | "m" | "v" | "size">;

/** One Adam/AdamW update of a contiguous parameter and its moments, in place (the fused kernel). */
export function adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, h: AdamHyper): void {
  for (const t of [param, grad, m, v]) {
    if (!t.isContiguous())
      throw new AttnError("adam: parameters, gradients and moments must be contiguous");
  }
  const flat = (t: Tensor) => (t.data as FloatArray).subarray(t.offset, t.offset + t.size);
  getBackend().adam({
    param: flat(param),
    grad: flat(grad),
    m: flat(m),
    v: flat(v),
    size: param.size,
    ...h,
  });
}

/** Runs fn with `value` broadcast to t's shape (a stride-0 view of one element). */
function withScalar(t: Tensor, value: number, fn: (v: View) => void): void {
  const one = Tensor.uninit([], t.dtype);
  getBackend().write(one.data, 0, [value]);
  fn({ data: one.data, offset: 0, shape: t.shape, strides: t.shape.map(() => 0) });
  one.dispose();
}

/**
 * Row i of t becomes old row parents[i], in place, for the first
 * parents.length rows (beam search's reorder; rows past parents.length are
 * dropped by the caller). t's rows must not overlap (true of any tensor whose
 * axis 0 is outermost in memory). A row is overwritten only after every row
 * reading it has been copied; a cycle of parents goes through `scratch` (one
 * row's elements, contiguous).
 */
export function reorderRows(t: Tensor, parents: ArrayLike<number>, scratch: () => Tensor): void {
  const R = t.shape[0];
  const n = parents.length;
  if (n > R) throw new AttnError(`reorderRows: ${n} rows asked of a batch of ${R}`);
  const pending = new Int32Array(R);
  for (let i = 0; i < n; i++) {
    const p = parents[i];
    if (!(p >= 0 && p < R)) throw new AttnError(`reorderRows: parent ${p} is not a row of ${R}`);
    if (p !== i) pending[p]++;
  }
  const rowShape = t.shape.slice(1);
  const rowStrides = t.strides.slice(1);
  const data = t.data;
  const row = (r: number): View => ({
    data,
    offset: t.offset + r * t.strides[0],
    shape: rowShape,
    strides: rowStrides,
  });
  const be = getBackend();
  const done = new Uint8Array(n);
  const ready: number[] = [];
  for (let i = 0; i < n; i++) if (parents[i] !== i && pending[i] === 0) ready.push(i);
  // Trees first: a row whose readers are all done can be overwritten.
  while (ready.length > 0) {
    const i = ready.pop()!;
    const p = parents[i];
    be.copy(row(p), row(i));
    done[i] = 1;
    if (--pending[p] === 0 && p < n && parents[p] !== p && !done[p]) ready.push(p);
  }
  // What is left are cycles: save one row, shift the others along, restore.
  for (let i = 0; i < n; i++) {
    if (done[i] || parents[i] === i) continue;
    const s = scratch();
    const sv: View = {
      data: s.data,
      offset: s.offset,
      shape: rowShape,
      strides: contiguousStrides(rowShape),
    };
    be.copy(row(i), sv);
    let cur = i;
    while (parents[cur] !== i) {
      be.copy(row(parents[cur]), row(cur));
      done[cur] = 1;
      cur = parents[cur];
    }
    be.copy(sv, row(cur));
    done[cur] = 1;
  }
}
