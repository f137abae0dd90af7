/**
 * Byte tokenizer: text is encoded as UTF-8 and each byte b is the token 4 + b (ids 4..259).
 * Any string round-trips (lone surrogates, which are not valid Unicode, become U+FFFD).
 */
import {
  type ByteTokenizerJSON,
  checkCommonFields,
  checkId,
  type DecodeOptions,
  decodeByteTokens,
  displayBytes,
  type EncodeOptions,
  NUM_SPECIAL,
  SPECIAL_TOKENS,
  type Tokenizer,
  TOKENIZER_FORMAT_VERSION,
  utf8Encoder,
  withSpecials,
} from "./tokenizer.js";

/** Number of byte tokens and the vocabulary size of the byte tokenizer (4 + 256). */
export const BYTE_VOCAB_SIZE = NUM_SPECIAL + 256;

/** Bytes of each id of the byte vocabulary: empty for the special tokens, [b] for id 4 + b. */
export function byteTokenTable(): Uint8Array[] {
  const table: Uint8Array[] = [];
  for (let i = 0; i < NUM_SPECIAL; i++) table.push(new Uint8Array(0));
  for (let b = 0; b < 256; b++) table.push(Uint8Array.of(b));
  return table;
}

/** Display strings -> ids, for tokenToId of byte-level tokenizers (first id wins). */
export function displayIndex(tokenBytes: readonly Uint8Array[]): Map<string, number> {
  const map = new Map<string, number>();
  for (let id = NUM_SPECIAL; id < tokenBytes.length; id++) {
    const s = displayBytes(tokenBytes[id]);
    if (!map.has(s)) map.set(s, id);
  }
  return map;
}

export class ByteTokenizer implements Tokenizer {
  readonly type = "byte" as const;
  readonly vocabSize = BYTE_VOCAB_SIZE;
  private readonly tokenBytes = byteTokenTable();
  private displays: Map<string, number> | undefined;

  encode(text: string, opts?: EncodeOptions): number[] {
    const bytes = utf8Encoder.encode(text);
    const out = new Array<number>(bytes.length);
    for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] + NUM_SPECIAL;
    return withSpecials(out, opts);
  }

  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string {
    return decodeByteTokens(ids, this.tokenBytes, opts, "byte tokenizer decode");
  }

  /**
   * Accepts a special token's name, a token as idToToken shows it ("a", "␣", "\n", "\xE2"), or
   * else a one-byte string as raw text.
   */
  tokenToId(token: string): number | undefined {
    const special = SPECIAL_TOKENS.indexOf(token);
    if (special >= 0) return special;
    this.displays ??= displayIndex(this.tokenBytes);
    const id = this.displays.get(token);
    if (id !== undefined) return id;
    const bytes = utf8Encoder.encode(token);
    return bytes.length === 1 ? bytes[0] + NUM_SPECIAL : undefined;
  }

  idToToken(id: number): string {
    checkId(id, this.vocabSize, "byte tokenizer idToToken");
    return id < NUM_SPECIAL ? SPECIAL_TOKENS[id] : displayBytes(this.tokenBytes[id]);
  }

  /** The raw bytes of a token (empty for special tokens). */
  tokenBytesOf(id: number): Uint8Array {
    checkId(id, this.vocabSize, "byte tokenizer tokenBytesOf");
    return this.tokenBytes[id].slice();
  }

  toJSON(): ByteTokenizerJSON {
    return {
      type: "byte",
      version: TOKENIZER_FORMAT_VERSION,
      specialTokens: [...SPECIAL_TOKENS],
      vocabSize: this.vocabSize,
    };
  }

  /** Builds a tokenizer from a parsed tokenizer.json object with type "byte". */
  static fromJSON(obj: Record<string, unknown>): ByteTokenizer {
    checkCommonFields(obj)(BYTE_VOCAB_SIZE);
    return new ByteTokenizer();
  }
}

export function createByteTokenizer(): ByteTokenizer {
  return new ByteTokenizer();
}
