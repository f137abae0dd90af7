/**
 * SentencePiece unigram models (Kudo 2018), as MarianMT / opus-mt ship them: `source.spm`
 * and `target.spm` (SentencePiece's ModelProto protobuf) and one `vocab.json` that numbers
 * the pieces of both sides for the shared embedding.
 *
 * Encoding: normalise (NFKC for the nmt_nfkc rule), collapse whitespace, prefix "▁", write
 * spaces as "▁", then the Viterbi segmentation that maximises the sum of piece log-probabilities
 * (an unknown character costs the lowest score − 10, runs of unknowns are one <unk>).
 * Decoding: join the pieces, "▁" back to spaces, drop the leading one.
 */
import protobuf from "protobufjs/light.js";
import { AttnError } from "../errors.js";
import {
  badJSON,
  checkId,
  type DecodeOptions,
  type EncodeOptions,
  isPlainObject,
  requireField,
  requireStringArray,
  type Tokenizer,
  TOKENIZER_FORMAT_VERSION,
} from "./tokenizer.js";

/** One side's unigram model: its pieces and scores, and how text is normalised first. */
export interface UnigramModel {
  /** [piece, log-probability]; only NORMAL and USER_DEFINED pieces (control/unknown ones are not matched in text). */
  pieces: [string, number][];
  /** The normaliser's rule name: "nmt_nfkc", "nfkc", "identity", ... */
  normalizer: string;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
}

export interface SentencePieceTokenizerJSON {
  type: "sentencepiece";
  version: number;
  vocabSize: number;
  /** tokens[id]: the vocabulary shared by both sides (vocab.json). */
  tokens: string[];
  /** Ids of the special tokens: "</s>", "<unk>", "<pad>" in opus-mt. */
  eos: number;
  unk: number;
  pad: number;
  source: UnigramModel;
  target: UnigramModel;
  /** The original source.spm and target.spm, base64 (written back by export). */
  files?: { source: string; target: string };
}

// The part of sentencepiece_model.proto that encoding needs (field numbers from that file).
const SPM_SCHEMA = protobuf.Root.fromJSON({
  nested: {
    ModelProto: {
      fields: {
        pieces: { rule: "repeated", type: "SentencePiece", id: 1 },
        trainerSpec: { type: "TrainerSpec", id: 2 },
        normalizerSpec: { type: "NormalizerSpec", id: 3 },
      },
      nested: {
        SentencePiece: {
          fields: {
            piece: { type: "string", id: 1 },
            score: { type: "float", id: 2 },
            type: { type: "int32", id: 3, options: { default: 1 } },
          },
        },
      },
    },
    TrainerSpec: {
      fields: {
        modelType: { type: "int32", id: 3, options: { default: 1 } },
        byteFallback: { type: "bool", id: 35 },
      },
    },
    NormalizerSpec: {
      fields: {
        name: { type: "string", id: 1 },
        addDummyPrefix: { type: "bool", id: 3, options: { default: true } },
        removeExtraWhitespaces: { type: "bool", id: 4, options: { default: true } },
        escapeWhitespaces: { type: "bool", id: 5, options: { default: true } },
      },
    },
  },
}).lookupType("ModelProto");

const NORMAL = 1;
const USER_DEFINED = 4;
const UNIGRAM = 1;

/** Reads a SentencePiece model file (the bytes of e.g. source.spm). */
export function readUnigramModel(bytes: Uint8Array, file: string): UnigramModel {
  let msg: Record<string, unknown>;
  try {
    msg = SPM_SCHEMA.toObject(SPM_SCHEMA.decode(bytes), { defaults: true }) as Record<
      string,
      unknown
    >;
  } catch (e) {
    throw new AttnError(`${file}: not a SentencePiece model (${(e as Error).message})`);
  }
  const trainer = msg.trainerSpec as { modelType: number; byteFallback: boolean } | undefined;
  if (trainer && trainer.modelType !== UNIGRAM)
    throw new AttnError(
      `${file}: SentencePiece model type ${trainer.modelType} is not unigram (1), the only one read here`,
    );
  if (trainer?.byteFallback) throw new AttnError(`${file}: byte fallback is not supported`);
  const norm = (msg.normalizerSpec ?? {}) as {
    name?: string;
    addDummyPrefix?: boolean;
    removeExtraWhitespaces?: boolean;
    escapeWhitespaces?: boolean;
  };
  if (norm.escapeWhitespaces === false)
    throw new AttnError(`${file}: escape_whitespaces=false is not supported`);
  const pieces: [string, number][] = [];
  for (const p of (msg.pieces ?? []) as { piece: string; score: number; type: number }[]) {
    if (p.type === NORMAL || p.type === USER_DEFINED) pieces.push([p.piece, p.score]);
  }
  if (pieces.length === 0) throw new AttnError(`${file}: the model has no pieces`);
  return {
    pieces,
    normalizer: norm.name || "identity",
    addDummyPrefix: norm.addDummyPrefix ?? true,
    removeExtraWhitespaces: norm.removeExtraWhitespaces ?? true,
  };
}

const SPACE = "\u2581"; // "▁"
const UNK_PENALTY = 10;

/** Viterbi segmentation of normalised text with one unigram model. */
class Segmenter {
  private readonly scores = new Map<string, number>();
  private readonly maxLen: number;
  private readonly unkScore: number;

  constructor(readonly model: UnigramModel) {
    let min = 0;
    let maxLen = 1;
    for (const [p, s] of model.pieces) {
      this.scores.set(p, s);
      min = Math.min(min, s);
      maxLen = Math.max(maxLen, [...p].length);
    }
    this.maxLen = maxLen;
    this.unkScore = min - UNK_PENALTY;
  }

  normalize(text: string): string {
    let t = text;
    if (/nfkc/i.test(this.model.normalizer)) t = t.normalize("NFKC");
    if (this.model.normalizer.startsWith("nmt")) {
      // NMT rules: drop control characters, every whitespace character becomes a space.
      t = t.replace(/[^\P{Cc}\t\n\r]/gu, "").replace(/\s/gu, " ");
    }
    if (this.model.removeExtraWhitespaces) t = t.trim().replace(/ {2,}/g, " ");
    if (t.length === 0) return "";
    if (this.model.addDummyPrefix) t = ` ${t}`;
    return t.replaceAll(" ", SPACE);
  }

  /** Pieces of the text; null marks an unknown run (the piece is its characters). */
  segment(text: string): { piece: string; known: boolean }[] {
    const chars = [...this.normalize(text)];
    const n = chars.length;
    const best = new Float64Array(n + 1).fill(Number.NEGATIVE_INFINITY);
    const from = new Int32Array(n + 1);
    const known = new Uint8Array(n + 1);
    best[0] = 0;
    for (let i = 0; i < n; i++) {
      if (best[i] === Number.NEGATIVE_INFINITY) continue;
      let piece = "";
      let matched = false;
      for (let len = 1; len <= this.maxLen && i + len <= n; len++) {
        piece += chars[i + len - 1];
        const s = this.scores.get(piece);
        if (s === undefined) continue;
        if (len === 1) matched = true;
        if (best[i] + s > best[i + len]) {
          best[i + len] = best[i] + s;
          from[i + len] = i;
          known[i + len] = 1;
        }
      }
      if (!matched && best[i] + this.unkScore > best[i + 1]) {
        best[i + 1] = best[i] + this.unkScore;
        from[i + 1] = i;
        known[i + 1] = 0;
      }
    }
    const out: { piece: string; known: boolean }[] = [];
    for (let end = n; end > 0; end = from[end]) {
      out.push({ piece: chars.slice(from[end], end).join(""), known: known[end] === 1 });
    }
    out.reverse();
    // Consecutive unknown characters are one unknown piece.
    const merged: { piece: string; known: boolean }[] = [];
    for (const p of out) {
      const last = merged[merged.length - 1];
      if (last && !last.known && !p.known) last.piece += p.piece;
      else merged.push({ ...p });
    }
    return merged;
  }
}

export class SentencePieceTokenizer implements Tokenizer {
  readonly type = "sentencepiece" as const;
  readonly vocabSize: number;
  private readonly ids = new Map<string, number>();
  private readonly source: Segmenter;
  private readonly target: Segmenter;

  constructor(
    readonly tokens: readonly string[],
    readonly special: { eos: number; unk: number; pad: number },
    sourceModel: UnigramModel,
    targetModel: UnigramModel,
    /** The .spm files the models came from, kept to be written back unchanged. */
    readonly files?: { source: Uint8Array; target: Uint8Array },
  ) {
    this.vocabSize = tokens.length;
    tokens.forEach((t, id) => {
      if (!this.ids.has(t)) this.ids.set(t, id);
    });
    for (const [name, id] of Object.entries(special))
      checkId(id, this.vocabSize, `sentencepiece tokenizer ${name}`);
    this.source = new Segmenter(sourceModel);
    this.target = new Segmenter(targetModel);
  }

  /** The source side's pieces by default; `side: "target"` uses the target model (labels). */
  encode(text: string, opts?: EncodeOptions): number[] {
    if (opts?.bos) throw new AttnError("sentencepiece tokenizer: BOS comes from the model config");
    const seg = opts?.side === "target" ? this.target : this.source;
    const out = seg
      .segment(text)
      .map((p) => (p.known ? (this.ids.get(p.piece) ?? this.special.unk) : this.special.unk));
    if (opts?.eos) out.push(this.special.eos);
    return out;
  }

  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string {
    const specials = new Set([this.special.eos, this.special.unk, this.special.pad]);
    let s = "";
    for (let i = 0; i < ids.length; i++) {
      checkId(ids[i], this.vocabSize, "sentencepiece tokenizer decode");
      if (specials.has(ids[i]) && !opts?.keepSpecial) continue;
      s += this.tokens[ids[i]];
    }
    s = s.replaceAll(SPACE, " ");
    return s.startsWith(" ") ? s.slice(1) : s;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token) ?? this.ids.get(token.replaceAll(" ", SPACE));
  }

  idToToken(id: number): string {
    checkId(id, this.vocabSize, "sentencepiece tokenizer idToToken");
    return this.tokens[id];
  }

  toJSON(): SentencePieceTokenizerJSON {
    return {
      type: "sentencepiece",
      version: TOKENIZER_FORMAT_VERSION,
      vocabSize: this.vocabSize,
      tokens: [...this.tokens],
      ...this.special,
      source: this.source.model,
      target: this.target.model,
      ...(this.files && {
        files: { source: toBase64(this.files.source), target: toBase64(this.files.target) },
      }),
    };
  }

  static fromJSON(obj: Record<string, unknown>): SentencePieceTokenizer {
    if (requireField(obj, "version") !== TOKENIZER_FORMAT_VERSION)
      badJSON(`unsupported version ${JSON.stringify(obj.version)}`);
    const tokens = requireStringArray(obj, "tokens");
    const side = (name: string): UnigramModel => {
      const m = requireField(obj, name);
      if (!isPlainObject(m) || !Array.isArray(m.pieces) || typeof m.normalizer !== "string")
        badJSON(`field "${name}" must be a unigram model ({pieces, normalizer, ...})`);
      for (const p of m.pieces as unknown[]) {
        if (!Array.isArray(p) || typeof p[0] !== "string" || typeof p[1] !== "number")
          badJSON(`field "${name}".pieces must hold [piece, score] pairs`);
      }
      return {
        pieces: m.pieces as [string, number][],
        normalizer: m.normalizer as string,
        addDummyPrefix: m.addDummyPrefix !== false,
        removeExtraWhitespaces: m.removeExtraWhitespaces !== false,
      };
    };
    const id = (name: string) => {
      const v = requireField(obj, name);
      if (typeof v !== "number" || !Number.isInteger(v))
        badJSON(`field "${name}" must be a token id`);
      return v as number;
    };
    const files = () => {
      const f = obj.files as { source?: unknown; target?: unknown } | undefined;
      if (f === undefined) return undefined;
      if (typeof f?.source !== "string" || typeof f?.target !== "string")
        badJSON(`field "files" must hold base64 strings "source" and "target"`);
      return { source: fromBase64(f.source as string), target: fromBase64(f.target as string) };
    };
    try {
      return new SentencePieceTokenizer(
        tokens,
        { eos: id("eos"), unk: id("unk"), pad: id("pad") },
        side("source"),
        side("target"),
        files(),
      );
    } catch (e) {
      if (e instanceof AttnError) badJSON(e.message);
      throw e;
    }
  }
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  let s: string;
  try {
    s = atob(text);
  } catch {
    return badJSON(`field "files" is not valid base64`);
  }
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
