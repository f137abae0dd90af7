/**
 * The imported tokenizers against the real Hugging Face ones: ids and decoded text recorded
 * by scripts/make_hf_fixtures.py (GPT2TokenizerFast, MarianTokenizer with SentencePiece).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import {
  Gpt2Tokenizer,
  readUnigramModel,
  SentencePieceTokenizer,
  tokenizerFromJSON,
} from "../../src/tokenizers/index.js";

const HF = path.join(import.meta.dirname, "..", "fixtures", "hf");
const read = (...p: string[]) => fs.readFileSync(path.join(HF, ...p), "utf8");

function gpt2(): Gpt2Tokenizer {
  return Gpt2Tokenizer.fromFiles(
    JSON.parse(read("gpt2", "vocab.json")),
    read("gpt2", "merges.txt"),
    ["<|endoftext|>"],
  );
}

function marian(): SentencePieceTokenizer {
  const vocab = JSON.parse(read("marian", "vocab.json")) as Record<string, number>;
  const tokens: string[] = [];
  for (const [t, id] of Object.entries(vocab)) tokens[id] = t;
  const spm = (f: string) => readUnigramModel(fs.readFileSync(path.join(HF, "marian", f)), f);
  return new SentencePieceTokenizer(
    tokens,
    { eos: vocab["</s>"], unk: vocab["<unk>"], pad: vocab["<pad>"] },
    spm("source.spm"),
    spm("target.spm"),
  );
}

test("GPT-2 byte-level BPE gives GPT2TokenizerFast's ids and text", () => {
  const expected = JSON.parse(read("gpt2", "expected.json"));
  const tok = gpt2();
  assert.equal(tok.vocabSize, expected.vocab_size);
  for (const { text, ids } of expected.tokens) assert.deepEqual(tok.encode(text), ids, text);
  for (const { ids, text } of expected.decoded) assert.equal(tok.decode(ids), text);
  assert.deepEqual(tok.encode("a<|endoftext|>b"), [
    ...tok.encode("a"),
    expected.eot_id,
    ...tok.encode("b"),
  ]);
  const again = tokenizerFromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
  for (const { text, ids } of expected.tokens) assert.deepEqual(again.encode(text), ids);
  const files = tok.toFiles();
  assert.deepEqual(files.vocab, JSON.parse(read("gpt2", "vocab.json")));
});

test("Marian's SentencePiece models give MarianTokenizer's ids and text", () => {
  const expected = JSON.parse(read("marian", "expected.json"));
  const tok = marian();
  assert.equal(tok.vocabSize, expected.vocab_size);
  for (const { text, ids } of expected.source)
    assert.deepEqual(tok.encode(text, { eos: true }), ids, text);
  for (const { text, ids } of expected.target)
    assert.deepEqual(tok.encode(text, { eos: true, side: "target" }), ids, text);
  for (const { ids, text } of expected.decoded) assert.equal(tok.decode(ids), text);
  const again = tokenizerFromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
  for (const { text, ids } of expected.source)
    assert.deepEqual(again.encode(text, { eos: true }), ids);
});
