import { AttnError } from "../../errors.js";
import { getBackend } from "../engine.js";
import { fmt } from "../shape.js";
import { Tensor } from "../tensor.js";

export type TensorOrScalar = Tensor | number;

/** A 0-d tensor holding v, with the dtype of `like`. */
export function scalarLike(v: number, like: Tensor): Tensor {
  const t = Tensor.uninit([], like.dtype);
  getBackend().write(t.data, 0, [v]);
  return t;
}

export function toTensor(x: TensorOrScalar, like: Tensor): Tensor {
  return typeof x === "number" ? scalarLike(x, like) : x;
}

export function describe(t: Tensor): string {
  return `${t.dtype} ${fmt(t.shape)}`;
}

export function assertFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (!t.isFloat) throw new AttnError(`${op}: expected a float tensor, got ${describe(t)}`);
  }
}

export function assertSameDtype(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new AttnError(`${op}: dtype mismatch: ${describe(a)} and ${describe(b)}`);
  }
}

export function assertInt(op: string, t: Tensor, what: string): void {
  if (t.dtype !== "int32") throw new AttnError(`${op}: ${what} must be int32, got ${describe(t)}`);
}

/** A contiguous copy of t (t itself when already contiguous), for kernels that need flat data. */
export function contiguousData(t: Tensor): { tensor: Tensor; offset: number } {
  if (t.isContiguous()) return { tensor: t, offset: t.offset };
  const c = Tensor.uninit(t.shape, t.dtype);
  getBackend().copy(t.view(), c.view());
  return { tensor: c, offset: 0 };
}
