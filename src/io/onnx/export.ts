/**
 * ONNX export of our models, for ONNX Runtime (Node, Python, the browser):
 *
 * - encoder-decoder: `encoder.onnx` (source ids → memory, its mask, and every decoder layer's
 *   cross-attention K and V, computed once) and `decoder.onnx` (one decoding step: new target
 *   ids and the cached self-attention K/V → logits and the grown cache);
 * - GPT: `model.onnx` (new ids and the cached K/V → logits and the grown cache).
 *
 * Batch, source length, new tokens and cached length are dynamic axes. An empty cache
 * ([batch, heads, 0, d_k]) starts a sequence. Ids are int64, as ONNX Runtime users expect.
 * The formulas are the ones of src/nn and src/models; the graph is built from our weights.
 */
import { AttnError } from "../../errors.js";
import type { EncoderDecoderConfig, GPTConfig, ModelConfig } from "../../models/config.js";
import { sinusoidalPositionalEncoding } from "../../nn/positional.js";
import { transpose2d, type Weight, type Weights } from "../hf/weights.js";
import { FloatAttr, Graph } from "./graph.js";

type Common = ModelConfig;

class Builder {
  readonly g: Graph;
  private readonly dk: number;

  constructor(
    name: string,
    readonly cfg: Common,
    readonly w: Weights,
  ) {
    this.g = new Graph(name);
    this.dk = cfg.dModel / cfg.heads;
  }

  private get(name: string): Weight {
    const t = this.w.get(name);
    if (!t) throw new AttnError(`export --to onnx: weight ${name} is missing`);
    return t;
  }

  /** x Wᵀ + b, with Wᵀ stored so that the product is one MatMul. */
  linear(x: string, prefix: string): string {
    const wt = this.g.weight(`${prefix}.weight_T`, transpose2d(this.get(`${prefix}.weight`)));
    const y = this.g.op("MatMul", [x, wt]);
    const b = this.w.get(`${prefix}.bias`);
    return b ? this.g.op("Add", [y, this.g.weight(`${prefix}.bias`, b)]) : y;
  }

  layerNorm(x: string, prefix: string): string {
    const scale = this.g.weight(`${prefix}.weight`, this.get(`${prefix}.weight`));
    const bias = this.g.weight(`${prefix}.bias`, this.get(`${prefix}.bias`));
    return this.g.op("LayerNormalization", [x, scale, bias], {
      axis: -1,
      epsilon: new FloatAttr(this.cfg.lnEps),
    });
  }

  activate(x: string): string {
    const g = this.g;
    switch (this.cfg.activation) {
      case "relu":
        return g.op("Relu", [x]);
      case "silu":
        return g.op("Mul", [x, g.op("Sigmoid", [x])]);
      case "gelu": // x·Φ(x) = ½x(1 + erf(x/√2))
        return g.op("Mul", [
          g.op("Mul", [x, g.scalar(0.5)]),
          g.op("Add", [g.scalar(1), g.op("Erf", [g.op("Mul", [x, g.scalar(Math.SQRT1_2)])])]),
        ]);
      case "gelu_tanh": {
        // ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
        const cube = g.op("Mul", [g.op("Mul", [x, x]), x]);
        const inner = g.op("Mul", [
          g.op("Add", [x, g.op("Mul", [cube, g.scalar(0.044715)])]),
          g.scalar(Math.sqrt(2 / Math.PI)),
        ]);
        return g.op("Mul", [
          g.op("Mul", [x, g.scalar(0.5)]),
          g.op("Add", [g.scalar(1), g.op("Tanh", [inner])]),
        ]);
      }
    }
  }

  /** [B, T, d] → [B, H, T, d_k]. */
  splitHeads(x: string): string {
    const r = this.g.op("Reshape", [x, this.g.ints([0, 0, this.cfg.heads, this.dk])]);
    return this.g.op("Transpose", [r], { perm: [0, 2, 1, 3] });
  }

  /** MultiHead = Concat(heads) W^O: the attention of `prefix` (…self_attn, …cross_attn). */
  multiHead(prefix: string, q: string, k: string, v: string, bias: string | null): string {
    return this.linear(this.attend(q, k, v, bias), `${prefix}.out_proj`);
  }

  /** softmax(Q Kᵀ / √d_k + bias) V, heads merged back to [B, T, d]. */
  attend(q: string, k: string, v: string, bias: string | null): string {
    const g = this.g;
    let s = g.op("Mul", [
      g.op("MatMul", [q, g.op("Transpose", [k], { perm: [0, 1, 3, 2] })]),
      g.scalar(1 / Math.sqrt(this.dk)),
    ]);
    if (bias) s = g.op("Add", [s, bias]);
    const heads = g.op("MatMul", [g.op("Softmax", [s], { axis: -1 }), v]);
    const t = g.op("Transpose", [heads], { perm: [0, 2, 1, 3] });
    return g.op("Reshape", [t, g.ints([0, 0, this.cfg.dModel])]);
  }

  /** One sub-layer with its residual connection and norm (post- or pre-LN). */
  sublayer(x: string, norm: string, fn: (h: string) => string): string {
    if (this.cfg.normPlacement === "post")
      return this.layerNorm(this.g.op("Add", [x, fn(x)]), norm);
    return this.g.op("Add", [x, fn(this.layerNorm(x, norm))]);
  }

  ffn(h: string, prefix: string): string {
    return this.linear(
      this.activate(this.linear(h, `${prefix}.ffn.linear1`)),
      `${prefix}.ffn.linear2`,
    );
  }

  /** A scalar (0-d int64) size of `x` along `axis`. */
  dim(x: string, axis: number): string {
    return this.g.op("Gather", [this.g.op("Shape", [x]), this.g.int(axis)]);
  }

  /** Token embeddings (×√d_model if so configured) plus the positions' encodings. */
  embed(ids: string, table: string, positions: string, stack: string): string {
    const g = this.g;
    let x = g.op("Gather", [table, ids]);
    if (this.cfg.scaleEmbedding) x = g.op("Mul", [x, g.scalar(Math.sqrt(this.cfg.dModel))]);
    const pos = this.positionTable(stack);
    return pos ? g.op("Add", [x, g.op("Gather", [pos, positions])]) : x;
  }

  /** The stack's position table ([maxLen, d]; `stack` is "encoder.", "decoder." or "" for the GPT). */
  positionTable(stack: string): string | null {
    const { positional, maxLen, dModel, sinusoidLayout } = this.cfg;
    if (positional === "learned") {
      const name = `${stack}pos_embed.weight`;
      return this.g.weight(name, this.get(name));
    }
    if (positional === "sinusoidal") {
      const pe = sinusoidalPositionalEncoding(maxLen, dModel, 0, sinusoidLayout);
      const values = Float32Array.from(pe.readSync());
      pe.dispose();
      return this.g.weight("sinusoid", { shape: [maxLen, dModel], values });
    }
    return null;
  }

  /** [T, P+T] additive mask: -∞ where key j is after query P+t. */
  causalBias(positions: string, total: string): string {
    const g = this.g;
    const keys = g.op("Range", [g.int(0), total, g.int(1)]);
    const later = g.op("Greater", [
      g.op("Unsqueeze", [keys, g.ints([0])]),
      g.op("Unsqueeze", [positions, g.ints([1])]),
    ]);
    return g.op("Where", [later, g.scalar(Number.NEGATIVE_INFINITY), g.scalar(0)]);
  }

  /** [B, 1, 1, S] additive mask from an attention mask (1 = token, 0 = padding). */
  paddingBias(mask: string): string {
    const g = this.g;
    const pad = g.op("Equal", [mask, g.ints([0])]);
    const bias = g.op("Where", [pad, g.scalar(Number.NEGATIVE_INFINITY), g.scalar(0)]);
    return g.op("Unsqueeze", [bias, g.ints([1, 2])]);
  }

  /** logits = h Eᵀ (tied) or h W_outᵀ, plus the output bias if any. */
  logits(h: string, table: string): string {
    const g = this.g;
    let y: string;
    if (this.w.has("lm_head.weight"))
      y = g.op("MatMul", [
        h,
        g.weight("lm_head.weight_T", transpose2d(this.get("lm_head.weight"))),
      ]);
    else y = g.op("MatMul", [h, g.weight(`${table}_T`, transpose2d(this.get(table)))]);
    if (this.w.has("output_bias"))
      y = g.op("Add", [y, g.weight("output_bias", this.get("output_bias"))]);
    return y;
  }
}

const HOW_TO = `Run with ONNX Runtime (ids are int64; an empty cache has shape [batch, heads, 0, d_k]).`;

/** The encoder: input_ids → encoder_hidden_states, encoder_attention_mask, cross_key_i / cross_value_i. */
function encoderGraph(cfg: EncoderDecoderConfig, w: Weights): Uint8Array {
  const b = new Builder("encoder", cfg, w);
  const g = b.g;
  const H = cfg.heads;
  const dk = cfg.dModel / H;
  const ids = g.input("input_ids", "int64", ["batch", "src_len"]);
  const table = cfg.shareEmbeddings ? "embed.weight" : "src_embed.weight";
  const S = b.dim(ids, 1);
  const positions = g.op("Range", [g.int(0), S, g.int(1)]);
  let x = b.embed(ids, g.weight(table, w.get(table)!), positions, "encoder.");
  const mask = g.op("Cast", [g.op("Not", [g.op("Equal", [ids, g.ints([cfg.padId])])])], { to: 7 });
  const bias = b.paddingBias(mask);
  for (let i = 0; i < cfg.encoderLayers; i++) {
    const p = `encoder.layers.${i}`;
    x = b.sublayer(x, `${p}.norm1`, (h) =>
      b.multiHead(
        `${p}.self_attn`,
        b.splitHeads(b.linear(h, `${p}.self_attn.q_proj`)),
        b.splitHeads(b.linear(h, `${p}.self_attn.k_proj`)),
        b.splitHeads(b.linear(h, `${p}.self_attn.v_proj`)),
        bias,
      ),
    );
    x = b.sublayer(x, `${p}.norm2`, (h) => b.ffn(h, p));
  }
  if (cfg.finalNorm) x = b.layerNorm(x, "encoder.norm");
  g.output(x, "encoder_hidden_states", "float", ["batch", "src_len", cfg.dModel]);
  g.output(mask, "encoder_attention_mask", "int64", ["batch", "src_len"]);
  for (let i = 0; i < cfg.decoderLayers; i++) {
    const p = `decoder.layers.${i}.cross_attn`;
    g.output(b.splitHeads(b.linear(x, `${p}.k_proj`)), `cross_key_${i}`, "float", [
      "batch",
      H,
      "src_len",
      dk,
    ]);
    g.output(b.splitHeads(b.linear(x, `${p}.v_proj`)), `cross_value_${i}`, "float", [
      "batch",
      H,
      "src_len",
      dk,
    ]);
  }
  return g.serialize(`Attention Lab encoder. ${HOW_TO}`);
}

/** Self-attention over the cache plus the new positions; declares past_* inputs and present_* outputs. */
function cachedSelfAttention(b: Builder, h: string, p: string, i: number, bias: string): string {
  const g = b.g;
  const H = b.cfg.heads;
  const dk = b.cfg.dModel / H;
  const pastK = `past_key_${i}`;
  const pastV = `past_value_${i}`;
  const k = g.op("Concat", [pastK, b.splitHeads(b.linear(h, `${p}.k_proj`))], { axis: 2 });
  const v = g.op("Concat", [pastV, b.splitHeads(b.linear(h, `${p}.v_proj`))], { axis: 2 });
  g.output(k, `present_key_${i}`, "float", ["batch", H, "total_len", dk]);
  g.output(v, `present_value_${i}`, "float", ["batch", H, "total_len", dk]);
  return b.multiHead(p, b.splitHeads(b.linear(h, `${p}.q_proj`)), k, v, bias);
}

function declarePast(b: Builder, layers: number): void {
  const H = b.cfg.heads;
  const dk = b.cfg.dModel / H;
  for (let i = 0; i < layers; i++) {
    b.g.input(`past_key_${i}`, "float", ["batch", H, "past_len", dk]);
    b.g.input(`past_value_${i}`, "float", ["batch", H, "past_len", dk]);
  }
}

/** Positions P..P+T-1 of the new ids and the causal bias over the P+T keys. */
function stepPositions(b: Builder, ids: string): { positions: string; bias: string } {
  const g = b.g;
  const P = b.dim("past_key_0", 2);
  const total = g.op("Add", [P, b.dim(ids, 1)]);
  const positions = g.op("Range", [P, total, g.int(1)]);
  return { positions, bias: b.causalBias(positions, total) };
}

/** One decoding step: input_ids, encoder_attention_mask, past_*, cross_* → logits, present_*. */
function decoderGraph(cfg: EncoderDecoderConfig, w: Weights): Uint8Array {
  const b = new Builder("decoder", cfg, w);
  const g = b.g;
  const H = cfg.heads;
  const dk = cfg.dModel / H;
  const ids = g.input("input_ids", "int64", ["batch", "new_len"]);
  const mask = g.input("encoder_attention_mask", "int64", ["batch", "src_len"]);
  declarePast(b, cfg.decoderLayers);
  for (let i = 0; i < cfg.decoderLayers; i++) {
    g.input(`cross_key_${i}`, "float", ["batch", H, "src_len", dk]);
    g.input(`cross_value_${i}`, "float", ["batch", H, "src_len", dk]);
  }
  const table = cfg.shareEmbeddings ? "embed.weight" : "tgt_embed.weight";
  const { positions, bias } = stepPositions(b, ids);
  let x = b.embed(ids, g.weight(table, w.get(table)!), positions, "decoder.");
  const memoryBias = b.paddingBias(mask);
  for (let i = 0; i < cfg.decoderLayers; i++) {
    const p = `decoder.layers.${i}`;
    x = b.sublayer(x, `${p}.norm1`, (h) => cachedSelfAttention(b, h, `${p}.self_attn`, i, bias));
    x = b.sublayer(x, `${p}.norm2`, (h) =>
      b.multiHead(
        `${p}.cross_attn`,
        b.splitHeads(b.linear(h, `${p}.cross_attn.q_proj`)),
        `cross_key_${i}`,
        `cross_value_${i}`,
        memoryBias,
      ),
    );
    x = b.sublayer(x, `${p}.norm3`, (h) => b.ffn(h, p));
  }
  if (cfg.finalNorm) x = b.layerNorm(x, "decoder.norm");
  g.output(b.logits(x, table), "logits", "float", ["batch", "new_len", cfg.vocabSize]);
  return g.serialize(`Attention Lab decoder step. ${HOW_TO}`);
}

/** The GPT: input_ids, past_* → logits, present_*. */
function gptGraph(cfg: GPTConfig, w: Weights): Uint8Array {
  const b = new Builder("gpt", cfg, w);
  const g = b.g;
  const ids = g.input("input_ids", "int64", ["batch", "new_len"]);
  declarePast(b, cfg.layers);
  const { positions, bias } = stepPositions(b, ids);
  let x = b.embed(ids, g.weight("tok_embed.weight", w.get("tok_embed.weight")!), positions, "");
  for (let i = 0; i < cfg.layers; i++) {
    const p = `layers.${i}`;
    x = b.sublayer(x, `${p}.norm1`, (h) => cachedSelfAttention(b, h, `${p}.self_attn`, i, bias));
    x = b.sublayer(x, `${p}.norm2`, (h) => b.ffn(h, p));
  }
  if (cfg.finalNorm) x = b.layerNorm(x, "norm");
  g.output(b.logits(x, "tok_embed.weight"), "logits", "float", ["batch", "new_len", cfg.vocabSize]);
  return g.serialize(`Attention Lab GPT. ${HOW_TO}`);
}

/** The .onnx files of a model, by file name. */
export function onnxFiles(cfg: ModelConfig, w: Weights): Map<string, Uint8Array> {
  if (cfg.positional !== "sinusoidal" && cfg.positional !== "learned" && cfg.positional !== "none")
    throw new AttnError(
      `export --to onnx: ${cfg.positional} positions are not exported (sinusoidal, learned or none)`,
    );
  if (cfg.kind === "gpt") return new Map([["model.onnx", gptGraph(cfg, w)]]);
  return new Map([
    ["encoder.onnx", encoderGraph(cfg, w)],
    ["decoder.onnx", decoderGraph(cfg, w)],
  ]);
}
