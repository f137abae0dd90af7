/**
 * Word tokenizer: splits text on whitespace and splits punctuation off words. A word is a run of
 * letters, marks and digits, possibly joined by apostrophes ("don't", "LORD's"); every other
 * non-space character is a token of its own. Words below the minimum frequency encode to UNK_ID.
 *
 * Decoding is LOSSY: tokens are joined with single spaces, so "Hello, world!" decodes as
 * "Hello , world !", whitespace (newlines, tabs, runs of spaces) becomes one space, and with
 * `lowercase` the case is lost.
 */
import { AttnError } from "../errors.js";
import {
  badJSON,
  checkCommonFields,
  checkIntOption,
  compareCodePoints,
  type EncodeOptions,
  iterTexts,
  NUM_SPECIAL,
  requireBoolean,
  requireStringArray,
  SPECIAL_TOKENS,
  type Tokenizer,
  TokenListTokenizer,
  TOKENIZER_FORMAT_VERSION,
  UNK_ID,
  type WordTokenizerJSON,
  withSpecials,
} from "./tokenizer.js";

const WORD_PATTERN = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*|[^\s\p{L}\p{M}\p{N}]/gu;

/** Splits text into words and single punctuation / symbol characters. */
export function splitWords(text: string): string[] {
  return text.match(WORD_PATTERN) ?? [];
}

export class WordTokenizer extends TokenListTokenizer implements Tokenizer {
  readonly type = "word" as const;
  readonly lowercase: boolean;

  /** `words[i]` gets id 4 + i. Decoding joins tokens with single spaces (lossy, see the module comment). */
  constructor(words: readonly string[], lowercase: boolean) {
    super(words, "word tokenizer", " ", (w, i) => {
      if (typeof w !== "string" || w.length === 0 || /\s/u.test(w)) {
        throw new AttnError(
          `word tokenizer: token #${i} (${JSON.stringify(w)}) is empty or contains whitespace`,
        );
      }
    });
    this.lowercase = lowercase;
  }

  encode(text: string, opts?: EncodeOptions): number[] {
    const words = splitWords(this.lowercase ? text.toLowerCase() : text);
    const out = words.map((w) => this.ids.get(w) ?? UNK_ID);
    return withSpecials(out, opts);
  }

  toJSON(): WordTokenizerJSON {
    return {
      type: "word",
      version: TOKENIZER_FORMAT_VERSION,
      specialTokens: [...SPECIAL_TOKENS],
      vocabSize: this.vocabSize,
      lowercase: this.lowercase,
      tokens: [...this.tokens],
    };
  }

  /** Builds a tokenizer from a parsed tokenizer.json object with type "word". */
  static fromJSON(obj: Record<string, unknown>): WordTokenizer {
    const checkVocabSize = checkCommonFields(obj);
    const lowercase = requireBoolean(obj, "lowercase");
    const tokens = requireStringArray(obj, "tokens");
    const seen = new Set<string>(SPECIAL_TOKENS);
    tokens.forEach((t, i) => {
      if (t.length === 0 || /\s/u.test(t)) {
        badJSON(`word token #${i} (${JSON.stringify(t)}) is empty or contains whitespace`);
      }
      if (seen.has(t)) badJSON(`duplicate word token ${JSON.stringify(t)}`);
      seen.add(t);
    });
    checkVocabSize(NUM_SPECIAL + tokens.length);
    return new WordTokenizer(tokens, lowercase);
  }
}

export interface WordTrainOptions {
  /** Words seen fewer times than this are left out (encode to UNK_ID). Default 1. */
  minFrequency?: number;
  /** Largest vocabSize, special tokens included (the most frequent words are kept). */
  maxVocab?: number;
  /** Lowercase text before training and encoding. Default false. */
  lowercase?: boolean;
}

/**
 * Learns a word vocabulary from `texts`: ids in order of frequency (most frequent first), ties by
 * code point order of the words.
 */
export function trainWordTokenizer(
  texts: Iterable<string>,
  opts: WordTrainOptions = {},
): WordTokenizer {
  const what = "trainWordTokenizer";
  const minFrequency = checkIntOption(what, "minFrequency", opts.minFrequency ?? 1, 1);
  const maxVocab = checkIntOption(
    what,
    "maxVocab",
    opts.maxVocab ?? Number.MAX_SAFE_INTEGER,
    NUM_SPECIAL,
  );
  const lowercase = opts.lowercase ?? false;
  if (typeof lowercase !== "boolean") {
    throw new AttnError(`${what}: option lowercase must be true or false`);
  }
  const counts = new Map<string, number>();
  for (const text of iterTexts(texts, what)) {
    for (const w of splitWords(lowercase ? text.toLowerCase() : text)) {
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  const kept = [...counts].filter(([, n]) => n >= minFrequency);
  kept.sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0]));
  const words = kept.slice(0, maxVocab - NUM_SPECIAL).map(([w]) => w);
  return new WordTokenizer(words, lowercase);
}
