/**
 * Character tokenizer: one token per Unicode code point (not per UTF-16 unit, so "😀" is one
 * token). Characters not in the vocabulary encode to UNK_ID.
 */
import { AttnError } from "../errors.js";
import {
  badJSON,
  type CharTokenizerJSON,
  checkCommonFields,
  checkId,
  compareCodePoints,
  type DecodeOptions,
  type EncodeOptions,
  iterTexts,
  NUM_SPECIAL,
  requireStringArray,
  SPECIAL_TOKENS,
  type Tokenizer,
  TOKENIZER_FORMAT_VERSION,
  UNK_ID,
  withSpecials,
} from "./tokenizer.js";

/** True when `s` is exactly one code point (a lone surrogate counts as one). */
function isOneCodePoint(s: string): boolean {
  if (s.length === 1) return true;
  return s.length === 2 && s.codePointAt(0)! > 0xffff;
}

export class CharTokenizer implements Tokenizer {
  readonly type = "char" as const;
  readonly vocabSize: number;
  private readonly chars: readonly string[];
  private readonly ids: Map<string, number>;

  /** `chars[i]` gets id 4 + i; each must be one code point, with no duplicates. */
  constructor(chars: readonly string[]) {
    const ids = new Map<string, number>();
    chars.forEach((ch, i) => {
      if (typeof ch !== "string" || !isOneCodePoint(ch)) {
        throw new AttnError(
          `char tokenizer: token #${i} (${JSON.stringify(ch)}) is not a single character`,
        );
      }
      if (ids.has(ch)) {
        throw new AttnError(`char tokenizer: duplicate token ${JSON.stringify(ch)}`);
      }
      ids.set(ch, NUM_SPECIAL + i);
    });
    this.chars = [...chars];
    this.ids = ids;
    this.vocabSize = NUM_SPECIAL + chars.length;
  }

  encode(text: string, opts?: EncodeOptions): number[] {
    const out: number[] = [];
    for (const ch of text) out.push(this.ids.get(ch) ?? UNK_ID);
    return withSpecials(out, opts);
  }

  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string {
    const keep = opts?.keepSpecial === true;
    const parts: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      checkId(id, this.vocabSize, "char tokenizer decode");
      if (id >= NUM_SPECIAL) parts.push(this.chars[id - NUM_SPECIAL]);
      else if (keep) parts.push(SPECIAL_TOKENS[id]);
    }
    return parts.join("");
  }

  tokenToId(token: string): number | undefined {
    const special = SPECIAL_TOKENS.indexOf(token);
    return special >= 0 ? special : this.ids.get(token);
  }

  idToToken(id: number): string {
    checkId(id, this.vocabSize, "char tokenizer idToToken");
    return id < NUM_SPECIAL ? SPECIAL_TOKENS[id] : this.chars[id - NUM_SPECIAL];
  }

  toJSON(): CharTokenizerJSON {
    return {
      type: "char",
      version: TOKENIZER_FORMAT_VERSION,
      specialTokens: [...SPECIAL_TOKENS],
      vocabSize: this.vocabSize,
      tokens: [...this.chars],
    };
  }

  /** Builds a tokenizer from a parsed tokenizer.json object with type "char". */
  static fromJSON(obj: Record<string, unknown>): CharTokenizer {
    const checkVocabSize = checkCommonFields(obj);
    const tokens = requireStringArray(obj, "tokens");
    const seen = new Set<string>();
    tokens.forEach((t, i) => {
      if (!isOneCodePoint(t)) {
        badJSON(`char token #${i} (${JSON.stringify(t)}) is not a single character`);
      }
      if (seen.has(t)) badJSON(`duplicate char token ${JSON.stringify(t)}`);
      seen.add(t);
    });
    checkVocabSize(NUM_SPECIAL + tokens.length);
    return new CharTokenizer(tokens);
  }
}

/**
 * Learns a character vocabulary: every code point that occurs in `texts`, plus those of
 * `opts.alphabet` (characters to include even if unseen), with ids in code point order.
 */
export function trainCharTokenizer(
  texts: Iterable<string>,
  opts: { alphabet?: string } = {},
): CharTokenizer {
  const what = "trainCharTokenizer";
  const chars = new Set<string>();
  if (opts.alphabet !== undefined) {
    if (typeof opts.alphabet !== "string") {
      throw new AttnError(`${what}: option alphabet must be a string`);
    }
    for (const ch of opts.alphabet) chars.add(ch);
  }
  for (const text of iterTexts(texts, what)) {
    for (const ch of text) chars.add(ch);
  }
  return new CharTokenizer([...chars].sort(compareCodePoints));
}
