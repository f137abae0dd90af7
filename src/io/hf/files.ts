/**
 * Hugging Face model directories on disk (Node only): read one as our config, weights and
 * tokenizer; write ours as one. The name maps are in ./gpt2.ts and ./marian.ts.
 */
import fs from "node:fs";
import path from "node:path";
import { AttnError } from "../../errors.js";
import type { EncoderDecoderConfig, GPTConfig, ModelConfig } from "../../models/config.js";
import {
  Gpt2Tokenizer,
  readUnigramModel,
  SentencePieceTokenizer,
  type Tokenizer,
  tokenizerFromJSON,
} from "../../tokenizers/index.js";
import { writeDirectoryAtomic } from "../atomic-dir.js";
import {
  parseSafetensors,
  serializeSafetensors,
  type TensorToWrite,
  weightValues,
} from "../safetensors-format.js";
import { gpt2FromHf, gpt2ToHf } from "./gpt2.js";
import { marianFromHf, marianToHf } from "./marian.js";
import type { Weights } from "./weights.js";

export type HfFamily = "hf-gpt2" | "hf-marian";
export const HF_FAMILIES: readonly HfFamily[] = ["hf-gpt2", "hf-marian"];

/** Our tokenizer.json, in an exported directory whose tokenizer HF has no class for. */
export const OUR_TOKENIZER_FILE = "attn_tokenizer.json";

type Json = Record<string, unknown>;

export interface HfImport {
  config: ModelConfig;
  weights: Weights;
  /** null when the directory has no tokenizer files. */
  tokenizer: Tokenizer | null;
  warnings: string[];
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new AttnError(
      `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AttnError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

const has = (dir: string, f: string) => fs.existsSync(path.join(dir, f));

/** Every tensor of model.safetensors (or of the shards its index names), as float32. */
function readWeights(dir: string): Weights {
  const files: string[] = [];
  if (has(dir, "model.safetensors")) files.push("model.safetensors");
  else if (has(dir, "model.safetensors.index.json")) {
    const index = readJson(path.join(dir, "model.safetensors.index.json")) as { weight_map?: Json };
    files.push(...new Set(Object.values(index.weight_map ?? {}) as string[]));
  } else if (has(dir, "pytorch_model.bin")) {
    throw new AttnError(
      `${dir}: only pytorch_model.bin (a pickle) is there; save it as safetensors first (model.save_pretrained(dir, safe_serialization=True))`,
    );
  } else throw new AttnError(`${dir}: no model.safetensors`);
  const w: Weights = new Map();
  for (const f of files) {
    const file = path.join(dir, f);
    const parsed = parseSafetensors(fs.readFileSync(file), { source: file });
    for (const [name, t] of parsed.tensors)
      w.set(name, { shape: t.shape.slice(), values: weightValues(t, name, file) });
  }
  return w;
}

/** Added tokens that tokenizer_config.json or tokenizer.json names and the vocabulary holds. */
function addedTokens(dir: string, vocab: Json): string[] {
  const out = new Set<string>();
  if (has(dir, "tokenizer_config.json")) {
    const c = readJson(path.join(dir, "tokenizer_config.json")) as {
      added_tokens_decoder?: Record<string, { content?: string }>;
    };
    for (const t of Object.values(c.added_tokens_decoder ?? {}))
      if (t.content && t.content in vocab) out.add(t.content);
  }
  if (out.size === 0 && "<|endoftext|>" in vocab) out.add("<|endoftext|>");
  return [...out];
}

function gpt2Tokenizer(dir: string, warnings: string[]): Tokenizer | null {
  if (has(dir, OUR_TOKENIZER_FILE))
    return tokenizerFromJSON(readJson(path.join(dir, OUR_TOKENIZER_FILE)));
  if (has(dir, "vocab.json") && has(dir, "merges.txt")) {
    const vocab = readJson(path.join(dir, "vocab.json")) as Json;
    const merges = fs.readFileSync(path.join(dir, "merges.txt"), "utf8");
    return Gpt2Tokenizer.fromFiles(vocab, merges, addedTokens(dir, vocab));
  }
  if (has(dir, "tokenizer.json")) {
    const t = readJson(path.join(dir, "tokenizer.json")) as {
      model?: { type?: string; vocab?: Json; merges?: (string | string[])[] };
      added_tokens?: { content: string }[];
    };
    if (t.model?.type !== "BPE" || !t.model.vocab || !t.model.merges)
      throw new AttnError(`${dir}/tokenizer.json: not a BPE tokenizer`);
    const merges = t.model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m)).join("\n");
    const added = (t.added_tokens ?? []).map((a) => a.content).filter((c) => c in t.model!.vocab!);
    return Gpt2Tokenizer.fromFiles(t.model.vocab, merges, added);
  }
  warnings.push(
    `${dir}: no vocab.json + merges.txt or tokenizer.json; the checkpoint has no tokenizer`,
  );
  return null;
}

function marianTokenizer(dir: string, warnings: string[]): Tokenizer | null {
  if (has(dir, OUR_TOKENIZER_FILE))
    return tokenizerFromJSON(readJson(path.join(dir, OUR_TOKENIZER_FILE)));
  if (!has(dir, "source.spm") || !has(dir, "target.spm") || !has(dir, "vocab.json")) {
    warnings.push(
      `${dir}: no source.spm, target.spm and vocab.json; the checkpoint has no tokenizer`,
    );
    return null;
  }
  if (has(dir, "target_vocab.json"))
    throw new AttnError(
      `${dir}: separate source and target vocabularies (target_vocab.json) are not supported`,
    );
  const vocab = readJson(path.join(dir, "vocab.json")) as Record<string, number>;
  const tokens: string[] = [];
  for (const [t, id] of Object.entries(vocab)) tokens[id] = t;
  const id = (t: string) => {
    if (!(t in vocab)) throw new AttnError(`${dir}/vocab.json: no ${t}`);
    return vocab[t];
  };
  const spm = (f: string) => fs.readFileSync(path.join(dir, f));
  return new SentencePieceTokenizer(
    tokens,
    { eos: id("</s>"), unk: id("<unk>"), pad: id("<pad>") },
    readUnigramModel(spm("source.spm"), path.join(dir, "source.spm")),
    readUnigramModel(spm("target.spm"), path.join(dir, "target.spm")),
    { source: spm("source.spm"), target: spm("target.spm") },
  );
}

/** Reads a Hugging Face model directory of the given family. */
export function importHf(family: HfFamily, dir: string): HfImport {
  const where = `${dir}: `;
  const c = readJson(path.join(dir, "config.json")) as Json;
  const hf = readWeights(dir);
  const warnings: string[] = [];
  const { config, weights } =
    family === "hf-gpt2" ? gpt2FromHf(c, hf, where) : marianFromHf(c, hf, where);
  const tokenizer =
    family === "hf-gpt2" ? gpt2Tokenizer(dir, warnings) : marianTokenizer(dir, warnings);
  if (tokenizer && tokenizer.vocabSize !== config.vocabSize)
    throw new AttnError(
      `${dir}: the tokenizer has ${tokenizer.vocabSize} ids, config.json's vocab_size is ${config.vocabSize}`,
    );
  return { config, weights, tokenizer, warnings };
}

const enc = (v: unknown) => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);

/** The files of an HF model directory for our model (config, weights, tokenizer). */
export function hfFiles(
  family: HfFamily,
  config: ModelConfig,
  weights: Weights,
  tokenizer: Tokenizer | null,
): Map<string, Uint8Array> {
  if (family === "hf-gpt2" && config.kind !== "gpt")
    throw new AttnError(
      "export --to hf-gpt2: the checkpoint is an encoder-decoder (try --to hf-marian)",
    );
  if (family === "hf-marian" && config.kind !== "encdec")
    throw new AttnError("export --to hf-marian: the checkpoint is a GPT (try --to hf-gpt2)");
  const out =
    family === "hf-gpt2"
      ? gpt2ToHf(config as GPTConfig, weights)
      : marianToHf(config as EncoderDecoderConfig, weights);
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, t] of [...out.weights].sort(([a], [b]) => (a < b ? -1 : 1)))
    tensors.set(name, { dtype: "F32", shape: t.shape, data: t.values });
  const files = new Map<string, Uint8Array>();
  files.set("config.json", enc(out.config));
  files.set("model.safetensors", serializeSafetensors(tensors, { format: "pt" }));
  if (tokenizer instanceof Gpt2Tokenizer) {
    const { vocab, merges } = tokenizer.toFiles();
    files.set("vocab.json", enc(vocab));
    files.set("merges.txt", new TextEncoder().encode(merges));
    files.set(
      "tokenizer_config.json",
      enc({ tokenizer_class: "GPT2Tokenizer", model_max_length: config.maxLen }),
    );
  } else if (tokenizer instanceof SentencePieceTokenizer && tokenizer.files) {
    const vocab: Record<string, number> = {};
    tokenizer.tokens.forEach((t, i) => {
      if (!(t in vocab)) vocab[t] = i;
    });
    files.set("vocab.json", enc(vocab));
    files.set("source.spm", tokenizer.files.source);
    files.set("target.spm", tokenizer.files.target);
    files.set(
      "tokenizer_config.json",
      enc({ tokenizer_class: "MarianTokenizer", model_max_length: config.maxLen }),
    );
  } else if (tokenizer) {
    // Our own tokenizers have no HF class: keep ours beside the model (import reads it back).
    files.set(OUR_TOKENIZER_FILE, enc(tokenizer.toJSON()));
  }
  return files;
}

/** Writes our model as an HF directory, atomically. */
export function exportHf(
  family: HfFamily,
  outDir: string,
  config: ModelConfig,
  weights: Weights,
  tokenizer: Tokenizer | null,
): void {
  writeDirectoryAtomic(outDir, hfFiles(family, config, weights, tokenizer), {
    replaceable: (d) => has(d, "config.json") && has(d, "model.safetensors"),
    refusal:
      "it exists and is not a model directory (no config.json and model.safetensors); refusing to replace it",
    what: "export",
  });
}
