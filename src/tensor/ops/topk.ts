/**
 * The k largest entries along the last axis, and their indices: how decoding
 * chooses tokens (k = 1: greedy; 2·beam: the expansions of beam search) on the
 * backend, so that only the few chosen ids and scores are read back, not the
 * [rows, vocab] logits. Not differentiable (selection has no useful gradient).
 */
import type { FloatArray } from "../../backend/backend.js";
import { AttnError } from "../../errors.js";
import { getBackend } from "../engine.js";
import { fmt } from "../shape.js";
import { Tensor } from "../tensor.js";
import { assertFloat, contiguousData } from "./util.js";

/**
 * x [..., n] → values [..., k] (largest first; the lower index first on ties) and
 * indices [..., k] (int32). NaN and -Infinity are never chosen: a row with fewer
 * than k other values fills its last slots with index -1 and value -Infinity.
 */
export function topk(x: Tensor, k: number): { values: Tensor; indices: Tensor } {
  assertFloat("topk", x);
  if (x.rank === 0) throw new AttnError("topk: needs at least one axis, got a scalar");
  const cols = x.shape[x.rank - 1];
  if (!(Number.isInteger(k) && k >= 1 && k <= cols))
    throw new AttnError(`topk: k must be an integer in [1, ${cols}] for ${fmt(x.shape)}, got ${k}`);
  const rows = x.size / cols;
  const shape = [...x.shape.slice(0, -1), k];
  const values = Tensor.uninit(shape, x.dtype);
  const indices = Tensor.uninit(shape, "int32");
  const xc = contiguousData(x);
  getBackend().topk({
    x: xc.tensor.data.subarray(xc.offset) as FloatArray,
    rows,
    cols,
    k,
    values: values.data as FloatArray,
    indices: indices.data as Int32Array,
  });
  return { values, indices };
}
