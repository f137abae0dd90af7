import assert from "node:assert/strict";
import { test } from "node:test";
import { AttnError } from "../../src/errors.js";
import {
  BOS_ID,
  EOS_ID,
  splitWords,
  tokenizerFromJSON,
  trainWordTokenizer,
  UNK_ID,
} from "../../src/tokenizers/index.js";

test("word: splits on whitespace and splits punctuation off words", () => {
  assert.deepEqual(splitWords("Hello, world!  It's\tnew...\n(yes)"), [
    "Hello",
    ",",
    "world",
    "!",
    "It's",
    "new",
    ".",
    ".",
    ".",
    "(",
    "yes",
    ")",
  ]);
  assert.deepEqual(splitWords("café señor 漢字 x2"), ["café", "señor", "漢字", "x2"]);
});

test("word: ids by frequency, then by token", () => {
  const tok = trainWordTokenizer(["the cat. the dog. a cat!"]);
  // the:2 cat:2 .:2 -> sorted by token ".", "cat", "the"; then count 1: "!", "a", "dog"
  assert.deepEqual(
    Array.from({ length: tok.vocabSize }, (_, i) => tok.idToToken(i)),
    ["<pad>", "<bos>", "<eos>", "<unk>", ".", "cat", "the", "!", "a", "dog"],
  );
  assert.deepEqual(tok.encode("the dog."), [6, 9, 4]);
});

test("word: unknown words encode to UNK; decode joins with single spaces (lossy)", () => {
  const tok = trainWordTokenizer(["the cat sat on the mat."]);
  const ids = tok.encode("The cat sat\n\non   the hat.");
  assert.deepEqual(ids.filter((id) => id === UNK_ID).length, 2); // "The", "hat"
  assert.equal(tok.decode(ids), "cat sat on the .");
  assert.equal(tok.decode(ids, { keepSpecial: true }), "<unk> cat sat on the <unk> .");
  assert.deepEqual(tok.encode("cat", { bos: true, eos: true }), [
    BOS_ID,
    tok.tokenToId("cat"),
    EOS_ID,
  ]);
});

test("word: minFrequency, maxVocab and lowercase", () => {
  const texts = ["a a a b b c", "A B d"];
  const minFreq = trainWordTokenizer(texts, { minFrequency: 2 });
  assert.equal(minFreq.vocabSize, 6); // a, b
  assert.equal(minFreq.encode("c")[0], UNK_ID);
  const small = trainWordTokenizer(texts, { maxVocab: 5 });
  assert.equal(small.vocabSize, 5);
  assert.equal(small.idToToken(4), "a");
  const lower = trainWordTokenizer(texts, { lowercase: true });
  assert.equal(lower.idToToken(4), "a");
  assert.deepEqual(lower.encode("A"), lower.encode("a"));
  assert.equal(lower.decode(lower.encode("B A")), "b a");
  assert.throws(() => trainWordTokenizer(texts, { minFrequency: 0 }), AttnError);
  assert.throws(() => trainWordTokenizer(texts, { maxVocab: 2 }), AttnError);
});

test("word: save / load gives identical encodings", () => {
  const tok = trainWordTokenizer(["Hello, World! hello again, world."], { lowercase: true });
  const back = tokenizerFromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
  assert.equal(back.type, "word");
  for (const s of ["HELLO world", "unknown words, here!", ""]) {
    assert.deepEqual(back.encode(s), tok.encode(s));
  }
});
