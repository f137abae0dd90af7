/** Layer normalization (Ba et al. 2016): one fused kernel forward, one backward. */
import type { FloatArray } from "../../backend/backend.js";
import { AttnError } from "../../errors.js";
import { record } from "../autograd.js";
import { getBackend } from "../engine.js";
import { fmt } from "../shape.js";
import { Tensor } from "../tensor.js";
import { assertFloat, contiguousData } from "./util.js";

/**
 * y = (x - E[x]) / √(Var[x] + eps) · γ + β over the last axis, with the
 * biased variance (as PyTorch's nn.LayerNorm).
 */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  assertFloat("layerNorm", x, gamma, beta);
  const D = x.shape[x.rank - 1];
  if (gamma.rank !== 1 || beta.rank !== 1 || gamma.shape[0] !== D || beta.shape[0] !== D) {
    throw new AttnError(
      `layerNorm: input ${fmt(x.shape)} needs weight and bias of shape [${D}], got ${fmt(gamma.shape)} and ${fmt(beta.shape)}`,
    );
  }
  const rows = D === 0 ? 0 : x.size / D;
  const xc = contiguousData(x);
  const gc = contiguousData(gamma);
  const bc = contiguousData(beta);
  const out = Tensor.uninit(x.shape, x.dtype);
  const stats = Tensor.uninit([2, rows], x.dtype); // mean and 1/σ per row, saved for backward
  const sd = stats.data as FloatArray;
  const xData = xc.tensor.data.subarray(xc.offset) as FloatArray;
  const gData = gc.tensor.data.subarray(gc.offset) as FloatArray;
  getBackend().layerNorm({
    x: xData,
    gamma: gData,
    beta: bc.tensor.data.subarray(bc.offset) as FloatArray,
    out: out.data as FloatArray,
    mean: sd.subarray(0, rows),
    rstd: sd.subarray(rows),
    rows,
    cols: D,
    eps,
  });
  return record(out, "layerNorm", [x, gamma, beta], (g) => {
    const dyc = contiguousData(g);
    const dx = Tensor.uninit(x.shape, x.dtype);
    const dgamma = Tensor.empty([D], x.dtype);
    const dbeta = Tensor.empty([D], x.dtype);
    getBackend().layerNormGrad({
      dy: dyc.tensor.data.subarray(dyc.offset) as FloatArray,
      x: xData,
      gamma: gData,
      mean: sd.subarray(0, rows),
      rstd: sd.subarray(rows),
      dx: dx.data as FloatArray,
      dgamma: dgamma.data as FloatArray,
      dbeta: dbeta.data as FloatArray,
      rows,
      cols: D,
    });
    return [dx, dgamma, dbeta];
  });
}
