/** Elementwise functions of one tensor, each with its derivative. */
import type { UnaryOp } from "../../backend/backend.js";
import { record } from "../autograd.js";
import { getBackend } from "../engine.js";
import { Tensor } from "../tensor.js";
import { assertFloat, contiguousData } from "./util.js";

function unaryOp(op: UnaryOp, x: Tensor, name: string = op): Tensor {
  assertFloat(name, x);
  const out = Tensor.uninit(x.shape, x.dtype);
  getBackend().unary(op, x.view(), out.view());
  return record(out, name, [x], (g) => {
    const xc = contiguousData(x);
    const gc = contiguousData(g);
    const dx = Tensor.uninit(x.shape, x.dtype);
    getBackend().unaryGrad({
      op,
      x: xc.tensor.data.subarray(xc.offset),
      y: out.data,
      dy: gc.tensor.data.subarray(gc.offset),
      dx: dx.data,
      size: x.size,
    });
    return [dx];
  });
}

export const neg = (x: Tensor): Tensor => unaryOp("neg", x);
export const exp = (x: Tensor): Tensor => unaryOp("exp", x);
export const log = (x: Tensor): Tensor => unaryOp("log", x);
export const sqrt = (x: Tensor): Tensor => unaryOp("sqrt", x);
/** 1/√x */
export const rsqrt = (x: Tensor): Tensor => unaryOp("rsqrt", x);
export const tanh = (x: Tensor): Tensor => unaryOp("tanh", x);
export const relu = (x: Tensor): Tensor => unaryOp("relu", x);
export const abs = (x: Tensor): Tensor => unaryOp("abs", x);
export const sigmoid = (x: Tensor): Tensor => unaryOp("sigmoid", x);

/**
 * GELU(x) = x·Φ(x) (Hendrycks & Gimpel 2016). `approximate: "tanh"` is GPT-2's
 * 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))); "none" uses erf.
 */
export function gelu(x: Tensor, approximate: "tanh" | "none" = "none"): Tensor {
  return unaryOp(approximate === "tanh" ? "gelu_tanh" : "gelu_erf", x, "gelu");
}
