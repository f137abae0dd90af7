/** Selection by a mask: where(cond, a, b) and maskedFill (how attention masks are applied). */
import { record } from "../autograd.js";
import { getBackend } from "../engine.js";
import { broadcastShapes, broadcastStrides } from "../shape.js";
import { Tensor } from "../tensor.js";
import { sumTo } from "./sum-to.js";
import { assertSameDtype, type TensorOrScalar, toTensor } from "./util.js";

function bview(t: Tensor, shape: number[]) {
  return {
    data: t.data,
    offset: t.offset,
    shape,
    strides: broadcastStrides(t.shape, t.strides, shape),
  };
}

/** a where cond is non-zero, else b; all three broadcast together. */
export function where(cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const like = typeof a !== "number" ? a : typeof b !== "number" ? b : null;
  const ta = like ? toTensor(a, like) : toTensor(a, Tensor.empty([], "float32"));
  const tb = toTensor(b, ta);
  assertSameDtype("where", ta, tb);
  const shape = broadcastShapes("where", cond.shape, ta.shape, tb.shape);
  const out = Tensor.uninit(shape, ta.dtype);
  getBackend().where(bview(cond, shape), bview(ta, shape), bview(tb, shape), out.view());
  return record(out, "where", [ta, tb], (g) => [
    ta.requiresGrad ? sumTo(where(cond, g, 0), ta.shape) : null,
    tb.requiresGrad ? sumTo(where(cond, 0, g), tb.shape) : null,
  ]);
}

/** x with `value` wherever mask is non-zero (e.g. -Infinity at masked attention scores). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, value, x);
}
