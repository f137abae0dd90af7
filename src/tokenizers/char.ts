/**
 * Character tokenizer: one token per Unicode code point (not per UTF-16 unit, so "😀" is one
 * token). Characters not in the vocabulary encode to UNK_ID.
 */
import { AttnError } from "../errors.js";
import {
  badJSON,
  type CharTokenizerJSON,
  checkCommonFields,
  compareCodePoints,
  type EncodeOptions,
  iterTexts,
  NUM_SPECIAL,
  requireStringArray,
  SPECIAL_TOKENS,
  type Tokenizer,
  TokenListTokenizer,
  TOKENIZER_FORMAT_VERSION,
  UNK_ID,
  withSpecials,
} from "./tokenizer.js";

/** True when `s` is exactly one code point (a lone surrogate counts as one). */
function isOneCodePoint(s: string): boolean {
  if (s.length === 1) return true;
  return s.length === 2 && s.codePointAt(0)! > 0xffff;
}

export class CharTokenizer extends TokenListTokenizer implements Tokenizer {
  readonly type = "char" as const;

  /** `chars[i]` gets id 4 + i; each must be one code point, with no duplicates. */
  constructor(chars: readonly string[]) {
    super(chars, "char tokenizer", "", (ch, i) => {
      if (typeof ch !== "string" || !isOneCodePoint(ch)) {
        throw new AttnError(
          `char tokenizer: token #${i} (${JSON.stringify(ch)}) is not a single character`,
        );
      }
    });
  }

  encode(text: string, opts?: EncodeOptions): number[] {
    const out: number[] = [];
    for (const ch of text) out.push(this.ids.get(ch) ?? UNK_ID);
    return withSpecials(out, opts);
  }

  toJSON(): CharTokenizerJSON {
    return {
      type: "char",
      version: TOKENIZER_FORMAT_VERSION,
      specialTokens: [...SPECIAL_TOKENS],
      vocabSize: this.vocabSize,
      tokens: [...this.tokens],
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
