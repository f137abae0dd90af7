/**
 * The two layer types of the paper (§3.1), each with the norm placed after
 * the residual add ("post", the paper: LayerNorm(x + Sublayer(x))) or before
 * the sub-layer ("pre": x + Sublayer(LayerNorm(x)), as GPT-2).
 */
import type { Mulberry32, Tensor } from "../tensor/index.js";
import { add } from "../tensor/index.js";
import { type AttentionCallOptions, MultiHeadAttention } from "../nn/attention.js";
import type { KVCache } from "../nn/kv-cache.js";
import { type Activation, FeedForward } from "../nn/ffn.js";
import { Dropout, LayerNorm } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import type { PositionalKind } from "../nn/positional.js";

export type NormPlacement = "post" | "pre";

export interface LayerOptions {
  dModel: number;
  heads: number;
  dFF: number;
  dropout: number;
  attnDropout: number;
  normPlacement: NormPlacement;
  activation: Activation;
  attnBias: boolean;
  lnEps: number;
  positional: PositionalKind;
  init: (out: number, inp: number, fused?: number) => Tensor;
  rng: Mulberry32;
}

/** The per-layer options a model config implies. */
export function layerOptions(
  cfg: Pick<
    LayerOptions,
    | "dModel"
    | "heads"
    | "dFF"
    | "dropout"
    | "attnDropout"
    | "normPlacement"
    | "activation"
    | "attnBias"
    | "lnEps"
    | "positional"
  >,
  init: (out: number, inp: number, fused?: number) => Tensor,
  rng: Mulberry32,
): LayerOptions {
  return {
    dModel: cfg.dModel,
    heads: cfg.heads,
    dFF: cfg.dFF,
    dropout: cfg.dropout,
    attnDropout: cfg.attnDropout,
    normPlacement: cfg.normPlacement,
    activation: cfg.activation,
    attnBias: cfg.attnBias,
    lnEps: cfg.lnEps,
    positional: cfg.positional,
    init,
    rng,
  };
}

function attention(o: LayerOptions, self: boolean): MultiHeadAttention {
  return new MultiHeadAttention(
    {
      dModel: o.dModel,
      heads: o.heads,
      bias: o.attnBias,
      positional: o.positional,
      attnDropout: o.attnDropout,
      init: o.init,
      rng: o.rng,
    },
    self,
  );
}

/** Self-attention then feed-forward. Also GPT's block, with a causal mask. */
export class EncoderLayer extends Module {
  readonly self_attn: MultiHeadAttention;
  readonly norm1: LayerNorm;
  readonly ffn: FeedForward;
  readonly norm2: LayerNorm;
  private readonly drop: Dropout;

  constructor(readonly o: LayerOptions) {
    super();
    this.self_attn = this.addModule("self_attn", attention(o, true));
    this.norm1 = this.addModule("norm1", new LayerNorm(o.dModel, o.lnEps));
    this.ffn = this.addModule("ffn", new FeedForward(o.dModel, o.dFF, o.activation, o.init, o.rng));
    this.norm2 = this.addModule("norm2", new LayerNorm(o.dModel, o.lnEps));
    this.drop = this.addModule("dropout", new Dropout(o.dropout));
  }

  forward(x: Tensor, mask: Tensor | null, call: AttentionCallOptions = {}): Tensor {
    const attn = (h: Tensor) => this.drop.forward(this.self_attn.forward(h, h, { ...call, mask }));
    const ffn = (h: Tensor) => this.drop.forward(this.ffn.forward(h));
    let out: Tensor;
    if (this.o.normPlacement === "post") {
      const r1 = this.tap("residual1", add(x, attn(x)));
      const n1 = this.tap("norm1", this.norm1.forward(r1));
      const r2 = this.tap("residual2", add(n1, ffn(n1)));
      out = this.tap("norm2", this.norm2.forward(r2));
    } else {
      const n1 = this.tap("norm1", this.norm1.forward(x));
      const r1 = this.tap("residual1", add(x, attn(n1)));
      const n2 = this.tap("norm2", this.norm2.forward(r1));
      out = this.tap("residual2", add(r1, ffn(n2)));
    }
    return this.tap("out", out);
  }
}

export interface DecoderLayerCache {
  self: KVCache;
  cross: KVCache;
}

/** Masked self-attention, attention over the encoder's output ("memory"), then feed-forward. */
export class DecoderLayer extends Module {
  readonly self_attn: MultiHeadAttention;
  readonly cross_attn: MultiHeadAttention;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly norm3: LayerNorm;
  readonly ffn: FeedForward;
  private readonly drop: Dropout;

  constructor(readonly o: LayerOptions) {
    super();
    this.self_attn = this.addModule("self_attn", attention(o, true));
    this.cross_attn = this.addModule("cross_attn", attention(o, false));
    this.norm1 = this.addModule("norm1", new LayerNorm(o.dModel, o.lnEps));
    this.norm2 = this.addModule("norm2", new LayerNorm(o.dModel, o.lnEps));
    this.norm3 = this.addModule("norm3", new LayerNorm(o.dModel, o.lnEps));
    this.ffn = this.addModule("ffn", new FeedForward(o.dModel, o.dFF, o.activation, o.init, o.rng));
    this.drop = this.addModule("dropout", new Dropout(o.dropout));
  }

  /**
   * x [B, T, d]; memory [B, S, d]; selfMask (causal + target padding); memoryMask
   * (source padding). With a cache, x holds only the new positions.
   */
  forward(
    x: Tensor,
    memory: Tensor,
    selfMask: Tensor | null,
    memoryMask: Tensor | null,
    cache?: DecoderLayerCache,
    positionOffset = 0,
  ): Tensor {
    const selfAttn = (h: Tensor) =>
      this.drop.forward(
        this.self_attn.forward(h, h, { mask: selfMask, cache: cache?.self, positionOffset }),
      );
    const crossAttn = (h: Tensor) =>
      this.drop.forward(
        this.cross_attn.forward(h, memory, { mask: memoryMask, memoryCache: cache?.cross }),
      );
    const ffn = (h: Tensor) => this.drop.forward(this.ffn.forward(h));
    let out: Tensor;
    if (this.o.normPlacement === "post") {
      const r1 = this.tap("residual1", add(x, selfAttn(x)));
      const n1 = this.tap("norm1", this.norm1.forward(r1));
      const r2 = this.tap("residual2", add(n1, crossAttn(n1)));
      const n2 = this.tap("norm2", this.norm2.forward(r2));
      const r3 = this.tap("residual3", add(n2, ffn(n2)));
      out = this.tap("norm3", this.norm3.forward(r3));
    } else {
      const n1 = this.tap("norm1", this.norm1.forward(x));
      const r1 = this.tap("residual1", add(x, selfAttn(n1)));
      const n2 = this.tap("norm2", this.norm2.forward(r1));
      const r2 = this.tap("residual2", add(r1, crossAttn(n2)));
      const n3 = this.tap("norm3", this.norm3.forward(r2));
      out = this.tap("residual3", add(r2, ffn(n3)));
    }
    return this.tap("out", out);
  }
}
