/** Dropout (Srivastava et al. 2014), "inverted": kept units are scaled by 1/(1-p) at train time. */
import { AttnError } from "../../errors.js";
import { getRng } from "../engine.js";
import type { Mulberry32 } from "../random.js";
import { Tensor } from "../tensor.js";
import { binaryOp } from "./elementwise.js";
import { assertFloat } from "./util.js";

/**
 * Zeroes each element with probability p and scales the rest by 1/(1-p), so
 * the expected value is unchanged; identity when not training or p = 0.
 * The mask comes from `rng` (default: the engine's seeded RNG).
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
  const mask = Tensor.empty(x.shape, x.dtype);
  const m = mask.data;
  const scale = 1 / (1 - p);
  // One uniform draw per element, in row-major order, so runs are reproducible.
  for (let i = 0; i < m.length; i++) m[i] = rng.uniform() >= p ? scale : 0;
  return binaryOp("mul", x, mask, "dropout");
}
