/**
 * GPT-2's byte-level BPE as Hugging Face files give it: `vocab.json` (token → id) and
 * `merges.txt` (one "left right" pair per line, by rank), tokens written in GPT-2's
 * byte-to-character alphabet (Radford et al. 2019, §2.2; the table below).
 *
 * Unlike this library's own tokenizers, ids are whatever the vocabulary says: special tokens
 * such as "<|endoftext|>" sit anywhere, and the model config names BOS/EOS/PAD.
 */
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
  utf8Decoder,
  utf8Encoder,
} from "./tokenizer.js";

export interface Gpt2TokenizerJSON {
  type: "gpt2";
  version: number;
  vocabSize: number;
  /** tokens[id], in GPT-2's byte alphabet (added tokens as written). */
  tokens: string[];
  /** "left right", lowest rank first. */
  merges: string[];
  /** Added (special) tokens, matched in text before BPE: e.g. ["<|endoftext|>"]. */
  added: string[];
}

/**
 * GPT-2's printable stand-in for each byte: printable Latin-1 bytes stand for themselves, the
 * other 68 bytes take the characters from U+0100 on, in byte order.
 */
function byteAlphabet(): string[] {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : next++);
  return out;
}

const BYTE_CHAR = byteAlphabet();
const CHAR_BYTE = new Map(BYTE_CHAR.map((c, b) => [c, b]));

/** GPT-2's pre-tokenizer: contractions, letters, digits, other symbols, whitespace runs. */
const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const CACHE_LIMIT = 100_000;

export class Gpt2Tokenizer implements Tokenizer {
  readonly type = "gpt2" as const;
  readonly vocabSize: number;
  private readonly ids = new Map<string, number>();
  private readonly ranks = new Map<string, number>();
  private readonly addedIds: Set<number>;
  private readonly addedPattern: RegExp | null;
  private readonly cache = new Map<string, number[]>();

  constructor(
    readonly tokens: readonly string[],
    readonly merges: readonly string[],
    readonly added: readonly string[],
  ) {
    this.vocabSize = tokens.length;
    tokens.forEach((t, id) => {
      if (this.ids.has(t)) throw new AttnError(`gpt2 tokenizer: token ${JSON.stringify(t)} twice`);
      this.ids.set(t, id);
    });
    merges.forEach((m, rank) => {
      const parts = m.split(" ");
      if (parts.length !== 2 || !parts[0] || !parts[1])
        throw new AttnError(`gpt2 tokenizer: merge ${rank + 1} ${JSON.stringify(m)} is not "a b"`);
      if (!this.ranks.has(m)) this.ranks.set(m, rank);
    });
    this.addedIds = new Set(
      added.map((a) => {
        const id = this.ids.get(a);
        if (id === undefined)
          throw new AttnError(
            `gpt2 tokenizer: added token ${JSON.stringify(a)} is not in the vocabulary`,
          );
        return id;
      }),
    );
    const escaped = [...added]
      .sort((a, b) => b.length - a.length)
      .map((a) => a.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    this.addedPattern = escaped.length ? new RegExp(`(${escaped.join("|")})`, "u") : null;
  }

  /** From `vocab.json` (parsed) and the text of `merges.txt`. */
  static fromFiles(vocab: unknown, mergesText: string, added: string[] = []): Gpt2Tokenizer {
    if (!isPlainObject(vocab)) throw new AttnError("vocab.json: expected an object of token → id");
    const entries = Object.entries(vocab);
    const tokens = new Array<string>(entries.length);
    for (const [t, id] of entries) {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= entries.length)
        throw new AttnError(
          `vocab.json: id of ${JSON.stringify(t)} is ${JSON.stringify(id)}; ids must be 0..${entries.length - 1} without gaps`,
        );
      if (tokens[id] !== undefined)
        throw new AttnError(`vocab.json: id ${id} is given to two tokens`);
      tokens[id] = t;
    }
    const merges = mergesText
      .split("\n")
      .map((l) => l.replace(/\r$/, ""))
      .filter((l) => l.length > 0 && !l.startsWith("#version"));
    return new Gpt2Tokenizer(tokens, merges, added);
  }

  /** `vocab.json` and `merges.txt` contents, as Hugging Face writes them. */
  toFiles(): { vocab: Record<string, number>; merges: string } {
    const vocab: Record<string, number> = {};
    this.tokens.forEach((t, id) => {
      vocab[t] = id;
    });
    return { vocab, merges: `#version: 0.2\n${this.merges.join("\n")}\n` };
  }

  encode(text: string, opts?: EncodeOptions): number[] {
    const out: number[] = [];
    if (opts?.bos)
      throw new AttnError("gpt2 tokenizer: BOS comes from the model config, not the tokenizer");
    const parts = this.addedPattern ? text.split(this.addedPattern) : [text];
    parts.forEach((part, i) => {
      if (i % 2 === 1) {
        out.push(this.ids.get(part)!);
        return;
      }
      for (const chunk of part.match(GPT2_PATTERN) ?? []) {
        let ids = this.cache.get(chunk);
        if (!ids) {
          ids = this.encodeChunk(chunk);
          if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
          this.cache.set(chunk, ids);
        }
        for (const id of ids) out.push(id);
      }
    });
    if (opts?.eos)
      throw new AttnError("gpt2 tokenizer: EOS comes from the model config, not the tokenizer");
    return out;
  }

  /** BPE on one chunk: merge the lowest-ranked adjacent pair (every occurrence) until none is left. */
  private encodeChunk(chunk: string): number[] {
    let word = Array.from(utf8Encoder.encode(chunk), (b) => BYTE_CHAR[b]);
    while (word.length > 1) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const a = word[best];
      const b = word[best + 1];
      const next: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          next.push(a + b);
          i += 2;
        } else next.push(word[i++]);
      }
      word = next;
    }
    return word.map((t) => {
      const id = this.ids.get(t);
      if (id === undefined)
        throw new AttnError(`gpt2 tokenizer: token ${JSON.stringify(t)} is not in the vocabulary`);
      return id;
    });
  }

  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string {
    let text = "";
    const bytes: number[] = [];
    const flush = () => {
      text += utf8Decoder.decode(Uint8Array.from(bytes));
      bytes.length = 0;
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      checkId(id, this.vocabSize, "gpt2 tokenizer decode");
      if (this.addedIds.has(id)) {
        if (opts?.keepSpecial) {
          flush();
          text += this.tokens[id];
        }
        continue;
      }
      for (const ch of this.tokens[id]) {
        const b = CHAR_BYTE.get(ch);
        if (b !== undefined) bytes.push(b);
      }
    }
    flush();
    return text;
  }

  tokenToId(token: string): number | undefined {
    const direct = this.ids.get(token);
    if (direct !== undefined) return direct;
    return this.ids.get(Array.from(utf8Encoder.encode(token), (b) => BYTE_CHAR[b]).join(""));
  }

  idToToken(id: number): string {
    checkId(id, this.vocabSize, "gpt2 tokenizer idToToken");
    if (this.addedIds.has(id)) return this.tokens[id];
    return this.decode([id]);
  }

  toJSON(): Gpt2TokenizerJSON {
    return {
      type: "gpt2",
      version: TOKENIZER_FORMAT_VERSION,
      vocabSize: this.vocabSize,
      tokens: [...this.tokens],
      merges: [...this.merges],
      added: [...this.added],
    };
  }

  static fromJSON(obj: Record<string, unknown>): Gpt2Tokenizer {
    if (requireField(obj, "version") !== TOKENIZER_FORMAT_VERSION)
      badJSON(`unsupported version ${JSON.stringify(obj.version)}`);
    const tokens = requireStringArray(obj, "tokens");
    if (obj.vocabSize !== undefined && obj.vocabSize !== tokens.length)
      badJSON(
        `field "vocabSize" is ${JSON.stringify(obj.vocabSize)} but there are ${tokens.length} tokens`,
      );
    try {
      return new Gpt2Tokenizer(
        tokens,
        requireStringArray(obj, "merges"),
        requireStringArray(obj, "added"),
      );
    } catch (e) {
      if (e instanceof AttnError) badJSON(e.message);
      throw e;
    }
  }
}
