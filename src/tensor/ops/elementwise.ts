/** Elementwise arithmetic with NumPy broadcasting: add, sub, mul, div, pow, maximum, minimum, comparisons. */
import type { BinaryOp } from "../../backend/backend.js";
import { record } from "../autograd.js";
import { getBackend } from "../engine.js";
import { broadcastShapes, broadcastStrides } from "../shape.js";
import { Tensor } from "../tensor.js";
import { sumTo } from "./sum-to.js";
import { log } from "./unary.js";
import { assertFloat, assertSameDtype, type TensorOrScalar, toTensor } from "./util.js";
import { where } from "./where.js";

/** Runs one broadcasting binary kernel; `name` is the op the user called (for errors). */
export function binaryOp(
  op: BinaryOp,
  a: TensorOrScalar,
  b: TensorOrScalar,
  name: string = op,
): Tensor {
  if (typeof a === "number" && typeof b === "number") {
    throw new Error(`internal: ${name} needs at least one tensor`);
  }
  const ta = toTensor(a, b as Tensor);
  const tb = toTensor(b, ta);
  assertSameDtype(name, ta, tb);
  const shape = broadcastShapes(name, ta.shape, tb.shape);
  const out = Tensor.uninit(shape, ta.dtype);
  getBackend().binary(
    op,
    {
      data: ta.data,
      offset: ta.offset,
      shape,
      strides: broadcastStrides(ta.shape, ta.strides, shape),
    },
    {
      data: tb.data,
      offset: tb.offset,
      shape,
      strides: broadcastStrides(tb.shape, tb.strides, shape),
    },
    out.view(),
  );
  return record(out, op, [ta, tb], (g) => binaryGrad(op, ta, tb, out, g));
}

function binaryGrad(op: BinaryOp, a: Tensor, b: Tensor, out: Tensor, g: Tensor): (Tensor | null)[] {
  const ga = (f: () => Tensor) => (a.requiresGrad ? sumTo(f(), a.shape) : null);
  const gb = (f: () => Tensor) => (b.requiresGrad ? sumTo(f(), b.shape) : null);
  switch (op) {
    case "add":
      return [ga(() => g), gb(() => g)];
    case "sub":
      return [ga(() => g), gb(() => neg_(g))];
    case "mul":
      return [ga(() => mul(g, b)), gb(() => mul(g, a))];
    case "div":
      // d(a/b)/da = 1/b ; d(a/b)/db = -a/b² = -out/b
      return [ga(() => div(g, b)), gb(() => neg_(div(mul(g, out), b)))];
    case "pow":
      // d(aᵇ)/da = b·aᵇ⁻¹ ; d(aᵇ)/db = aᵇ·ln a
      return [ga(() => mul(g, mul(b, pow(a, sub(b, 1))))), gb(() => mul(g, mul(out, log(a))))];
    case "max":
    case "min": {
      // The gradient goes to the chosen operand (to a on ties).
      const pickA = binaryOp(op === "max" ? "ge" : "le", a, b);
      return [ga(() => where(pickA, g, 0)), gb(() => where(pickA, 0, g))];
    }
    default:
      return [null, null]; // comparisons are piecewise constant
  }
}

function neg_(g: Tensor): Tensor {
  return binaryOp("mul", g, -1, "neg");
}

export function add(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("add", a, b);
}
export function sub(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("sub", a, b);
}
export function mul(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("mul", a, b);
}
export function div(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("div", a, b);
}
/** a to the power b (elementwise; b may be a tensor). */
export function pow(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  if (typeof a !== "number") assertFloat("pow", a);
  return binaryOp("pow", a, b);
}
export function maximum(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("max", a, b, "maximum");
}
export function minimum(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("min", a, b, "minimum");
}
/** 1 where a == b, else 0 (in the operands' dtype). */
export function equal(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("eq", a, b, "equal");
}
export function notEqual(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("ne", a, b, "notEqual");
}
export function less(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("lt", a, b, "less");
}
export function greater(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("gt", a, b, "greater");
}
