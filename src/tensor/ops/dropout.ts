/** Dropout (Srivastava et al. 2014), "inverted": kept units are scaled by 1/(1-p) at train time. */
import type { FloatArray } from "../../backend/backend.js";
import { AttnError } from "../../errors.js";
import { record } from "../autograd.js";
import { getBackend, getRng } from "../engine.js";
import type { Mulberry32 } from "../random.js";
import { Tensor } from "../tensor.js";
import { assertFloat, contiguousData } from "./util.js";

/**
 * Zeroes each element with probability p and scales the rest by 1/(1-p), so
 * the expected value is unchanged; identity when not training or p = 0.
 * The mask comes from `rng` (default: the engine's seeded RNG): one uniform
 * draw per element in row-major order, so runs are reproducible. The kernel
 * draws the mask itself, and backward draws it again from the same state, so
 * no mask is stored.
 */
export function dropout(
  x: Tensor,
  p: number,
  training: boolean,
  rng: Mulberry32 = getRng(),
): Tensor {
  assertFloat("dropout", x);
  if (!(p >= 0 && p < 1)) throw new AttnError(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const state = rng.skip(x.size);
  const scale = Math.fround(1 / (1 - p));
  const apply = (src: Tensor): Tensor => {
    const c = contiguousData(src);
    const out = Tensor.uninit(x.shape, x.dtype);
    getBackend().dropout({
      x: c.tensor.data as FloatArray,
      xOffset: c.offset,
      out: out.data as FloatArray,
      size: x.size,
      state,
      p,
      scale,
    });
    return out;
  };
  return record(apply(x), "dropout", [x], (g) => [apply(g)]);
}
