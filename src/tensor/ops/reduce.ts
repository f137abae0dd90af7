/** Reductions over axes: sum, mean, max (with keepdim), and sumTo for broadcasting's backward. */
import { record } from "../autograd.js";
import { getBackend } from "../engine.js";
import { normAxis, type Shape, sameShape } from "../shape.js";
import { Tensor } from "../tensor.js";
import { assertFloat } from "./util.js";
import { expand, reshape } from "./view.js";
import { binaryOp } from "./elementwise.js";

export interface ReduceOptions {
  keepdim?: boolean;
}

function resolveAxes(
  t: Tensor,
  axes: number | readonly number[] | undefined,
  op: string,
): number[] {
  if (axes === undefined) return t.shape.map((_, i) => i);
  const list = typeof axes === "number" ? [axes] : axes;
  return [...new Set(list.map((a) => normAxis(a, t.rank, op)))].sort((a, b) => a - b);
}

function reducedShape(shape: Shape, axes: number[], keepdim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdim) out.push(1);
  });
  return out;
}

/** Runs a reduction kernel: output kept-dims shape, accumulated through a stride-0 view. */
function reduceKernel(op: "sum" | "max", t: Tensor, axes: number[]): Tensor {
  const keptShape = reducedShape(t.shape, axes, true);
  const out = Tensor.empty(keptShape, t.dtype);
  if (op === "max") out.data.fill(Number.NEGATIVE_INFINITY);
  const outStrides = out.strides.map((s, i) => (axes.includes(i) ? 0 : s));
  getBackend().reduce(op, t.view(), {
    data: out.data,
    offset: 0,
    shape: t.shape,
    strides: outStrides,
  });
  return out;
}

/** Σ over `axes` (all when omitted). */
export function sum(
  t: Tensor,
  axes?: number | readonly number[],
  opts: ReduceOptions = {},
): Tensor {
  const ax = resolveAxes(t, axes, "sum");
  const kept = reduceKernel("sum", t, ax);
  const out = opts.keepdim ? kept : reshape(kept, reducedShape(t.shape, ax, false));
  return record(out, "sum", [t], (g) => [expand(reshape(g, kept.shape), t.shape)]);
}

/** Mean over `axes` (all when omitted). */
export function mean(
  t: Tensor,
  axes?: number | readonly number[],
  opts: ReduceOptions = {},
): Tensor {
  assertFloat("mean", t);
  const ax = resolveAxes(t, axes, "mean");
  let count = 1;
  for (const a of ax) count *= t.shape[a];
  return binaryOp("div", sum(t, ax, opts), count, "mean");
}

/**
 * Max over `axes`. Its gradient is split evenly between tied maxima (as
 * PyTorch's amax does), so it is well defined.
 */
export function max(
  t: Tensor,
  axes?: number | readonly number[],
  opts: ReduceOptions = {},
): Tensor {
  const ax = resolveAxes(t, axes, "max");
  const kept = reduceKernel("max", t, ax);
  const out = opts.keepdim ? kept : reshape(kept, reducedShape(t.shape, ax, false));
  return record(out, "max", [t], (g) => {
    const isMax = binaryOp("eq", t, kept, "max");
    const ties = reduceKernel("sum", isMax, ax);
    const share = binaryOp("div", reshape(g, kept.shape), ties, "max");
    return [binaryOp("mul", isMax, share, "max")];
  });
}

/** Sums a broadcast gradient back down to `shape` (the reverse of broadcasting). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const kept = reduceKernel("sum", g, axes);
  return reshape(kept, shape);
}
