/**
 * The reduction kernel call, and sumTo: the reverse of broadcasting, which
 * the backward of every broadcasting op (elementwise, where, expand, matmul)
 * needs. It calls the kernel directly and records nothing (backward runs
 * without grad), so those ops need not import the reductions, whose own
 * backward uses them: no import cycle among the op modules.
 */
import { getBackend } from "../engine.js";
import { type Shape, sameShape } from "../shape.js";
import { Tensor } from "../tensor.js";

export function reducedShape(shape: Shape, axes: number[], keepdim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdim) out.push(1);
  });
  return out;
}

/** Runs a reduction kernel: output kept-dims shape, accumulated through a stride-0 view. */
export function reduceKernel(op: "sum" | "max", t: Tensor, axes: number[]): Tensor {
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

/** Sums a broadcast gradient back down to `shape` (the reverse of broadcasting). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const kept = reduceKernel("sum", g, axes);
  // kept is contiguous and holds exactly shape's elements: a view of it.
  const out = new Tensor(kept.storage, kept.dtype, shape);
  kept.dispose();
  return out;
}
