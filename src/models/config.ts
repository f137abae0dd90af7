/**
 * Model configurations: every architectural choice is a field, and named
 * presets give the paper's and the benchmarks' models.
 */
import { AttnError } from "../errors.js";
import type { Activation } from "../nn/ffn.js";
import type { PositionalKind, SinusoidLayout } from "../nn/positional.js";
import type { NormPlacement } from "./blocks.js";
import type { InitKind } from "./init.js";

interface CommonConfig {
  vocabSize: number;
  dModel: number;
  heads: number;
  dFF: number;
  /** Dropout on embeddings and every sub-layer output (P_drop = 0.1 in the paper). */
  dropout: number;
  /** Dropout on attention weights (0 in the paper; GPT-2 uses it). */
  attnDropout: number;
  normPlacement: NormPlacement;
  positional: PositionalKind;
  /** Longest sequence the positional table allows. */
  maxLen: number;
  activation: Activation;
  /** Biases on the Q, K and V projections (the paper: none; GPT-2 and Marian: yes). */
  attnBias: boolean;
  /** Bias on the attention output projection W^O (default: as attnBias). */
  attnOutputBias: boolean;
  /** Biases b1, b2 of the feed-forward network (§3.3 has them; default true). */
  ffnBias: boolean;
  /** A LayerNorm after the last layer of each stack (default: with pre-LN only, as GPT-2). */
  finalNorm: boolean;
  /** How the sinusoids are laid out: "interleaved" sin/cos (§3.5) or "halves" (Marian: all sines, then all cosines). */
  sinusoidLayout: SinusoidLayout;
  lnEps: number;
  /** Output projection = (target) embedding matrix, transposed (§3.4). */
  tieOutput: boolean;
  /** A learned bias on the logits (Marian's final_logits_bias; default false). */
  outputBias: boolean;
  /** Multiply embeddings by √d_model (§3.4). */
  scaleEmbedding: boolean;
  /**
   * "paper": embeddings N(0, d^-½), other matrices Xavier-uniform. "xavier-fused": the same with
   * Xavier's fan-out taken over fused Q/K/V (and K/V) matrices. "gpt2": all N(0, 0.02).
   */
  init: InitKind;
  padId: number;
  bosId: number;
  eosId: number;
  /** Seed of the initial weights. */
  seed: number;
}

export interface EncoderDecoderConfig extends CommonConfig {
  kind: "encdec";
  encoderLayers: number;
  decoderLayers: number;
  /** One embedding matrix for source and target (a shared vocabulary, §3.4). */
  shareEmbeddings: boolean;
}

export interface GPTConfig extends CommonConfig {
  kind: "gpt";
  layers: number;
}

export type ModelConfig = EncoderDecoderConfig | GPTConfig;

const PAPER_DEFAULTS: Omit<EncoderDecoderConfig, "vocabSize"> = {
  kind: "encdec",
  dModel: 512,
  heads: 8,
  dFF: 2048,
  encoderLayers: 6,
  decoderLayers: 6,
  dropout: 0.1,
  attnDropout: 0,
  normPlacement: "post",
  positional: "sinusoidal",
  maxLen: 1024,
  activation: "relu",
  attnBias: false,
  attnOutputBias: false,
  ffnBias: true,
  finalNorm: false,
  sinusoidLayout: "interleaved",
  lnEps: 1e-5,
  shareEmbeddings: true,
  tieOutput: true,
  outputBias: false,
  scaleEmbedding: true,
  // Xavier over fused Q/K/V: separate Xavier matrices start attention √2 larger and learned
  // less per step (docs/training.md, "Why the same recipe learned less").
  init: "xavier-fused",
  padId: 0,
  bosId: 1,
  eosId: 2,
  seed: 0,
};

const GPT_DEFAULTS: Omit<GPTConfig, "vocabSize"> = {
  kind: "gpt",
  dModel: 256,
  heads: 4,
  dFF: 1024,
  layers: 4,
  dropout: 0.1,
  attnDropout: 0.1,
  normPlacement: "pre",
  positional: "learned",
  maxLen: 128,
  activation: "gelu_tanh",
  attnBias: true,
  attnOutputBias: true,
  ffnBias: true,
  finalNorm: true,
  sinusoidLayout: "interleaved",
  lnEps: 1e-5,
  tieOutput: true,
  outputBias: false,
  scaleEmbedding: false,
  init: "gpt2",
  padId: 0,
  bosId: 1,
  eosId: 2,
  seed: 0,
};

/** Named presets. s2s-small, s2s-base and gpt-small are exactly ../shared/bench/README.md's models. */
export const PRESETS: Record<string, ModelConfig> = {
  // "Attention Is All You Need", Table 3, base: 65M parameters with a shared 37k vocabulary.
  "paper-base": { ...PAPER_DEFAULTS, vocabSize: 37000 },
  // Table 3, big.
  "paper-big": {
    ...PAPER_DEFAULTS,
    vocabSize: 37000,
    dModel: 1024,
    heads: 16,
    dFF: 4096,
    dropout: 0.3,
  },
  "s2s-small": {
    ...PAPER_DEFAULTS,
    vocabSize: 8000,
    dModel: 256,
    heads: 4,
    dFF: 1024,
    encoderLayers: 3,
    decoderLayers: 3,
  },
  "s2s-base": { ...PAPER_DEFAULTS, vocabSize: 8000 },
  "gpt-small": { ...GPT_DEFAULTS, vocabSize: 8000 },
  // Small enough to train on a laptop CPU in minutes.
  "s2s-tiny": {
    ...PAPER_DEFAULTS,
    vocabSize: 64,
    dModel: 64,
    heads: 4,
    dFF: 256,
    encoderLayers: 2,
    decoderLayers: 2,
    maxLen: 128,
  },
  "gpt-tiny": {
    ...GPT_DEFAULTS,
    vocabSize: 64,
    dModel: 64,
    heads: 4,
    dFF: 256,
    layers: 2,
    maxLen: 128,
  },
};

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

/** A preset with overrides (e.g. the tokenizer's vocabulary size). */
export function presetConfig(name: string, overrides: Partial<ModelConfig> = {}): ModelConfig {
  const base = PRESETS[name];
  if (!base)
    throw new AttnError(`unknown model preset "${name}" (choose from ${presetNames().join(", ")})`);
  // Fields that follow another unless given: W^O's bias follows attnBias, the final norm pre-LN.
  const follows: Partial<ModelConfig> = {};
  if (overrides.attnBias !== undefined && overrides.attnOutputBias === undefined)
    follows.attnOutputBias = overrides.attnBias;
  if (overrides.normPlacement !== undefined && overrides.finalNorm === undefined)
    follows.finalNorm = overrides.normPlacement === "pre";
  return validateConfig({ ...base, ...overrides, ...follows } as ModelConfig);
}

/**
 * Upper bounds of the integer fields: far above any model this library trains, low enough
 * that a mistyped or hostile config.json fails here instead of in an allocation.
 */
const LIMITS: Record<string, number> = {
  vocabSize: 1 << 24,
  dModel: 1 << 16,
  heads: 1 << 12,
  dFF: 1 << 18,
  maxLen: 1 << 20,
  layers: 1024,
  encoderLayers: 1024,
  decoderLayers: 1024,
};

/** Largest tensor: float32 elements a single ArrayBuffer holds (2³¹ − 1 bytes / 4, rounded down). */
const MAX_TENSOR_ELEMENTS = 2 ** 29;

/** The number of trainable parameters a config gives, without building the model. */
export function parameterCount(cfg: ModelConfig): number {
  const d = cfg.dModel;
  const attn = 4 * d * d + (cfg.attnBias ? 3 * d : 0) + (cfg.attnOutputBias ? d : 0);
  const ffn = 2 * d * cfg.dFF + (cfg.ffnBias ? cfg.dFF + d : 0);
  const norm = 2 * d;
  const table = cfg.vocabSize * d;
  const positions = cfg.positional === "learned" ? cfg.maxLen * d : 0;
  const head = (cfg.tieOutput ? 0 : table) + (cfg.outputBias ? cfg.vocabSize : 0);
  const finalNorm = cfg.finalNorm ? norm : 0;
  if (cfg.kind === "gpt")
    return table + positions + cfg.layers * (attn + ffn + 2 * norm) + finalNorm + head;
  const tables = cfg.shareEmbeddings ? table : 2 * table;
  const encoder = positions + cfg.encoderLayers * (attn + ffn + 2 * norm) + finalNorm;
  const decoder = positions + cfg.decoderLayers * (2 * attn + ffn + 3 * norm) + finalNorm;
  return tables + encoder + decoder + head;
}

const INITS: InitKind[] = ["paper", "xavier-fused", "gpt2"];
const POSITIONALS: PositionalKind[] = ["sinusoidal", "learned", "rope", "alibi", "none"];
const ACTIVATIONS: Activation[] = ["relu", "gelu", "gelu_tanh", "silu"];
const LAYOUTS: SinusoidLayout[] = ["interleaved", "halves"];

/**
 * Fields added after the first checkpoints were written, with the value that gives the
 * architecture those checkpoints had (so an old config.json loads unchanged).
 */
function optionalFieldDefaults(cfg: ModelConfig): Partial<ModelConfig> {
  return {
    attnOutputBias: cfg.attnBias,
    ffnBias: true,
    finalNorm: cfg.normPlacement === "pre",
    sinusoidLayout: "interleaved",
    outputBias: false,
  };
}

/** A value for an error message: JSON, cut to 40 characters. */
function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/**
 * Checks a config (e.g. read from a checkpoint's config.json) and returns it with the
 * optional fields filled in; errors name the field.
 */
export function validateConfig(raw: ModelConfig): ModelConfig {
  const bad = (field: string, why: string): never => {
    throw new AttnError(`model config: ${field} ${why}`);
  };
  if (raw === null || typeof raw !== "object") bad("", "must be an object");
  const cfg = { ...raw } as ModelConfig;
  for (const [k, v] of Object.entries(optionalFieldDefaults(cfg))) {
    const rec = cfg as unknown as Record<string, unknown>;
    if (rec[k] === undefined) rec[k] = v;
  }
  if (cfg.kind !== "encdec" && cfg.kind !== "gpt")
    bad(
      "kind",
      `must be "encdec" or "gpt", got ${JSON.stringify((cfg as { kind?: unknown }).kind)}`,
    );
  const ints: string[] = ["vocabSize", "dModel", "heads", "dFF", "maxLen"];
  ints.push(...(cfg.kind === "encdec" ? ["encoderLayers", "decoderLayers"] : ["layers"]));
  for (const f of ints) {
    const v = (cfg as unknown as Record<string, unknown>)[f];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1)
      bad(f, `must be a positive integer, got ${short(v)}`);
    if ((v as number) > LIMITS[f]) bad(f, `is ${v}, above the limit of ${LIMITS[f]}`);
  }
  for (const f of ["dropout", "attnDropout"]) {
    const v = (cfg as unknown as Record<string, number>)[f];
    if (!(typeof v === "number" && v >= 0 && v < 1))
      bad(f, `must be in [0, 1), got ${JSON.stringify(v)}`);
  }
  if (cfg.dModel % cfg.heads !== 0) {
    bad(
      "dModel",
      `${cfg.dModel} is not divisible by heads ${cfg.heads} (each head gets d_model / heads dimensions)`,
    );
  }
  if (cfg.normPlacement !== "post" && cfg.normPlacement !== "pre")
    bad("normPlacement", `must be "post" or "pre"`);
  if (!POSITIONALS.includes(cfg.positional))
    bad("positional", `must be one of ${POSITIONALS.join(", ")}`);
  if (cfg.positional === "rope" && (cfg.dModel / cfg.heads) % 2 !== 0)
    bad("positional", "rope needs an even head dimension");
  if (!INITS.includes(cfg.init)) bad("init", `must be one of ${INITS.join(", ")}`);
  if (!ACTIVATIONS.includes(cfg.activation))
    bad("activation", `must be one of ${ACTIVATIONS.join(", ")}`);
  const bools = ["attnBias", "attnOutputBias", "ffnBias", "finalNorm", "outputBias", "tieOutput"];
  bools.push("scaleEmbedding", ...(cfg.kind === "encdec" ? ["shareEmbeddings"] : []));
  for (const f of bools) {
    const v = (cfg as unknown as Record<string, unknown>)[f];
    if (typeof v !== "boolean") bad(f, `must be true or false, got ${short(v)}`);
  }
  const eps = cfg.lnEps as unknown;
  if (typeof eps !== "number" || !(eps > 0 && eps <= 0.1))
    bad("lnEps", `must be a number in (0, 0.1], got ${short(eps)}`);
  if (!Number.isInteger(cfg.seed) || cfg.seed < 0 || cfg.seed > 0xffffffff)
    bad("seed", `must be an integer in 0..4294967295, got ${short(cfg.seed)}`);
  if (!LAYOUTS.includes(cfg.sinusoidLayout))
    bad("sinusoidLayout", `must be one of ${LAYOUTS.join(", ")}`);
  for (const f of ["padId", "bosId", "eosId"]) {
    const v = (cfg as unknown as Record<string, number>)[f];
    if (!Number.isInteger(v) || v < 0 || v >= cfg.vocabSize)
      bad(f, `${short(v)} is outside the vocabulary of ${cfg.vocabSize}`);
  }
  // Each tensor must fit one buffer: the embedding table, the FFN matrices, the position table.
  for (const [field, what, n] of [
    ["vocabSize", "× dModel (the embedding table)", cfg.vocabSize * cfg.dModel],
    ["dFF", "× dModel (a feed-forward matrix)", cfg.dModel * cfg.dFF],
    ["maxLen", "× dModel (the position table)", cfg.maxLen * cfg.dModel],
  ] as const) {
    if (n > MAX_TENSOR_ELEMENTS)
      bad(
        field,
        `${what} is ${n.toLocaleString("en-US")} values, more than one tensor can hold (${MAX_TENSOR_ELEMENTS.toLocaleString("en-US")})`,
      );
  }
  return cfg;
}

/** An encoder-decoder preset, typed as such (errors if the preset is a GPT). */
export function encoderDecoderPreset(
  name: string,
  overrides: Partial<EncoderDecoderConfig> = {},
): EncoderDecoderConfig {
  const cfg = presetConfig(name, overrides);
  if (cfg.kind !== "encdec") throw new AttnError(`preset "${name}" is not an encoder-decoder`);
  return cfg;
}

/** A GPT preset, typed as such (errors if the preset is an encoder-decoder). */
export function gptPreset(name: string, overrides: Partial<GPTConfig> = {}): GPTConfig {
  const cfg = presetConfig(name, overrides);
  if (cfg.kind !== "gpt") throw new AttnError(`preset "${name}" is not a GPT`);
  return cfg;
}
