/**
 * Shared pieces of the tokenizers: the special token ids, the Tokenizer interface, the shapes of
 * `tokenizer.json`, and helpers for validation, UTF-8 and displaying byte tokens.
 *
 * Nothing here touches the file system, so the tokenizers also run in browsers.
 *
 * Over 400 lines as one concern: every tokenizer depends on these checks, so they live together.
 */
import { AttnError } from "../errors.js";

export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const UNK_ID = 3;

/** The special tokens, indexed by id. Every tokenizer reserves ids 0..3 for them. */
export const SPECIAL_TOKENS: readonly string[] = Object.freeze([
  "<pad>",
  "<bos>",
  "<eos>",
  "<unk>",
]);

/** Number of special tokens; the first regular token has this id. */
export const NUM_SPECIAL = SPECIAL_TOKENS.length;

/** Version of the `tokenizer.json` format written by `toJSON()`. */
export const TOKENIZER_FORMAT_VERSION = 1;

/** Ours (special ids 0..3), then the imported formats (gpt2, sentencepiece: ids as their files say). */
export type TokenizerType = "char" | "byte" | "word" | "bpe" | "gpt2" | "sentencepiece";

export const TOKENIZER_TYPES: readonly TokenizerType[] = [
  "char",
  "byte",
  "word",
  "bpe",
  "gpt2",
  "sentencepiece",
];

export interface EncodeOptions {
  /** Prepend BOS_ID. */
  bos?: boolean;
  /** Append EOS_ID. */
  eos?: boolean;
  /** Which side of a translation pair the text is (only tokenizers with two models, e.g. Marian's, differ). */
  side?: "source" | "target";
}

export interface DecodeOptions {
  /** Keep special tokens in the output as "<pad>", "<bos>", "<eos>", "<unk>" (default: dropped). */
  keepSpecial?: boolean;
}

export interface Tokenizer {
  readonly type: TokenizerType;
  /** Number of ids, special tokens included: ids are 0..vocabSize-1. */
  readonly vocabSize: number;
  encode(text: string, opts?: EncodeOptions): number[];
  /** Special tokens are dropped unless `keepSpecial`. Throws AttnError on an id out of range. */
  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string;
  /** The id of a token as `idToToken` shows it (or a special token's name), else undefined. */
  tokenToId(token: string): number | undefined;
  /** A token for display. Byte-level tokenizers show a readable, escaped form (see displayBytes). */
  idToToken(id: number): string;
  toJSON(): TokenizerJSON;
}

interface JSONBase {
  version: number;
  /** Always ["<pad>", "<bos>", "<eos>", "<unk>"]: documents ids 0..3. */
  specialTokens: string[];
  vocabSize: number;
}

export interface CharTokenizerJSON extends JSONBase {
  type: "char";
  /** One Unicode code point each; tokens[i] has id 4 + i. */
  tokens: string[];
}

export interface ByteTokenizerJSON extends JSONBase {
  type: "byte";
}

export interface WordTokenizerJSON extends JSONBase {
  type: "word";
  lowercase: boolean;
  /** tokens[i] has id 4 + i. */
  tokens: string[];
}

export interface BpeTokenizerJSON extends JSONBase {
  type: "bpe";
  /** Name of the pre-tokenizer that splits text into chunks (see bpe.ts). */
  pretokenizer: string;
  /** merges[i] = [left id, right id]; the merged token has id 260 + i. */
  merges: [number, number][];
}

export type TokenizerJSON =
  | CharTokenizerJSON
  | ByteTokenizerJSON
  | WordTokenizerJSON
  | BpeTokenizerJSON
  | import("./gpt2.js").Gpt2TokenizerJSON
  | import("./sentencepiece.js").SentencePieceTokenizerJSON;

// ---------------------------------------------------------------------------------------------
// Small helpers used by the tokenizer classes.

/** Ids with the optional BOS / EOS added. */
export function withSpecials(ids: number[], opts: EncodeOptions | undefined): number[] {
  if (opts?.bos) ids.unshift(BOS_ID);
  if (opts?.eos) ids.push(EOS_ID);
  return ids;
}

/** Throws AttnError unless `id` is an integer in [0, vocabSize). */
export function checkId(id: number, vocabSize: number, what: string): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new AttnError(
      `${what}: token id ${id} is out of range (vocabulary has ids 0..${vocabSize - 1})`,
    );
  }
}

/** Orders strings by Unicode code point (JS `<` compares UTF-16 units, which differs above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const pa = a.codePointAt(i)!;
    const pb = b.codePointAt(i)!;
    // A difference inside one code point (or between a BMP char and a surrogate) is decided here.
    if (pa !== pb) return pa - pb;
    return ca - cb;
  }
  return a.length - b.length;
}

export const utf8Encoder = new TextEncoder();
/** Replaces invalid UTF-8 with U+FFFD; keeps a leading byte order mark so text round-trips. */
export const utf8Decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

// ---------------------------------------------------------------------------------------------
// Readable display of byte tokens.

/** Length of the well-formed UTF-8 sequence starting at b[i] (Unicode table 3-7), or 0. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const n = b.length;
  const c = b[i];
  const cont = (j: number, lo = 0x80, hi = 0xbf) => j < n && b[j] >= lo && b[j] <= hi;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, "0");

/** Characters shown as escapes: controls, format characters (e.g. ZWJ), separators, unassigned. */
const ESCAPED_CHAR = /^[\p{Cc}\p{Cf}\p{Z}\p{Co}\p{Cn}\p{Cs}]$/u;

function displayChar(ch: string): string {
  switch (ch) {
    case " ":
      return "␣";
    case "␣":
      return "\\␣";
    case "\\":
      return "\\\\";
    case "\n":
      return "\\n";
    case "\t":
      return "\\t";
    case "\r":
      return "\\r";
  }
  if (!ESCAPED_CHAR.test(ch)) return ch;
  const cp = ch.codePointAt(0)!;
  return cp < 0x80 ? `\\x${hex(cp, 2)}` : `\\u{${hex(cp, 4)}}`;
}

/**
 * A readable, unambiguous form of a byte string, for showing byte / BPE tokens:
 * well-formed UTF-8 is shown as text, with space as "␣", newline / tab / CR as "\n" "\t" "\r",
 * other invisible characters as "\x1B" or "\u{200D}", a backslash as "\\" and a literal "␣" as
 * "\␣"; bytes that are not (complete) UTF-8 are shown as "\xE2". Distinct byte strings always
 * give distinct forms.
 */
export function displayBytes(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const len = utf8SequenceLength(bytes, i);
    if (len === 0) {
      out += `\\x${hex(bytes[i], 2)}`;
      i++;
    } else {
      out += displayChar(utf8Decoder.decode(bytes.subarray(i, i + len)));
      i += len;
    }
  }
  return out;
}

/**
 * Decodes ids of a byte-level tokenizer: concatenates the bytes of each token (tokenBytes[id])
 * and decodes them as UTF-8, with U+FFFD for invalid sequences.
 */
export function decodeByteTokens(
  ids: ArrayLike<number>,
  tokenBytes: readonly Uint8Array[],
  opts: DecodeOptions | undefined,
  what: string,
): string {
  const vocabSize = tokenBytes.length;
  const keep = opts?.keepSpecial === true;
  let total = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    checkId(id, vocabSize, what);
    total += tokenBytes[id].length;
  }
  const buf = new Uint8Array(total);
  let out = "";
  let start = 0;
  let pos = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < NUM_SPECIAL) {
      if (keep) {
        out += utf8Decoder.decode(buf.subarray(start, pos)) + SPECIAL_TOKENS[id];
        start = pos;
      }
      continue;
    }
    const b = tokenBytes[id];
    buf.set(b, pos);
    pos += b.length;
  }
  return out + utf8Decoder.decode(buf.subarray(start, pos));
}

// ---------------------------------------------------------------------------------------------
// Validation of tokenizer.json objects.

/** Throws an AttnError with a message about tokenizer.json. */
export function badJSON(message: string): never {
  throw new AttnError(`tokenizer.json: ${message}`);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the string ${JSON.stringify(v.slice(0, 40))}`;
  return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function requireField(obj: Record<string, unknown>, field: string): unknown {
  if (!(field in obj) || obj[field] === undefined) badJSON(`missing field "${field}"`);
  return obj[field];
}

export function requireBoolean(obj: Record<string, unknown>, field: string): boolean {
  const v = requireField(obj, field);
  if (typeof v !== "boolean") badJSON(`field "${field}" must be true or false, got ${describe(v)}`);
  return v;
}

export function requireStringArray(obj: Record<string, unknown>, field: string): string[] {
  const v = requireField(obj, field);
  if (!Array.isArray(v))
    badJSON(`field "${field}" must be an array of strings, got ${describe(v)}`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "string") {
      badJSON(`field "${field}"[${i}] must be a string, got ${describe(v[i])}`);
    }
  }
  return v as string[];
}

export function requireString(obj: Record<string, unknown>, field: string): string {
  const v = requireField(obj, field);
  if (typeof v !== "string") badJSON(`field "${field}" must be a string, got ${describe(v)}`);
  return v;
}

/**
 * Checks the fields every tokenizer.json has: version, specialTokens and (if present) that
 * vocabSize matches the one implied by the rest. Returns a checker for vocabSize.
 */
export function checkCommonFields(obj: Record<string, unknown>): (vocabSize: number) => void {
  const version = requireField(obj, "version");
  if (version !== TOKENIZER_FORMAT_VERSION) {
    badJSON(
      `unsupported version ${describe(version)} (this build reads version ${TOKENIZER_FORMAT_VERSION})`,
    );
  }
  const specials = requireStringArray(obj, "specialTokens");
  if (specials.length !== NUM_SPECIAL || specials.some((s, i) => s !== SPECIAL_TOKENS[i])) {
    badJSON(
      `field "specialTokens" must be ${JSON.stringify(SPECIAL_TOKENS)}, got ${JSON.stringify(specials)}`,
    );
  }
  return (vocabSize: number) => {
    if (obj.vocabSize !== undefined && obj.vocabSize !== vocabSize) {
      badJSON(`field "vocabSize" is ${describe(obj.vocabSize)} but the tokens give ${vocabSize}`);
    }
  };
}

/** Validates optional integer options of the train functions. */
export function checkIntOption(
  what: string,
  name: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
    throw new AttnError(
      `${what}: option ${name} must be an integer ${range}, got ${String(value)}`,
    );
  }
  return value;
}

/** Iterates the texts passed to a train function, checking that each is a string. */
export function* iterTexts(texts: Iterable<string>, what: string): Generator<string> {
  if (texts == null || typeof (texts as Iterable<string>)[Symbol.iterator] !== "function") {
    throw new AttnError(`${what}: texts must be an iterable of strings`);
  }
  if (typeof texts === "string") {
    throw new AttnError(
      `${what}: texts must be an iterable of strings, not one string (wrap it: [text])`,
    );
  }
  let i = 0;
  for (const t of texts) {
    if (typeof t !== "string")
      throw new AttnError(`${what}: text #${i} is ${describe(t)}, not a string`);
    yield t;
    i++;
  }
}

/**
 * A tokenizer whose regular tokens are a list of strings, token i having id
 * NUM_SPECIAL + i: the common part of the char and word tokenizers.
 */
export abstract class TokenListTokenizer {
  readonly vocabSize: number;
  protected readonly tokens: readonly string[];
  protected readonly ids: Map<string, number>;

  /** `check` rejects a malformed token (throw); duplicates are rejected here. */
  constructor(
    tokens: readonly string[],
    private readonly label: string,
    /** Put between tokens by decode ("" for characters, " " for words). */
    private readonly separator: string,
    check: (token: string, index: number) => void,
  ) {
    const ids = new Map<string, number>();
    tokens.forEach((t, i) => {
      check(t, i);
      if (ids.has(t) || SPECIAL_TOKENS.includes(t)) {
        throw new AttnError(`${label}: duplicate token ${JSON.stringify(t)}`);
      }
      ids.set(t, NUM_SPECIAL + i);
    });
    this.tokens = [...tokens];
    this.ids = ids;
    this.vocabSize = NUM_SPECIAL + tokens.length;
  }

  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string {
    const keep = opts?.keepSpecial === true;
    const parts: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      checkId(id, this.vocabSize, `${this.label} decode`);
      if (id >= NUM_SPECIAL) parts.push(this.tokens[id - NUM_SPECIAL]);
      else if (keep) parts.push(SPECIAL_TOKENS[id]);
    }
    return parts.join(this.separator);
  }

  tokenToId(token: string): number | undefined {
    const special = SPECIAL_TOKENS.indexOf(token);
    return special >= 0 ? special : this.ids.get(token);
  }

  idToToken(id: number): string {
    checkId(id, this.vocabSize, `${this.label} idToToken`);
    return id < NUM_SPECIAL ? SPECIAL_TOKENS[id] : this.tokens[id - NUM_SPECIAL];
  }
}
