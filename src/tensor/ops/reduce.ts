/** Reductions over axes: sum, mean, max (with keepdim). */
import { record } from "../autograd.js";
import { normAxis } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { reduceKernel, reducedShape } from "./sum-to.js";
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

export { sumTo } from "./sum-to.js";
