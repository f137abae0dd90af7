/** Cross-entropy over logits, fused with log-softmax (log-sum-exp), with ignore-index and label smoothing. */
import type { FloatArray } from "../../backend/backend.js";
import { AttnError } from "../../errors.js";
import { record } from "../autograd.js";
import { getBackend, isGradEnabled } from "../engine.js";
import { contiguousStrides, fmt, sameShape } from "../shape.js";
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
  const rowLoss = Tensor.uninit(targets.shape, logits.dtype);
  const wantGrad = isGradEnabled() && logits.requiresGrad;
  // Forward and backward share one pass: the kernel writes softmax - target now.
  const run = (rowLossOut: Tensor, dlogits: Tensor | null) =>
    getBackend().crossEntropy({
      logits: lc.tensor.data as FloatArray,
      logitsOffset: lc.offset,
      targets: tData,
      targetsOffset: tc.offset,
      rows,
      cols: V,
      ignoreIndex: ignore,
      smoothing: eps,
      rowLoss: rowLossOut.data as FloatArray,
      dlogits: dlogits ? (dlogits.data as FloatArray) : null,
    });
  let dlogits = wantGrad ? Tensor.uninit(logits.shape, logits.dtype) : null;
  run(rowLoss, dlogits);
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
    // The gradient is scaled in place and handed on, so the [rows, V] buffer
    // exists once; a second backward (retainGraph) recomputes it.
    let d = dlogits;
    dlogits = null;
    if (!d || d.disposed) {
      d = Tensor.uninit(logits.shape, logits.dtype);
      const scratch = Tensor.uninit(targets.shape, logits.dtype);
      run(scratch, d);
      scratch.dispose();
    }
    const dd = d.view();
    const zeros = dd.shape.map(() => 0);
    if (reduction === "none") {
      // dlogits[r, :] *= g[r]: g broadcast along the class axis.
      const gc = contiguousData(g);
      const strides = [...contiguousStrides(targets.shape), 0];
      const gv = { data: gc.tensor.data, offset: gc.offset, shape: dd.shape, strides };
      getBackend().binary("mul", dd, gv, dd);
    } else {
      const s = g.item() / (reduction === "mean" ? Math.max(counted, 1) : 1);
      if (s !== 1) {
        const scale = Tensor.empty([], logits.dtype);
        scale.data[0] = s;
        getBackend().binary("mul", dd, { ...scale.view(), shape: dd.shape, strides: zeros }, dd);
        scale.dispose();
      }
    }
    return [d];
  });
}
