/**
 * Tokenizers for the training pipeline: char, byte, word and byte-level BPE. Each saves itself
 * with `toJSON()` (the content of a tokenizer.json) and loads with `tokenizerFromJSON`.
 * Special tokens have fixed ids: PAD 0 "<pad>", BOS 1 "<bos>", EOS 2 "<eos>", UNK 3 "<unk>".
 *
 * Reading and writing tokenizer.json files is in ./io.js (Node only; this module runs in browsers).
 */
import { ByteTokenizer } from "./byte.js";
import { BpeTokenizer } from "./bpe.js";
import { CharTokenizer } from "./char.js";
import { badJSON, isPlainObject, type Tokenizer, TOKENIZER_TYPES } from "./tokenizer.js";
import { WordTokenizer } from "./word.js";
import { Gpt2Tokenizer } from "./gpt2.js";
import { SentencePieceTokenizer } from "./sentencepiece.js";

export { Gpt2Tokenizer, type Gpt2TokenizerJSON } from "./gpt2.js";
export {
  readUnigramModel,
  SentencePieceTokenizer,
  type SentencePieceTokenizerJSON,
  type UnigramModel,
} from "./sentencepiece.js";

export {
  BPE_PRETOKENIZER,
  type BpeTrainOptions,
  BpeTokenizer,
  MAX_BPE_VOCAB,
  pretokenize,
  trainBpeTokenizer,
} from "./bpe.js";
export { BYTE_VOCAB_SIZE, ByteTokenizer, createByteTokenizer } from "./byte.js";
export { CharTokenizer, trainCharTokenizer } from "./char.js";
export {
  BOS_ID,
  type BpeTokenizerJSON,
  type ByteTokenizerJSON,
  type CharTokenizerJSON,
  type DecodeOptions,
  displayBytes,
  EOS_ID,
  type EncodeOptions,
  NUM_SPECIAL,
  PAD_ID,
  SPECIAL_TOKENS,
  TOKENIZER_FORMAT_VERSION,
  TOKENIZER_TYPES,
  type Tokenizer,
  type TokenizerJSON,
  type TokenizerType,
  UNK_ID,
  type WordTokenizerJSON,
} from "./tokenizer.js";
export { splitWords, WordTokenizer, type WordTrainOptions, trainWordTokenizer } from "./word.js";

/**
 * Rebuilds a tokenizer from a parsed tokenizer.json object (as produced by `toJSON()`).
 * Throws AttnError naming the problem: not an object, unknown type or version, missing or
 * mistyped fields, duplicate tokens, bad merges.
 */
export function tokenizerFromJSON(json: unknown): Tokenizer {
  if (!isPlainObject(json)) {
    badJSON(`expected an object with a "type" field, got ${json === null ? "null" : typeof json}`);
  }
  const type = json.type;
  switch (type) {
    case "char":
      return CharTokenizer.fromJSON(json);
    case "byte":
      return ByteTokenizer.fromJSON(json);
    case "word":
      return WordTokenizer.fromJSON(json);
    case "bpe":
      return BpeTokenizer.fromJSON(json);
    case "gpt2":
      return Gpt2Tokenizer.fromJSON(json);
    case "sentencepiece":
      return SentencePieceTokenizer.fromJSON(json);
    case undefined:
      return badJSON(`missing field "type" (one of ${TOKENIZER_TYPES.join(", ")})`);
    default:
      return badJSON(
        `unknown tokenizer type ${JSON.stringify(type)} (expected one of ${TOKENIZER_TYPES.join(", ")})`,
      );
  }
}
