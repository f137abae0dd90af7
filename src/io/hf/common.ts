/**
 * What the Hugging Face families share: activation names, the biases HF layers always have,
 * and the `attention_lab` entry of an exported config.json that makes ours → HF → ours exact.
 *
 * An HF architecture is sometimes wider than ours (it always has biases; Marian lays its
 * sinusoids out in halves). Export writes what ours lacks as exact equivalents (zero biases,
 * the residual dimensions permuted), and records our config; import undoes exactly that, so a
 * round trip gives back the same config and bit-identical weights. A weight changed elsewhere
 * (a bias trained in PyTorch) is kept, and the config widened to hold it.
 */
import { AttnError } from "../../errors.js";
import type { Activation } from "../../nn/ffn.js";
import { type ModelConfig, validateConfig } from "../../models/config.js";
import { isAllZero, permuteAxis, type Weight, type Weights, zerosWeight } from "./weights.js";

type Json = Record<string, unknown>;

const HF_ACTIVATIONS: Record<string, Activation> = {
  relu: "relu",
  gelu: "gelu",
  gelu_new: "gelu_tanh",
  gelu_pytorch_tanh: "gelu_tanh",
  swish: "silu",
  silu: "silu",
};

export function ourActivation(name: string, where: string): Activation {
  const a = HF_ACTIVATIONS[name];
  if (!a)
    throw new AttnError(
      `${where}config.json: activation "${name}" is not supported (one of ${Object.keys(HF_ACTIVATIONS).join(", ")})`,
    );
  return a;
}

export function hfActivation(a: Activation, family: "gpt2" | "marian"): string {
  if (a === "gelu_tanh") return "gelu_new";
  if (a === "silu") return family === "marian" ? "swish" : "silu";
  return a;
}

const STANZA = "attention_lab";

/** The config.json entry that records our config. */
export function stanza(cfg: ModelConfig): Json {
  return { [STANZA]: { version: 1, config: cfg } };
}

/** Our config recorded in an HF config.json by export, if any. */
export function readStanza(c: Json, where: string): ModelConfig | null {
  const s = c[STANZA] as { version?: number; config?: ModelConfig } | undefined;
  if (!s) return null;
  if (s.version !== 1 || !s.config)
    throw new AttnError(`${where}config.json: "${STANZA}" is not a version-1 record of a config`);
  return validateConfig(s.config);
}

/** Linear layers' bias names for the weights in `w`, and whether the config has each. */
function biasFlags(cfg: ModelConfig, name: string): boolean | null {
  if (/\.(q|k|v)_proj\.weight$/.test(name)) return cfg.attnBias;
  if (/\.out_proj\.weight$/.test(name)) return cfg.attnOutputBias;
  if (/\.ffn\.linear[12]\.weight$/.test(name)) return cfg.ffnBias;
  return null;
}

/** `w` with a zero bias for every projection the config leaves without one (HF layers always have them). */
export function withBiases(cfg: ModelConfig, w: Weights, outputBias = false): Weights {
  const out: Weights = new Map(w);
  for (const [name, t] of w) {
    if (biasFlags(cfg, name) === false)
      out.set(name.replace(/\.weight$/, ".bias"), zerosWeight([t.shape[0]]));
  }
  if (outputBias && !cfg.outputBias) out.set("output_bias", zerosWeight([cfg.vocabSize]));
  return out;
}

/** The axis of an (our-named) weight that runs along d_model, the residual stream, or null. */
export function residualAxis(name: string): number | null {
  if (/(^|\.)(embed|src_embed|tgt_embed|tok_embed|pos_embed|lm_head)\.weight$/.test(name)) return 1;
  if (/(^|\.)norm\d*\.(weight|bias)$/.test(name)) return 0;
  if (/\.(q|k|v)_proj\.weight$/.test(name) || /\.ffn\.linear1\.weight$/.test(name)) return 1;
  if (/\.out_proj\.(weight|bias)$/.test(name) || /\.ffn\.linear2\.(weight|bias)$/.test(name))
    return 0;
  return null;
}

/** Interleaved sin/cos dimensions → halves: out[j] = in[perm[j]] (sines first, then cosines). */
export function halvesPermutation(d: number): number[] {
  const perm: number[] = [];
  for (let i = 0; i < d; i += 2) perm.push(i);
  for (let i = 1; i < d; i += 2) perm.push(i);
  return perm;
}

export function inversePermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, j) => {
    inv[p] = j;
  });
  return inv;
}

/** Every residual-stream axis of `w` permuted: an exact reparametrisation of the same function. */
export function permuteResidual(w: Weights, perm: readonly number[]): Weights {
  const out: Weights = new Map();
  for (const [name, t] of w) {
    const axis = residualAxis(name);
    out.set(name, axis === null ? t : permuteAxis(t, axis, perm));
  }
  return out;
}

/** What must agree for the recorded config to describe the imported weights. */
const SAME_ARCH: string[] = [
  "kind",
  "normPlacement",
  "activation",
  "scaleEmbedding",
  "finalNorm",
  "lnEps",
  "vocabSize",
  "dModel",
  "heads",
  "dFF",
  "maxLen",
  "tieOutput",
  "encoderLayers",
  "decoderLayers",
  "layers",
  "shareEmbeddings",
];

/**
 * From the HF-shaped import (`native`, `w`) back to the config export recorded (`ours`):
 * un-permute the residual stream, drop the zero biases export added. Falls back to `native`
 * where the weights no longer fit `ours` (sizes edited, a bias trained elsewhere).
 */
export function restoreOurs(
  native: ModelConfig,
  ours: ModelConfig,
  w: Weights,
  where: string,
): { config: ModelConfig; weights: Weights } {
  const n = native as unknown as Json;
  const o = ours as unknown as Json;
  if (SAME_ARCH.some((k) => n[k] !== o[k])) return { config: native, weights: w };
  let weights: Weights = new Map(w);
  const cfg = { ...ours } as ModelConfig;
  if (
    native.positional === "sinusoidal" &&
    ours.positional === "sinusoidal" &&
    native.sinusoidLayout !== ours.sinusoidLayout
  ) {
    if (native.sinusoidLayout !== "halves" || ours.sinusoidLayout !== "interleaved")
      throw new AttnError(
        `${where}cannot map sinusoid layout ${native.sinusoidLayout} to ${ours.sinusoidLayout}`,
      );
    weights = permuteResidual(weights, inversePermutation(halvesPermutation(ours.dModel)));
  } else if (ours.positional !== native.positional) {
    return { config: native, weights: w };
  }
  const widen = (flag: "attnBias" | "attnOutputBias" | "ffnBias", names: string[]) => {
    if (cfg[flag]) return;
    const all = names.map((b) => weights.get(b)).filter((t): t is Weight => t !== undefined);
    if (all.every(isAllZero)) for (const b of names) weights.delete(b);
    else cfg[flag] = true;
  };
  const names = [...weights.keys()];
  widen(
    "attnBias",
    names.filter((x) => /\.(q|k|v)_proj\.bias$/.test(x)),
  );
  widen(
    "attnOutputBias",
    names.filter((x) => /\.out_proj\.bias$/.test(x)),
  );
  widen(
    "ffnBias",
    names.filter((x) => /\.ffn\.linear[12]\.bias$/.test(x)),
  );
  if (!cfg.outputBias && weights.has("output_bias")) {
    if (isAllZero(weights.get("output_bias")!)) weights.delete("output_bias");
    else cfg.outputBias = true;
  }
  return { config: validateConfig(cfg), weights };
}
