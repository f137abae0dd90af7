/**
 * Attention masks, as int32 tensors with 1 where attention is NOT allowed.
 * They broadcast against scores [B, H, Tq, Tk] and are applied as -inf before
 * the softmax (maskedFill), never as a finite -1e9.
 */
import { type Tensor, equal, fromArray, maximum, reshape } from "../tensor/index.js";

/**
 * Key-padding mask [B, 1, 1, Tk] from token ids [B, Tk]: 1 at PAD keys, so no
 * query attends to padding. (Queries at PAD positions still get computed; their
 * outputs are ignored by the loss.)
 */
export function keyPaddingMask(ids: Tensor, padId: number): Tensor {
  const [B, Tk] = ids.shape;
  return reshape(equal(ids, padId), [B, 1, 1, Tk]);
}

/**
 * Causal (look-ahead) mask [Tq, Tk]: query i may attend to keys j ≤ i + offset
 * ("masking out ... all values in the input of the softmax which correspond
 * to illegal connections", §3.2.3). `offset` is the number of earlier
 * positions already cached (KV-cache decoding).
 */
export function causalMask(Tq: number, Tk: number = Tq, offset = 0): Tensor {
  const d = new Int32Array(Tq * Tk);
  for (let i = 0; i < Tq; i++) for (let j = 0; j < Tk; j++) d[i * Tk + j] = j > i + offset ? 1 : 0;
  return fromArray(d, [Tq, Tk], "int32");
}

/** Union of masks (either one masks the position); null means "no mask". */
export function combineMasks(a: Tensor | null, b: Tensor | null): Tensor | null {
  if (!a) return b;
  if (!b) return a;
  return maximum(a, b);
}
