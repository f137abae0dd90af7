/**
 * Batched matrix product with broadcast batch dimensions, like numpy.matmul:
 * [..., M, K] @ [..., K, N] -> [..., M, N]. Operands may be transposed views:
 * the kernel reads them through their strides, so transpose(k) costs no copy.
 */
import { AttnError } from "../../errors.js";
import { record } from "../autograd.js";
import { getBackend } from "../engine.js";
import { broadcastShapes, broadcastStrides, fmt, sizeOf } from "../shape.js";
import { Tensor } from "../tensor.js";
import type { FloatArray } from "../../backend/backend.js";
import { sumTo } from "./sum-to.js";
import { assertFloat, assertSameDtype, contiguousData } from "./util.js";
import { reshape, squeeze, transpose, unsqueeze } from "./view.js";

/** Start offset of every batch entry of t, read as if it had batch shape `batch`. */
function batchOffsets(t: Tensor, batch: number[]): Int32Array {
  const tb = t.shape.slice(0, -2);
  const strides = broadcastStrides(tb, t.strides.slice(0, -2), batch);
  const n = sizeOf(batch);
  const offs = new Int32Array(n);
  const idx = new Array<number>(batch.length).fill(0);
  let cur = t.offset;
  for (let i = 0; i < n; i++) {
    offs[i] = cur;
    for (let d = batch.length - 1; d >= 0; d--) {
      idx[d]++;
      cur += strides[d];
      if (idx[d] < batch[d]) break;
      idx[d] = 0;
      cur -= strides[d] * batch[d];
    }
  }
  return offs;
}

/** A matrix operand the kernel can read: one of its last two strides must be 1, else copy. */
function operand(t: Tensor): Tensor {
  const r = t.rank;
  if (
    t.strides[r - 1] === 1 ||
    t.strides[r - 2] === 1 ||
    t.shape[r - 1] === 1 ||
    t.shape[r - 2] === 1
  )
    return t;
  return contiguousData(t).tensor;
}

/** a @ b, times `alpha` (a scale folded into the product, e.g. attention's 1/√d_k). */
export function matmul(a: Tensor, b: Tensor, alpha = 1): Tensor {
  assertFloat("matmul", a, b);
  assertSameDtype("matmul", a, b);
  if (a.rank === 0 || b.rank === 0) {
    throw new AttnError(
      `matmul: operands must have at least 1 dimension, got ${fmt(a.shape)} and ${fmt(b.shape)}`,
    );
  }
  // Vectors: [K] acts as [1, K] on the left and [K, 1] on the right, then the axis is dropped.
  if (a.rank === 1) return squeeze(matmul(unsqueeze(a, 0), b, alpha), -2);
  if (b.rank === 1) return squeeze(matmul(a, unsqueeze(b, 1), alpha), -1);
  const M = a.shape[a.rank - 2];
  const K = a.shape[a.rank - 1];
  const N = b.shape[b.rank - 1];
  if (b.rank === 2 && a.rank > 2 && b.shape[0] === K) {
    // [..., M, K] @ [K, N]: one [(...)·M, K] @ [K, N] product instead of a batch of
    // small ones; its backward then gives dB as one product, with no batch sum.
    const lead = a.shape.slice(0, -1);
    return reshape(matmul(reshape(a, [-1, K]), b, alpha), [...lead, N]);
  }
  if (b.shape[b.rank - 2] !== K) {
    throw new AttnError(
      `matmul: inner dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)} (${K} vs ${b.shape[b.rank - 2]})`,
    );
  }
  let batch: number[];
  try {
    batch = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw new AttnError(
      `matmul: batch dimensions of ${fmt(a.shape)} and ${fmt(b.shape)} do not broadcast`,
    );
  }
  const A = operand(a);
  const B = operand(b);
  // K = 0 gives zeros, which the kernel does not write.
  const out =
    K === 0 ? Tensor.empty([...batch, M, N], a.dtype) : Tensor.uninit([...batch, M, N], a.dtype);
  const cOffsets = new Int32Array(sizeOf(batch));
  for (let i = 0; i < cOffsets.length; i++) cOffsets[i] = i * M * N;
  getBackend().matmul({
    M,
    N,
    K,
    a: {
      data: A.data as FloatArray,
      offsets: batchOffsets(A, batch),
      rowStride: A.strides[A.rank - 2],
      colStride: A.strides[A.rank - 1],
    },
    b: {
      data: B.data as FloatArray,
      offsets: batchOffsets(B, batch),
      rowStride: B.strides[B.rank - 2],
      colStride: B.strides[B.rank - 1],
    },
    c: { data: out.data as FloatArray, offsets: cOffsets, ldc: N },
    alpha,
    accumulate: false,
  });
  return record(out, "matmul", [a, b], (g) => [
    // dA = α dC Bᵀ, dB = α Aᵀ dC, then summed over broadcast batch axes.
    a.requiresGrad ? sumTo(matmul(g, transpose(b), alpha), a.shape) : null,
    b.requiresGrad ? sumTo(matmul(transpose(a), g, alpha), b.shape) : null,
  ]);
}
