/**
 * Scaled dot-product and multi-head attention (§3.2).
 *
 *   Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V
 *   MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O,  head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)
 */
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
  /** Biases on the Q/K/V/output projections (the paper's formulas have none; GPT-2 has them). */
  bias: boolean;
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
    const proj = (fused: number) =>
      new Linear(dModel, dModel, { bias, rng, weight: init(dModel, dModel, fused) });
    this.q_proj = this.addModule("q_proj", proj(isSelfAttention ? 3 : 1));
    this.k_proj = this.addModule("k_proj", proj(isSelfAttention ? 3 : 2));
    this.v_proj = this.addModule("v_proj", proj(isSelfAttention ? 3 : 2));
    this.out_proj = this.addModule("out_proj", proj(1));
  }

  /** [B, T, d_model] -> [B, H, T, d_k] (a view: no copy). */
  private splitHeads(x: Tensor): Tensor {
    const [B, T] = x.shape;
    return permute(reshape(x, [B, T, this.heads, this.dK]), [0, 2, 1, 3]);
  }

  /** query [B, Tq, d]; keyValue [B, Tk, d] (the query itself for self-attention). */
  forward(query: Tensor, keyValue: Tensor, call: AttentionCallOptions = {}): Tensor {
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
    const Tk = k.shape[2];
    // Q Kᵀ / √d_k: "we scale the dot products by 1/√d_k" to keep softmax gradients from vanishing.
    // The scale is folded into the product (the kernel's alpha): no extra pass.
    const scale = this.interventions.noScale ? 1 : 1 / Math.sqrt(this.dK);
    let scores = matmul(q, transpose(k), scale);
    if (this.isSelfAttention && this.opts.positional === "alibi") {
      scores = add(scores, alibiBias(this.heads, Tq, Tk, offset));
    }
    scores = this.tap("scores", scores);
    const masked = this.tap(
      "masked_scores",
      call.mask ? maskedFill(scores, call.mask, Number.NEGATIVE_INFINITY) : scores,
    );
    let weights = this.tap("weights", softmax(masked, -1));
    weights = dropout(weights, this.opts.attnDropout, this.training);
    const heads = this.tap("heads", matmul(weights, v));
    const joined = this.tap("concat", reshape(permute(heads, [0, 2, 1, 3]), [B, Tq, d]));
    return this.tap("out", this.out_proj.forward(joined));
  }
}
