/**
 * Hugging Face GPT-2 (`GPT2LMHeadModel`) ↔ this library's GPT.
 *
 * GPT-2 is our GPT with pre-LN blocks, learned positions, biases everywhere and a final
 * LayerNorm. Its `Conv1D` layers store weights as [in, out] (ours are [out, in], as
 * nn.Linear), and `c_attn` is Q, K and V in one [d, 3d] matrix.
 */
import { AttnError } from "../../errors.js";
import type { Activation } from "../../nn/ffn.js";
import { type GPTConfig, validateConfig } from "../../models/config.js";
import {
  hfActivation,
  ourActivation,
  readStanza,
  stanza,
  restoreOurs,
  withBiases,
} from "./common.js";
import { joinRows, splitRows, take, transpose2d, type Weights } from "./weights.js";

type Json = Record<string, unknown>;

const int = (c: Json, key: string, where: string): number => {
  const v = c[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1)
    throw new AttnError(
      `${where}config.json: "${key}" must be a positive integer, got ${JSON.stringify(v)}`,
    );
  return v;
};

/** Our GPT config for an HF GPT-2 config.json. */
export function gpt2Config(c: Json, where = ""): GPTConfig {
  if (c.model_type !== "gpt2")
    throw new AttnError(
      `${where}config.json: model_type is ${JSON.stringify(c.model_type)}, not "gpt2"`,
    );
  for (const [key, bad, why] of [
    ["add_cross_attention", true, "cross-attention"],
    ["scale_attn_weights", false, "attention without the 1/√d_k scale"],
    ["scale_attn_by_inverse_layer_idx", true, "attention scaled by 1/layer"],
  ] as const) {
    if (c[key] === bad)
      throw new AttnError(`${where}config.json: ${why} ("${key}": ${bad}) is not supported`);
  }
  const d = int(c, "n_embd", where);
  const eos = (c.eos_token_id as number | null) ?? 50256;
  const cfg: GPTConfig = {
    kind: "gpt",
    vocabSize: int(c, "vocab_size", where),
    dModel: d,
    heads: int(c, "n_head", where),
    dFF: (c.n_inner as number | null) ?? 4 * d,
    layers: int(c, "n_layer", where),
    dropout: (c.resid_pdrop as number) ?? 0.1,
    attnDropout: (c.attn_pdrop as number) ?? 0.1,
    normPlacement: "pre",
    positional: "learned",
    sinusoidLayout: "interleaved",
    maxLen: int(c, "n_positions", where),
    activation: ourActivation((c.activation_function as string) ?? "gelu_new", where),
    attnBias: true,
    attnOutputBias: true,
    ffnBias: true,
    finalNorm: true,
    lnEps: (c.layer_norm_epsilon as number) ?? 1e-5,
    tieOutput: c.tie_word_embeddings !== false,
    outputBias: false,
    scaleEmbedding: false,
    init: "gpt2",
    // GPT-2 has no PAD; batches of different lengths are masked by length, so EOS serves.
    padId: (c.pad_token_id as number | null) ?? eos,
    bosId: (c.bos_token_id as number | null) ?? eos,
    eosId: eos,
    seed: 0,
  };
  return validateConfig(cfg) as GPTConfig;
}

/** HF GPT-2 weights → ours (names, Conv1D transposes, c_attn split into Q, K, V). */
export function gpt2FromHf(
  c: Json,
  hf: Weights,
  where = "",
): { config: GPTConfig; weights: Weights } {
  let config = gpt2Config(c, where);
  const { dModel: d, dFF, vocabSize: V, maxLen } = config;
  const w: Weights = new Map();
  const get = (n: string, shape: number[]) => take(hf, n, shape, where);
  w.set("tok_embed.weight", get("transformer.wte.weight", [V, d]));
  w.set("pos_embed.weight", get("transformer.wpe.weight", [maxLen, d]));
  for (let i = 0; i < config.layers; i++) {
    const h = `transformer.h.${i}`;
    const o = `layers.${i}`;
    w.set(`${o}.norm1.weight`, get(`${h}.ln_1.weight`, [d]));
    w.set(`${o}.norm1.bias`, get(`${h}.ln_1.bias`, [d]));
    const qkv = splitRows(transpose2d(get(`${h}.attn.c_attn.weight`, [d, 3 * d])), 3);
    const qkvBias = splitRows(get(`${h}.attn.c_attn.bias`, [3 * d]), 3);
    ["q", "k", "v"].forEach((p, j) => {
      w.set(`${o}.self_attn.${p}_proj.weight`, qkv[j]);
      w.set(`${o}.self_attn.${p}_proj.bias`, qkvBias[j]);
    });
    w.set(`${o}.self_attn.out_proj.weight`, transpose2d(get(`${h}.attn.c_proj.weight`, [d, d])));
    w.set(`${o}.self_attn.out_proj.bias`, get(`${h}.attn.c_proj.bias`, [d]));
    w.set(`${o}.norm2.weight`, get(`${h}.ln_2.weight`, [d]));
    w.set(`${o}.norm2.bias`, get(`${h}.ln_2.bias`, [d]));
    w.set(`${o}.ffn.linear1.weight`, transpose2d(get(`${h}.mlp.c_fc.weight`, [d, dFF])));
    w.set(`${o}.ffn.linear1.bias`, get(`${h}.mlp.c_fc.bias`, [dFF]));
    w.set(`${o}.ffn.linear2.weight`, transpose2d(get(`${h}.mlp.c_proj.weight`, [dFF, d])));
    w.set(`${o}.ffn.linear2.bias`, get(`${h}.mlp.c_proj.bias`, [d]));
  }
  w.set("norm.weight", get("transformer.ln_f.weight", [d]));
  w.set("norm.bias", get("transformer.ln_f.bias", [d]));
  if (!config.tieOutput) w.set("lm_head.weight", get("lm_head.weight", [V, d]));
  const ours = readStanza(c, where);
  if (ours?.kind === "gpt") {
    const restored = restoreOurs(config, ours, w, where);
    config = restored.config as GPTConfig;
    return { config, weights: restored.weights };
  }
  return { config, weights: w };
}

/** Why a GPT config cannot be written as GPT-2, or null. */
function gpt2Refusal(cfg: GPTConfig): string | null {
  if (cfg.normPlacement !== "pre") return "GPT-2 places LayerNorm before each sub-layer (pre-LN)";
  if (cfg.positional !== "learned") return "GPT-2 has learned positions";
  if (!cfg.finalNorm) return "GPT-2 has a final LayerNorm";
  if (cfg.scaleEmbedding) return "GPT-2 does not scale embeddings by √d_model";
  if (cfg.outputBias) return "GPT-2 has no bias on the logits";
  return null;
}

/** Ours → HF GPT-2 (missing biases written as zeros; config.json keeps our config for the way back). */
export function gpt2ToHf(cfg: GPTConfig, ours: Weights): { config: Json; weights: Weights } {
  const why = gpt2Refusal(cfg);
  if (why)
    throw new AttnError(
      `export --to hf-gpt2: ${why}; this model cannot be written as GPT-2 (try --to pytorch)`,
    );
  const w = withBiases(cfg, ours);
  const out: Weights = new Map();
  out.set("transformer.wte.weight", take(w, "tok_embed.weight"));
  out.set("transformer.wpe.weight", take(w, "pos_embed.weight"));
  for (let i = 0; i < cfg.layers; i++) {
    const h = `transformer.h.${i}`;
    const o = `layers.${i}`;
    const g = (n: string) => take(w, `${o}.${n}`);
    out.set(`${h}.ln_1.weight`, g("norm1.weight"));
    out.set(`${h}.ln_1.bias`, g("norm1.bias"));
    const proj = ["q", "k", "v"];
    out.set(
      `${h}.attn.c_attn.weight`,
      transpose2d(joinRows(proj.map((p) => g(`self_attn.${p}_proj.weight`)))),
    );
    out.set(`${h}.attn.c_attn.bias`, joinRows(proj.map((p) => g(`self_attn.${p}_proj.bias`))));
    out.set(`${h}.attn.c_proj.weight`, transpose2d(g("self_attn.out_proj.weight")));
    out.set(`${h}.attn.c_proj.bias`, g("self_attn.out_proj.bias"));
    out.set(`${h}.ln_2.weight`, g("norm2.weight"));
    out.set(`${h}.ln_2.bias`, g("norm2.bias"));
    out.set(`${h}.mlp.c_fc.weight`, transpose2d(g("ffn.linear1.weight")));
    out.set(`${h}.mlp.c_fc.bias`, g("ffn.linear1.bias"));
    out.set(`${h}.mlp.c_proj.weight`, transpose2d(g("ffn.linear2.weight")));
    out.set(`${h}.mlp.c_proj.bias`, g("ffn.linear2.bias"));
  }
  out.set("transformer.ln_f.weight", take(w, "norm.weight"));
  out.set("transformer.ln_f.bias", take(w, "norm.bias"));
  if (!cfg.tieOutput) out.set("lm_head.weight", take(w, "lm_head.weight"));
  const config: Json = {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    vocab_size: cfg.vocabSize,
    n_positions: cfg.maxLen,
    n_embd: cfg.dModel,
    n_layer: cfg.layers,
    n_head: cfg.heads,
    n_inner: cfg.dFF,
    activation_function: hfActivation(cfg.activation as Activation, "gpt2"),
    resid_pdrop: cfg.dropout,
    embd_pdrop: cfg.dropout,
    attn_pdrop: cfg.attnDropout,
    layer_norm_epsilon: cfg.lnEps,
    initializer_range: 0.02,
    scale_attn_weights: true,
    use_cache: true,
    tie_word_embeddings: cfg.tieOutput,
    bos_token_id: cfg.bosId,
    eos_token_id: cfg.eosId,
    pad_token_id: cfg.padId,
    dtype: "float32",
    ...stanza(cfg),
  };
  return { config, weights: out };
}
