/**
 * Scaled dot-product and multi-head attention (§3.2).
 *
 *   Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V
 *   MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O,  head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)
 */
import type { AttentionTap } from "./taps.js";
import { AttnError } from "../errors.js";
import {
  type Mulberry32,
  type Tensor,
  add,
  dropout,
  keep,
  matmul,
  maskedFill,
  permute,
  reshape,
  softmax,
  transpose,
} from "../tensor/index.js";
import type { KVCache } from "./kv-cache.js";
import { Linear } from "./layers.js";
import { Module } from "./module.js";
import { type PositionalKind, alibiBias, applyRope } from "./positional.js";

export interface MultiHeadAttentionOptions {
  dModel: number;
  heads: number;
  /** Biases on the Q/K/V projections (the paper's formulas have none; GPT-2 has them). */
  bias: boolean;
  /** Bias on the output projection W^O (default: as `bias`). */
  outputBias?: boolean;
  /** "rope" and "alibi" act inside self-attention; other kinds are added at the input. */
  positional: PositionalKind;
  /** Dropout on the attention weights (GPT-2 style); 0 in the paper's model. */
  attnDropout: number;
  /** Initial [out, in] matrices. */
  init: (out: number, inp: number, fused?: number) => Tensor;
  rng: Mulberry32;
}

export interface AttentionCallOptions {
  /** 1 where attention is not allowed; broadcasts against [B, H, Tq, Tk]. */
  mask?: Tensor | null;
  /** Position of the first query (for RoPE/ALiBi when earlier positions are cached). */
  positionOffset?: number;
  /** Self-attention: append this call's K/V to the cache and attend over all of it. */
  cache?: KVCache;
  /** Cross-attention: reuse K/V of the memory computed once per source. */
  memoryCache?: KVCache;
}

/** Runtime switches for experiments (the explorer's interventions). */
export interface AttentionInterventions {
  /** Drop the 1/√d_k factor. */
  noScale?: boolean;
}

export interface ScaledDotProductOptions {
  /** 1 where attention is not allowed; broadcasts against the scores [..., Tq, Tk]. */
  mask?: Tensor | null;
  /** Added to the scores before masking (ALiBi's distance penalty). */
  bias?: Tensor | null;
  /** Default 1/√d_k; 1 drops the scaling (an explorer intervention). */
  scale?: number;
  /** Dropout rate on the attention weights; pass 0 at inference (the paper uses none here). */
  dropout?: number;
  /** Records an intermediate by name (a module's `tap`). */
  tap?: (name: AttentionTap, t: Tensor) => Tensor;
}

/**
 * Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V (§3.2.1), on q [..., Tq, d_k],
 * k [..., Tk, d_k], v [..., Tk, d_v]. Records scores, masked_scores, weights, heads.
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  o: ScaledDotProductOptions = {},
): Tensor {
  const tap = o.tap ?? ((_: AttentionTap, t: Tensor) => t);
  // "We scale the dot products by 1/√d_k" so that softmax gradients do not vanish;
  // the scale is the matmul kernel's alpha, so it costs no extra pass.
  const scale = o.scale ?? 1 / Math.sqrt(q.shape[q.shape.length - 1]);
  let scores = matmul(q, transpose(k), scale); //                      Q Kᵀ / √d_k
  if (o.bias) scores = add(scores, o.bias); //                           + position bias (ALiBi)
  scores = tap("scores", scores);
  const masked = tap(
    "masked_scores", //                                                   −∞ where not allowed
    o.mask ? maskedFill(scores, o.mask, Number.NEGATIVE_INFINITY) : scores,
  );
  const weights = tap("weights", softmax(masked, -1)); //                softmax(·)
  const dropped = o.dropout ? dropout(weights, o.dropout, true) : weights;
  return tap("heads", matmul(dropped, v)); //                             · V
}

export class MultiHeadAttention extends Module {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly out_proj: Linear;
  readonly heads: number;
  readonly dK: number;
  interventions: AttentionInterventions = {};

  constructor(
    readonly opts: MultiHeadAttentionOptions,
    readonly isSelfAttention: boolean,
  ) {
    super();
    const { dModel, heads, bias, init, rng } = opts;
    if (dModel % heads !== 0) {
      throw new AttnError(`attention: d_model ${dModel} is not divisible by heads ${heads}`);
    }
    this.heads = heads;
    this.dK = dModel / heads;
    // `fused`: how many projections a fused-matrix implementation would stack with this one.
    const proj = (fused: number, withBias = bias) =>
      new Linear(dModel, dModel, { bias: withBias, rng, weight: init(dModel, dModel, fused) });
    this.q_proj = this.addModule("q_proj", proj(isSelfAttention ? 3 : 1));
    this.k_proj = this.addModule("k_proj", proj(isSelfAttention ? 3 : 2));
    this.v_proj = this.addModule("v_proj", proj(isSelfAttention ? 3 : 2));
    this.out_proj = this.addModule("out_proj", proj(1, opts.outputBias ?? bias));
  }

  /** [B, T, d_model] -> [B, H, T, d_k] (a view: no copy). */
  private splitHeads(x: Tensor): Tensor {
    const [B, T] = x.shape;
    return permute(reshape(x, [B, T, this.heads, this.dK]), [0, 2, 1, 3]);
  }

  /** Cross-attention: stores K and V of the memory [B, S, d] in `cache`, once per source. */
  primeMemory(memory: Tensor, cache: KVCache): void {
    cache.k?.dispose();
    cache.v?.dispose();
    cache.k = keep(this.splitHeads(this.k_proj.forward(memory)));
    cache.v = keep(this.splitHeads(this.v_proj.forward(memory)));
  }

  /**
   * query [B, Tq, d]; keyValue [B, Tk, d] (the query itself for self-attention;
   * may be null when `memoryCache` already holds the memory's K and V).
   */
  forward(query: Tensor, keyValue: Tensor | null, call: AttentionCallOptions = {}): Tensor {
    const [B, Tq, d] = query.shape;
    const offset = call.positionOffset ?? 0;
    const rope = this.isSelfAttention && this.opts.positional === "rope";
    let q = this.splitHeads(this.q_proj.forward(query));
    if (rope) q = applyRope(q, offset);
    let k: Tensor;
    let v: Tensor;
    if (call.memoryCache?.k && call.memoryCache.v) {
      k = call.memoryCache.k;
      v = call.memoryCache.v;
    } else {
      if (!keyValue) throw new AttnError("attention: no keys/values given and none cached");
      k = this.splitHeads(this.k_proj.forward(keyValue));
      v = this.splitHeads(this.v_proj.forward(keyValue));
      if (rope) k = applyRope(k, offset);
      if (call.memoryCache) {
        call.memoryCache.k = keep(k);
        call.memoryCache.v = keep(v);
      }
    }
    if (call.cache) {
      call.cache.append(k, v);
      k = call.cache.k!;
      v = call.cache.v!;
    }
    q = this.tap("q", q);
    k = this.tap("k", k);
    v = this.tap("v", v);
    const bias =
      this.isSelfAttention && this.opts.positional === "alibi"
        ? alibiBias(this.heads, Tq, k.shape[2], offset)
        : null;
    const heads = scaledDotProductAttention(q, k, v, {
      mask: call.mask,
      bias,
      scale: this.interventions.noScale ? 1 : undefined,
      dropout: this.training ? this.opts.attnDropout : 0,
      tap: (name, t) => this.tap(name, t),
    });
    const joined = this.tap("concat", reshape(permute(heads, [0, 2, 1, 3]), [B, Tq, d]));
    return this.tap("out", this.out_proj.forward(joined));
  }
}
