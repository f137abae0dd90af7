/**
 * Views: new shapes and strides over the same storage, no copy.
 * Their backward maps the gradient back through the same view in reverse.
 */
import { AttnError } from "../../errors.js";
import { record } from "../autograd.js";
import { getBackend } from "../engine.js";
import {
  broadcastShapes,
  broadcastStrides,
  fmt,
  normAxis,
  type Shape,
  sameShape,
  sizeOf,
} from "../shape.js";
import { Tensor } from "../tensor.js";
import { sumTo } from "./sum-to.js";

function viewOf(t: Tensor, shape: Shape, strides: readonly number[], offset: number): Tensor {
  return new Tensor(t.storage, t.dtype, shape, strides, offset);
}

/** A contiguous tensor with t's values: t itself if already contiguous. */
export function contiguous(t: Tensor): Tensor {
  if (t.isContiguous()) return t;
  const out = Tensor.uninit(t.shape, t.dtype);
  getBackend().copy(t.view(), out.view());
  return record(out, "contiguous", [t], (g) => [g]);
}

/** Same values in a new shape; one dimension may be -1 (inferred). Copies only if t is not contiguous. */
export function reshape(t: Tensor, shape: Shape): Tensor {
  const resolved = shape.slice();
  const infer = resolved.indexOf(-1);
  if (infer >= 0) {
    const known = sizeOf(resolved.filter((_, i) => i !== infer));
    if (known === 0 || t.size % known !== 0) {
      throw new AttnError(`reshape: cannot reshape ${fmt(t.shape)} into ${fmt(shape)}`);
    }
    resolved[infer] = t.size / known;
  }
  if (sizeOf(resolved) !== t.size || resolved.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new AttnError(
      `reshape: cannot reshape ${fmt(t.shape)} (${t.size} elements) into ${fmt(shape)}`,
    );
  }
  if (sameShape(resolved, t.shape)) return t;
  const src = contiguous(t);
  const out = viewOf(src, resolved, contiguousStridesOf(resolved), src.offset);
  return record(out, "reshape", [src], (g) => [reshape(g, src.shape)]);
}

function contiguousStridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** Reorders axes: output axis i is input axis perm[i]. */
export function permute(t: Tensor, perm: readonly number[]): Tensor {
  if (
    perm.length !== t.rank ||
    new Set(perm.map((p) => normAxis(p, t.rank, "permute"))).size !== t.rank
  ) {
    throw new AttnError(
      `permute: [${perm.join(", ")}] is not a permutation of the axes of ${fmt(t.shape)}`,
    );
  }
  const p = perm.map((a) => normAxis(a, t.rank, "permute"));
  const out = viewOf(
    t,
    p.map((a) => t.shape[a]),
    p.map((a) => t.strides[a]),
    t.offset,
  );
  const inverse = new Array<number>(p.length);
  p.forEach((a, i) => {
    inverse[a] = i;
  });
  return record(out, "permute", [t], (g) => [permute(g, inverse)]);
}

/** Swaps two axes (default: the last two, i.e. a matrix transpose). */
export function transpose(t: Tensor, a = -2, b = -1): Tensor {
  const perm = t.shape.map((_, i) => i);
  const x = normAxis(a, t.rank, "transpose");
  const y = normAxis(b, t.rank, "transpose");
  perm[x] = y;
  perm[y] = x;
  return permute(t, perm);
}

/** Elements start..end-1 along `axis` (negative indices count from the end). */
export function slice(t: Tensor, axis: number, start: number, end?: number): Tensor {
  const ax = normAxis(axis, t.rank, "slice");
  const n = t.shape[ax];
  const s = start < 0 ? start + n : start;
  const e = end === undefined ? n : end < 0 ? end + n : end;
  if (s < 0 || e > n || s > e) {
    throw new AttnError(
      `slice: range ${start}..${end ?? n} is out of bounds for axis ${axis} of ${fmt(t.shape)}`,
    );
  }
  const shape = t.shape.slice();
  shape[ax] = e - s;
  const out = viewOf(t, shape, t.strides, t.offset + s * t.strides[ax]);
  return record(out, "slice", [t], (g) => {
    const full = Tensor.empty(t.shape, g.dtype);
    const target = viewOf(full, shape, full.strides, s * full.strides[ax]);
    getBackend().copy(g.view(), target.view());
    target.dispose();
    return [full];
  });
}

/** Index i along `axis`, removing that axis. */
export function select(t: Tensor, axis: number, i: number): Tensor {
  const ax = normAxis(axis, t.rank, "select");
  const idx = i < 0 ? i + t.shape[ax] : i;
  if (idx < 0 || idx >= t.shape[ax]) {
    throw new AttnError(`select: index ${i} is out of bounds for axis ${axis} of ${fmt(t.shape)}`);
  }
  return squeeze(slice(t, ax, idx, idx + 1), ax);
}

/** Inserts a size-1 axis at `axis`. */
export function unsqueeze(t: Tensor, axis: number): Tensor {
  const ax = normAxis(axis, t.rank + 1, "unsqueeze");
  const shape = t.shape.slice();
  const strides = t.strides.slice();
  shape.splice(ax, 0, 1);
  strides.splice(ax, 0, ax < t.rank ? t.strides[ax] * t.shape[ax] : 1);
  const out = viewOf(t, shape, strides, t.offset);
  return record(out, "unsqueeze", [t], (g) => [squeeze(g, ax)]);
}

/** Removes a size-1 axis. */
export function squeeze(t: Tensor, axis: number): Tensor {
  const ax = normAxis(axis, t.rank, "squeeze");
  if (t.shape[ax] !== 1)
    throw new AttnError(`squeeze: axis ${axis} of ${fmt(t.shape)} is not of size 1`);
  const shape = t.shape.filter((_, i) => i !== ax);
  const strides = t.strides.filter((_, i) => i !== ax);
  const out = viewOf(t, shape, strides, t.offset);
  return record(out, "squeeze", [t], (g) => [unsqueeze(g, ax)]);
}

/** Broadcasts t to `shape` (NumPy rules) with stride-0 axes: no copy. */
export function expand(t: Tensor, shape: Shape): Tensor {
  const target = broadcastShapes("expand", t.shape, shape);
  if (!sameShape(target, shape)) {
    throw new AttnError(`expand: cannot expand ${fmt(t.shape)} to ${fmt(shape)}`);
  }
  if (sameShape(t.shape, shape)) return t;
  const out = viewOf(t, shape, broadcastStrides(t.shape, t.strides, shape), t.offset);
  return record(out, "expand", [t], (g) => [sumTo(g, t.shape)]);
}

/** A tensor sharing t's storage but cut from the graph. */
export function detach(t: Tensor): Tensor {
  return viewOf(t, t.shape, t.strides, t.offset);
}

/** Flattens axes start..end into one. */
export function flatten(t: Tensor, start = 0, end = -1): Tensor {
  if (t.rank === 0) return reshape(t, [1]);
  const s = normAxis(start, t.rank, "flatten");
  const e = normAxis(end, t.rank, "flatten");
  const shape = [...t.shape.slice(0, s), sizeOf(t.shape.slice(s, e + 1)), ...t.shape.slice(e + 1)];
  return reshape(t, shape);
}
