/** Cross-entropy over logits, fused with log-softmax (log-sum-exp), with ignore-index and label smoothing. */
import type { FloatArray } from "../../backend/backend.js";
import { AttnError } from "../../errors.js";
import { record } from "../autograd.js";
import { getBackend, isGradEnabled } from "../engine.js";
import { fmt, sameShape } from "../shape.js";
import { Tensor } from "../tensor.js";
import { assertFloat, assertInt, contiguousData } from "./util.js";

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (e.g. PAD = 0). Default: none. */
  ignoreIndex?: number;
  /** ε of label smoothing (Szegedy et al. 2016; the paper uses 0.1): target = (1-ε)·onehot + ε/V. */
  labelSmoothing?: number;
  /** "mean" over non-ignored targets (default), "sum", or "none" (per position). */
  reduction?: "mean" | "sum" | "none";
}

/**
 * logits [..., V] against int32 targets [...]. With "mean", the loss is
 * averaged over the targets that are not ignored; if all are ignored it is 0.
 */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor,
  opts: CrossEntropyOptions = {},
): Tensor {
  assertFloat("crossEntropy", logits);
  assertInt("crossEntropy", targets, "targets");
  const V = logits.shape[logits.rank - 1];
  if (!sameShape(logits.shape.slice(0, -1), targets.shape)) {
    throw new AttnError(
      `crossEntropy: logits ${fmt(logits.shape)} do not match targets ${fmt(targets.shape)}`,
    );
  }
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1))
    throw new AttnError(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  const ignore = opts.ignoreIndex ?? -1;
  const reduction = opts.reduction ?? "mean";
  const rows = targets.size;
  const tc = contiguousData(targets);
  const tData = tc.tensor.data as Int32Array;
  let counted = 0;
  for (let r = 0; r < rows; r++) {
    const y = tData[tc.offset + r];
    if (y === ignore) continue;
    if (y < 0 || y >= V) {
      throw new AttnError(
        `crossEntropy: target ${y} is outside the ${V} classes of logits ${fmt(logits.shape)}`,
      );
    }
    counted++;
  }
  const lc = contiguousData(logits);
  const rowLoss = Tensor.empty(targets.shape, logits.dtype);
  const wantGrad = isGradEnabled() && logits.requiresGrad;
  // Forward and backward share one pass: the kernel writes softmax - target now.
  const dlogits = wantGrad ? Tensor.empty(logits.shape, logits.dtype) : null;
  getBackend().crossEntropy({
    logits: lc.tensor.data as FloatArray,
    logitsOffset: lc.offset,
    targets: tData,
    targetsOffset: tc.offset,
    rows,
    cols: V,
    ignoreIndex: ignore,
    smoothing: eps,
    rowLoss: rowLoss.data as FloatArray,
    dlogits: dlogits ? (dlogits.data as FloatArray) : null,
  });
  let out: Tensor;
  if (reduction === "none") out = rowLoss;
  else {
    let s = 0;
    const rl = rowLoss.data;
    for (let r = 0; r < rows; r++) s += rl[r];
    out = Tensor.empty([], logits.dtype);
    out.data[0] = reduction === "mean" ? (counted > 0 ? s / counted : 0) : s;
  }
  return record(out, "crossEntropy", [logits], (g) => {
    const d = dlogits!;
    const dx = Tensor.empty(logits.shape, logits.dtype);
    const dd = d.data;
    const xd = dx.data;
    if (reduction === "none") {
      const gc = contiguousData(g);
      const gd = gc.tensor.data;
      for (let r = 0; r < rows; r++) {
        const s = gd[gc.offset + r];
        for (let j = 0; j < V; j++) xd[r * V + j] = dd[r * V + j] * s;
      }
    } else {
      const s = g.item() / (reduction === "mean" ? Math.max(counted, 1) : 1);
      for (let i = 0; i < dd.length; i++) xd[i] = dd[i] * s;
    }
    return [dx];
  });
}
