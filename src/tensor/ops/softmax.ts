/** softmax and log-softmax over one axis, max-subtracted so large scores do not overflow. */
import type { FloatArray } from "../../backend/backend.js";
import { record } from "../autograd.js";
import { getBackend } from "../engine.js";
import { normAxis } from "../shape.js";
import { Tensor } from "../tensor.js";
import { assertFloat, contiguousData } from "./util.js";
import { transpose } from "./view.js";

function softmaxImpl(x: Tensor, axis: number, log: boolean): Tensor {
  const name = log ? "logSoftmax" : "softmax";
  assertFloat(name, x);
  const ax = normAxis(axis, x.rank, name);
  // The kernel works on the last axis; other axes go through a transposed view.
  if (ax !== x.rank - 1) return transpose(softmaxImpl(transpose(x, ax, -1), -1, log), ax, -1);
  const cols = x.shape[ax];
  const rows = cols === 0 ? 0 : x.size / cols;
  const xc = contiguousData(x);
  const out = Tensor.uninit(x.shape, x.dtype);
  getBackend().softmax({
    x: xc.tensor.data.subarray(xc.offset) as FloatArray,
    out: out.data as FloatArray,
    rows,
    cols,
    log,
  });
  return record(out, name, [x], (g) => {
    const gc = contiguousData(g);
    const dx = Tensor.uninit(x.shape, x.dtype);
    getBackend().softmaxGrad({
      y: out.data as FloatArray,
      dy: gc.tensor.data.subarray(gc.offset) as FloatArray,
      dx: dx.data as FloatArray,
      rows,
      cols,
      log,
    });
    return [dx];
  });
}

/**
 * softmax(x)_i = exp(x_i - max x) / Σ_j exp(x_j - max x). A row that is all
 * -Infinity (every key masked) gives all zeros rather than NaN.
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  return softmaxImpl(x, axis, false);
}

/** log softmax(x)_i = x_i - logsumexp(x). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return softmaxImpl(x, axis, true);
}
