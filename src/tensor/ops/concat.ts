/** Joining and splitting along an axis: concat, stack, split. */
import { AttnError } from "../../errors.js";
import { record } from "../autograd.js";
import { getBackend } from "../engine.js";
import { fmt, normAxis } from "../shape.js";
import { Tensor } from "../tensor.js";
import { assertSameDtype } from "./util.js";
import { slice, unsqueeze } from "./view.js";

export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new AttnError("concat: needs at least one tensor");
  const first = tensors[0];
  const ax = normAxis(axis, first.rank, "concat");
  for (const t of tensors) {
    assertSameDtype("concat", first, t);
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new AttnError(
        `concat: shapes ${tensors.map((x) => fmt(x.shape)).join(", ")} differ outside axis ${axis}`,
      );
    }
  }
  const shape = first.shape.slice();
  shape[ax] = tensors.reduce((s, t) => s + t.shape[ax], 0);
  const out = Tensor.uninit(shape, first.dtype);
  let at = 0;
  for (const t of tensors) {
    const part = t.shape.slice();
    getBackend().copy(t.view(), {
      data: out.data,
      offset: at * out.strides[ax],
      shape: part,
      strides: out.strides,
    });
    at += t.shape[ax];
  }
  return record(out, "concat", [...tensors], (g) => {
    let start = 0;
    return tensors.map((t) => {
      const piece = slice(g, ax, start, start + t.shape[ax]);
      start += t.shape[ax];
      return piece;
    });
  });
}

/** Stacks equal-shaped tensors along a new axis. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new AttnError("stack: needs at least one tensor");
  const ax = normAxis(axis, tensors[0].rank + 1, "stack");
  for (const t of tensors) {
    if (t.shape.length !== tensors[0].rank || t.shape.some((d, i) => d !== tensors[0].shape[i])) {
      throw new AttnError(`stack: shapes ${tensors.map((x) => fmt(x.shape)).join(", ")} differ`);
    }
  }
  return concat(
    tensors.map((t) => unsqueeze(t, ax)),
    ax,
  );
}

/** Splits along `axis` into pieces of the given sizes, or into n equal pieces. Pieces are views. */
export function split(t: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  const ax = normAxis(axis, t.rank, "split");
  const n = t.shape[ax];
  let parts: number[];
  if (typeof sizes === "number") {
    if (sizes <= 0 || n % sizes !== 0) {
      throw new AttnError(
        `split: axis ${axis} of ${fmt(t.shape)} does not divide into ${sizes} equal parts`,
      );
    }
    parts = new Array<number>(sizes).fill(n / sizes);
  } else {
    parts = sizes.slice();
    if (parts.reduce((s, p) => s + p, 0) !== n || parts.some((p) => p < 0)) {
      throw new AttnError(
        `split: sizes [${parts.join(", ")}] do not add up to ${n} (axis ${axis} of ${fmt(t.shape)})`,
      );
    }
  }
  let start = 0;
  return parts.map((p) => {
    const piece = slice(t, ax, start, start + p);
    start += p;
    return piece;
  });
}
