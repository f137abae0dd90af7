/**
 * The two layer types of the paper (§3.1), each with the norm placed after
 * the residual add ("post", the paper: LayerNorm(x + Sublayer(x))) or before
 * the sub-layer ("pre": x + Sublayer(LayerNorm(x)), as GPT-2).
 */
import type { Mulberry32, Tensor } from "../tensor/index.js";
import { add, reshape } from "../tensor/index.js";
import { AttnError } from "../errors.js";
import { fmt } from "../tensor/shape.js";
import { type AttentionCallOptions, MultiHeadAttention } from "../nn/attention.js";
import type { KVCache } from "../nn/kv-cache.js";
import { type Activation, FeedForward } from "../nn/ffn.js";
import { Dropout, LayerNorm, Linear } from "../nn/layers.js";
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
  attnOutputBias: boolean;
  ffnBias: boolean;
  lnEps: number;
  positional: PositionalKind;
  init: (out: number, inp: number, fused?: number) => Tensor;
  rng: Mulberry32;
}

/**
 * The pre-softmax linear transformation as its own [vocab, d_model] matrix, for a
 * model whose output is not tied to the embedding (both models build it the same way).
 */
export function untiedOutput(
  cfg: { vocabSize: number; dModel: number },
  init: (out: number, inp: number) => Tensor,
  rng: Mulberry32,
): Linear {
  return new Linear(cfg.dModel, cfg.vocabSize, {
    bias: false,
    rng,
    weight: init(cfg.vocabSize, cfg.dModel),
  });
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
    | "attnOutputBias"
    | "ffnBias"
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
    attnOutputBias: cfg.attnOutputBias,
    ffnBias: cfg.ffnBias,
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
      outputBias: o.attnOutputBias,
      positional: o.positional,
      attnDropout: o.attnDropout,
      init: o.init,
      rng: o.rng,
    },
    self,
  );
}

/** Base of the paper's two layers: the residual connection around each sub-layer. */
abstract class ResidualLayer extends Module {
  protected drop!: Dropout;

  constructor(readonly o: LayerOptions) {
    super();
  }

  /**
   * The i-th sub-layer of the layer (§3.1, §5.4); records residual<i> and norm<i>.
   *   post (the paper): LayerNorm(x + Dropout(Sublayer(x)))
   *   pre  (GPT-2):     x + Dropout(Sublayer(LayerNorm(x)))
   */
  protected sublayer(i: 1 | 2 | 3, x: Tensor, norm: LayerNorm, fn: (h: Tensor) => Tensor): Tensor {
    if (this.o.normPlacement === "post") {
      const r = this.tap(`residual${i}` as const, add(x, this.drop.forward(fn(x))));
      return this.tap(`norm${i}` as const, norm.forward(r));
    }
    const n = this.tap(`norm${i}` as const, norm.forward(x));
    return this.tap(`residual${i}` as const, add(x, this.drop.forward(fn(n))));
  }
}

/** Self-attention then feed-forward (§3.1, the encoder's layer). */
export class EncoderLayer extends ResidualLayer {
  readonly self_attn: MultiHeadAttention;
  readonly norm1: LayerNorm;
  readonly ffn: FeedForward;
  readonly norm2: LayerNorm;
  constructor(o: LayerOptions) {
    super(o);
    this.self_attn = this.addModule("self_attn", attention(o, true));
    this.norm1 = this.addModule("norm1", new LayerNorm(o.dModel, o.lnEps));
    this.ffn = this.addModule(
      "ffn",
      new FeedForward(o.dModel, o.dFF, o.activation, o.init, o.rng, o.ffnBias),
    );
    this.norm2 = this.addModule("norm2", new LayerNorm(o.dModel, o.lnEps));
    this.drop = this.addModule("dropout", new Dropout(o.dropout));
  }

  forward(x: Tensor, mask: Tensor | null, call: AttentionCallOptions = {}): Tensor {
    const h = this.sublayer(1, x, this.norm1, (n) =>
      this.self_attn.forward(n, n, { ...call, mask }),
    );
    return this.tap(
      "out",
      this.sublayer(2, h, this.norm2, (n) => this.ffn.forward(n)),
    );
  }
}

/**
 * A GPT's block: the encoder layer's two sub-layers, masked self-attention then
 * feed-forward, under its own name (GPT.forward passes the causal mask; the decoder's
 * cross-attention has no place in a decoder-only model).
 */
export class GPTBlock extends EncoderLayer {}

export interface DecoderLayerCache {
  self: KVCache;
  cross: KVCache;
}

/** Masked self-attention, attention over the encoder's output ("memory"), then feed-forward. */
export class DecoderLayer extends ResidualLayer {
  readonly self_attn: MultiHeadAttention;
  readonly cross_attn: MultiHeadAttention;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly norm3: LayerNorm;
  readonly ffn: FeedForward;
  constructor(o: LayerOptions) {
    super(o);
    this.self_attn = this.addModule("self_attn", attention(o, true));
    this.cross_attn = this.addModule("cross_attn", attention(o, false));
    this.norm1 = this.addModule("norm1", new LayerNorm(o.dModel, o.lnEps));
    this.norm2 = this.addModule("norm2", new LayerNorm(o.dModel, o.lnEps));
    this.norm3 = this.addModule("norm3", new LayerNorm(o.dModel, o.lnEps));
    this.ffn = this.addModule(
      "ffn",
      new FeedForward(o.dModel, o.dFF, o.activation, o.init, o.rng, o.ffnBias),
    );
    this.drop = this.addModule("dropout", new Dropout(o.dropout));
  }

  /**
   * x [B, T, d]; memory [B, S, d]; selfMask (causal + target padding); memoryMask
   * (source padding). With a cache, x holds only the new positions; memory may
   * then be null (its K/V are in cache.cross). `group` > 1: consecutive groups
   * of that many rows of x (beams, one position each) share one memory row,
   * and cross-attention runs them as the query positions of that row.
   */
  forward(
    x: Tensor,
    memory: Tensor | null,
    selfMask: Tensor | null,
    memoryMask: Tensor | null,
    cache?: DecoderLayerCache,
    positionOffset = 0,
    group = 1,
  ): Tensor {
    const selfAttn = (h: Tensor) =>
      this.self_attn.forward(h, h, { mask: selfMask, cache: cache?.self, positionOffset });
    const crossAttn = (h: Tensor) => {
      const call = { mask: memoryMask, memoryCache: cache?.cross };
      if (group === 1) return this.cross_attn.forward(h, memory, call);
      const [R, T, d] = h.shape;
      if (T !== 1 || R % group !== 0)
        throw new AttnError(
          `decoder: groups of ${group} need one position per row, got ${fmt(h.shape)}`,
        );
      const grouped = reshape(h, [R / group, group, d]);
      return reshape(this.cross_attn.forward(grouped, memory, call), [R, T, d]);
    };
    const h1 = this.sublayer(1, x, this.norm1, selfAttn);
    const h2 = this.sublayer(2, h1, this.norm2, crossAttn);
    return this.tap(
      "out",
      this.sublayer(3, h2, this.norm3, (n) => this.ffn.forward(n)),
    );
  }
}
