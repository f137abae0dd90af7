/**
 * The names of the tapped intermediates: what model code marks with
 * `this.tap(name, t)` and what the explorer reads back by full dotted name.
 * Both sides use these constants and path helpers, so a renamed tap is a
 * compile error on the reading side, and test/nn/taps.test.ts checks that
 * `tapNames(config)` is exactly what a recording of each model kind holds.
 * docs/taps.md lists them (test/nn/taps.test.ts checks that list too).
 */
import type { ModelConfig } from "../models/config.js";

/** In each attention module: projections, then the steps of Attention(Q, K, V). */
export const ATTENTION_TAPS = [
  "q",
  "k",
  "v",
  "scores", //        Q Kᵀ / √d_k (+ ALiBi bias)
  "masked_scores", // −∞ where a mask forbids
  "weights", //       softmax over the keys
  "heads", //         weights · V, per head
  "concat", //        heads side by side
  "out", //           the output projection
] as const;
export type AttentionTap = (typeof ATTENTION_TAPS)[number];

export const FFN_TAPS = ["hidden", "out"] as const;
export type FeedForwardTap = (typeof FFN_TAPS)[number];

/** A layer's residual sub-layers (1: self-attention, 2: cross-attention or FFN, 3: FFN) and its output. */
export type LayerTap = `residual${1 | 2 | 3}` | `norm${1 | 2 | 3}` | "out";

/** The input side of a stack: E[id]·√d_model, the position table rows (when added), their sum. */
export const STACK_TAPS = ["embed", "pos", "input"] as const;
export type StackTap = (typeof STACK_TAPS)[number];

/** Whole-model outputs: a stack's output (encoder/decoder), GPT's final norm, logits, loss. */
export type ModelTap = "out" | "final_norm" | "logits" | "loss";

export type TapName = AttentionTap | FeedForwardTap | LayerTap | StackTap | ModelTap;

/** enc / dec / cross: the encoder-decoder's attentions; self: a GPT's causal self-attention. */
export type AttentionBlock = "enc" | "dec" | "cross" | "self";
/** A stack of layers: the encoder's, the decoder's, or a GPT's (no prefix). */
export type StackName = "encoder" | "decoder" | "gpt";

/** `path.tap` (a model-level tap has no path). */
export function tapName(path: string, tap: TapName): string {
  return path ? `${path}.${tap}` : tap;
}

/** The module path of a stack ("" for a GPT). */
export function stackPath(stack: StackName): string {
  return stack === "gpt" ? "" : stack;
}

/** The module path of layer `layer` of a stack. */
export function layerPath(stack: StackName, layer: number): string {
  const s = stackPath(stack);
  return s ? `${s}.layers.${layer}` : `layers.${layer}`;
}

/** The module path of an attention block. */
export function attentionPath(b: AttentionBlock, layer: number): string {
  if (b === "self") return `${layerPath("gpt", layer)}.self_attn`;
  if (b === "enc") return `${layerPath("encoder", layer)}.self_attn`;
  return `${layerPath("decoder", layer)}.${b === "dec" ? "self_attn" : "cross_attn"}`;
}

/** The tap of an attention block, e.g. attentionTap("cross", 1, "weights"). */
export function attentionTap(b: AttentionBlock, layer: number, tap: AttentionTap): string {
  return tapName(attentionPath(b, layer), tap);
}

/** Every tap a forward pass with loss records for a model of this config, in no particular order. */
export function tapNames(config: ModelConfig): string[] {
  const out: string[] = [];
  const addsPositions = config.positional === "sinusoidal" || config.positional === "learned";
  const stack = (s: StackName, layers: number, blocks: AttentionBlock[]) => {
    const p = stackPath(s);
    for (const t of STACK_TAPS) if (t !== "pos" || addsPositions) out.push(tapName(p, t));
    for (let l = 0; l < layers; l++) {
      const lp = layerPath(s, l);
      for (const b of blocks) for (const t of ATTENTION_TAPS) out.push(attentionTap(b, l, t));
      for (const t of FFN_TAPS) out.push(tapName(`${lp}.ffn`, t));
      for (let i = 1; i <= blocks.length + 1; i++) {
        out.push(tapName(lp, `residual${i}` as LayerTap), tapName(lp, `norm${i}` as LayerTap));
      }
      out.push(tapName(lp, "out"));
    }
  };
  if (config.kind === "gpt") {
    stack("gpt", config.layers, ["self"]);
    if (config.finalNorm !== false) out.push("final_norm");
  } else {
    stack("encoder", config.encoderLayers, ["enc"]);
    stack("decoder", config.decoderLayers, ["dec", "cross"]);
    out.push(tapName("encoder", "out"), tapName("decoder", "out"));
  }
  out.push("logits", "loss");
  return out;
}
