/**
 * Hugging Face Marian (`MarianMTModel`, the opus-mt translators) ↔ this library's Transformer.
 *
 * Marian is the paper's encoder-decoder: post-LN layers, sinusoidal positions, embeddings
 * scaled by √d_model and shared with the output layer. It differs in details that are config
 * fields here: biases on every projection, a bias on the logits (`final_logits_bias`), swish
 * as the FFN activation in opus-mt, and sinusoids laid out as all sines then all cosines.
 * Its decoder starts from PAD (`decoder_start_token_id`), which is our BOS id then.
 */
import { AttnError } from "../../errors.js";
import type { Activation } from "../../nn/ffn.js";
import { type EncoderDecoderConfig, validateConfig } from "../../models/config.js";
import {
  halvesPermutation,
  hfActivation,
  ourActivation,
  permuteResidual,
  readStanza,
  restoreOurs,
  stanza,
  withBiases,
} from "./common.js";
import { take, type Weights } from "./weights.js";

type Json = Record<string, unknown>;

// Our layer names → Marian's, per stack.
const ENCODER_LAYER: [string, string][] = [
  ["self_attn", "self_attn"],
  ["norm1", "self_attn_layer_norm"],
  ["ffn.linear1", "fc1"],
  ["ffn.linear2", "fc2"],
  ["norm2", "final_layer_norm"],
];
const DECODER_LAYER: [string, string][] = [
  ["self_attn", "self_attn"],
  ["norm1", "self_attn_layer_norm"],
  ["cross_attn", "encoder_attn"],
  ["norm2", "encoder_attn_layer_norm"],
  ["ffn.linear1", "fc1"],
  ["ffn.linear2", "fc2"],
  ["norm3", "final_layer_norm"],
];

/** Our name → Marian's for every weight of a config (the map is its own inverse, read backwards). */
function nameMap(cfg: EncoderDecoderConfig): [string, string][] {
  const map: [string, string][] = [];
  if (cfg.shareEmbeddings) map.push(["embed.weight", "model.shared.weight"]);
  else {
    map.push(["src_embed.weight", "model.encoder.embed_tokens.weight"]);
    map.push(["tgt_embed.weight", "model.decoder.embed_tokens.weight"]);
  }
  const stack = (ours: string, theirs: string, n: number, layer: [string, string][]) => {
    for (let i = 0; i < n; i++) {
      for (const [a, b] of layer) {
        const attn = a.endsWith("attn");
        const parts = attn ? ["q_proj", "k_proj", "v_proj", "out_proj"] : [""];
        for (const p of parts) {
          for (const kind of ["weight", "bias"]) {
            const sub = p ? `${p}.${kind}` : kind;
            map.push([
              `${ours}.layers.${i}.${a}.${sub}`,
              `model.${theirs}.layers.${i}.${b}.${sub}`,
            ]);
          }
        }
      }
    }
  };
  stack("encoder", "encoder", cfg.encoderLayers, ENCODER_LAYER);
  stack("decoder", "decoder", cfg.decoderLayers, DECODER_LAYER);
  if (!cfg.tieOutput) map.push(["lm_head.weight", "lm_head.weight"]);
  return map;
}

/** Our encoder-decoder config for a Marian config.json. */
export function marianConfig(c: Json, where = ""): EncoderDecoderConfig {
  if (c.model_type !== "marian")
    throw new AttnError(
      `${where}config.json: model_type is ${JSON.stringify(c.model_type)}, not "marian"`,
    );
  const int = (k: string, min = 1) => {
    const v = c[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min)
      throw new AttnError(
        `${where}config.json: "${k}" must be an integer >= ${min}, got ${JSON.stringify(v)}`,
      );
    return v;
  };
  const same = (a: string, b: string) => {
    if (c[a] !== c[b])
      throw new AttnError(
        `${where}config.json: "${a}" ${c[a]} differs from "${b}" ${c[b]}; both stacks must have the same size here`,
      );
  };
  same("encoder_attention_heads", "decoder_attention_heads");
  same("encoder_ffn_dim", "decoder_ffn_dim");
  if (c.decoder_vocab_size != null && c.decoder_vocab_size !== c.vocab_size)
    throw new AttnError(
      `${where}config.json: separate source and target vocabularies are not supported`,
    );
  const pad = int("pad_token_id", 0);
  const cfg: EncoderDecoderConfig = {
    kind: "encdec",
    vocabSize: int("vocab_size"),
    dModel: int("d_model"),
    heads: int("encoder_attention_heads"),
    dFF: int("encoder_ffn_dim"),
    encoderLayers: int("encoder_layers"),
    decoderLayers: int("decoder_layers"),
    dropout: (c.dropout as number) ?? 0.1,
    attnDropout: (c.attention_dropout as number) ?? 0,
    normPlacement: "post",
    positional: "sinusoidal",
    sinusoidLayout: "halves",
    maxLen: int("max_position_embeddings"),
    activation: ourActivation((c.activation_function as string) ?? "swish", where),
    attnBias: true,
    attnOutputBias: true,
    ffnBias: true,
    finalNorm: false,
    lnEps: 1e-5,
    shareEmbeddings: c.share_encoder_decoder_embeddings !== false,
    tieOutput: c.tie_word_embeddings !== false,
    outputBias: true,
    scaleEmbedding: c.scale_embedding === true,
    init: "paper",
    padId: pad,
    bosId: (c.decoder_start_token_id as number | null) ?? pad,
    eosId: (c.eos_token_id as number | null) ?? 0,
    seed: 0,
  };
  return validateConfig(cfg) as EncoderDecoderConfig;
}

/** The shape of one of our weights under `cfg` (for checking an import before building the model). */
function ourShape(cfg: EncoderDecoderConfig, name: string): number[] {
  const { dModel: d, dFF, vocabSize: V } = cfg;
  if (/embed\.weight$/.test(name) || name === "lm_head.weight") return [V, d];
  if (name.endsWith("linear1.weight")) return [dFF, d];
  if (name.endsWith("linear1.bias")) return [dFF];
  if (name.endsWith("linear2.weight")) return [d, dFF];
  if (/_proj\.weight$/.test(name)) return [d, d];
  return [d];
}

export function marianFromHf(
  c: Json,
  hf: Weights,
  where = "",
): { config: EncoderDecoderConfig; weights: Weights } {
  const config = marianConfig(c, where);
  const w: Weights = new Map();
  for (const [ours, theirs] of nameMap(config)) {
    // The shared table is model.shared; some files name it per stack instead.
    const name =
      theirs === "model.shared.weight" && !hf.has(theirs)
        ? "model.encoder.embed_tokens.weight"
        : theirs;
    w.set(ours, take(hf, name, ourShape(config, ours), where));
  }
  const V = config.vocabSize;
  const bias = hf.get("final_logits_bias");
  if (bias) take(hf, "final_logits_bias", [1, V], where);
  w.set("output_bias", { shape: [V], values: bias ? bias.values : new Float32Array(V) });
  const ours = readStanza(c, where);
  if (ours?.kind === "encdec") {
    const r = restoreOurs(config, ours, w, where);
    return { config: r.config as EncoderDecoderConfig, weights: r.weights };
  }
  return { config, weights: w };
}

function marianRefusal(cfg: EncoderDecoderConfig): string | null {
  if (cfg.normPlacement !== "post") return "Marian's layers are post-LN";
  if (cfg.finalNorm) return "Marian has no final LayerNorm";
  if (cfg.positional !== "sinusoidal") return "Marian has sinusoidal positions";
  if (cfg.lnEps !== 1e-5) return "Marian's LayerNorm epsilon is 1e-5";
  return null;
}

/** Ours → Marian. Interleaved sinusoids become Marian's halves by permuting the residual stream. */
export function marianToHf(
  cfg: EncoderDecoderConfig,
  ours: Weights,
): { config: Json; weights: Weights } {
  const why = marianRefusal(cfg);
  if (why)
    throw new AttnError(
      `export --to hf-marian: ${why}; this model cannot be written as Marian (try --to pytorch)`,
    );
  let w = withBiases(cfg, ours, true);
  if (cfg.sinusoidLayout === "interleaved") w = permuteResidual(w, halvesPermutation(cfg.dModel));
  const out: Weights = new Map();
  for (const [o, t] of nameMap(cfg)) out.set(t, take(w, o));
  const ob = take(w, "output_bias");
  out.set("final_logits_bias", { shape: [1, cfg.vocabSize], values: ob.values });
  const config: Json = {
    architectures: ["MarianMTModel"],
    model_type: "marian",
    vocab_size: cfg.vocabSize,
    decoder_vocab_size: cfg.vocabSize,
    d_model: cfg.dModel,
    encoder_layers: cfg.encoderLayers,
    decoder_layers: cfg.decoderLayers,
    encoder_attention_heads: cfg.heads,
    decoder_attention_heads: cfg.heads,
    encoder_ffn_dim: cfg.dFF,
    decoder_ffn_dim: cfg.dFF,
    max_position_embeddings: cfg.maxLen,
    activation_function: hfActivation(cfg.activation as Activation, "marian"),
    dropout: cfg.dropout,
    attention_dropout: cfg.attnDropout,
    activation_dropout: 0,
    scale_embedding: cfg.scaleEmbedding,
    share_encoder_decoder_embeddings: cfg.shareEmbeddings,
    tie_word_embeddings: cfg.tieOutput,
    pad_token_id: cfg.padId,
    eos_token_id: cfg.eosId,
    decoder_start_token_id: cfg.bosId,
    forced_eos_token_id: cfg.eosId,
    is_encoder_decoder: true,
    dtype: "float32",
    ...stanza(cfg),
  };
  return { config, weights: out };
}
