import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { AttnError } from "../../src/errors.js";
import {
  createByteTokenizer,
  type Tokenizer,
  tokenizerFromJSON,
  trainBpeTokenizer,
  trainCharTokenizer,
  trainWordTokenizer,
} from "../../src/tokenizers/index.js";
import { loadTokenizer, saveTokenizer } from "../../src/tokenizers/io.js";

const specialTokens = ["<pad>", "<bos>", "<eos>", "<unk>"];
const base = { version: 1, specialTokens };

function rejects(json: unknown, pattern: RegExp) {
  assert.throws(
    () => tokenizerFromJSON(json),
    (e: unknown) => e instanceof AttnError && pattern.test(e.message),
    `${JSON.stringify(json)} should be rejected with ${pattern}`,
  );
}

test("tokenizerFromJSON accepts minimal hand-written objects", () => {
  assert.equal(tokenizerFromJSON({ ...base, type: "char", tokens: ["a", "😀"] }).vocabSize, 6);
  assert.equal(tokenizerFromJSON({ ...base, type: "byte" }).vocabSize, 260);
  const word = tokenizerFromJSON({ ...base, type: "word", lowercase: false, tokens: ["hi"] });
  assert.deepEqual(word.encode("hi there"), [4, 3]);
  // ids: "e" 105, "h" 108, "l" 112, "o" 115; merge 0: l+l -> 260, merge 1: e+ll -> 261.
  const bpe = tokenizerFromJSON({
    ...base,
    type: "bpe",
    pretokenizer: "bytelevel-v1",
    merges: [
      [112, 112],
      [105, 260],
    ],
  });
  assert.deepEqual(bpe.encode("hello"), [108, 261, 115]);
  assert.equal(bpe.idToToken(261), "ell");
});

test("tokenizerFromJSON rejects malformed input with AttnError", () => {
  rejects(null, /expected an object/);
  rejects([1, 2], /expected an object/);
  rejects("char", /expected an object/);
  rejects({ ...base }, /missing field "type"/);
  rejects({ ...base, type: "wordpiece" }, /unknown tokenizer type "wordpiece"/);
  rejects({ type: "byte", specialTokens }, /missing field "version"/);
  rejects({ ...base, type: "byte", version: 2 }, /unsupported version/);
  rejects({ type: "byte", version: 1 }, /missing field "specialTokens"/);
  rejects({ ...base, type: "byte", specialTokens: ["<pad>"] }, /specialTokens/);
  rejects({ ...base, type: "byte", vocabSize: 300 }, /vocabSize/);
  // char
  rejects({ ...base, type: "char" }, /missing field "tokens"/);
  rejects({ ...base, type: "char", tokens: "abc" }, /array of strings/);
  rejects({ ...base, type: "char", tokens: ["a", 5] }, /"tokens"\[1\] must be a string/);
  rejects({ ...base, type: "char", tokens: ["a", "b", "a"] }, /duplicate char token "a"/);
  rejects({ ...base, type: "char", tokens: ["ab"] }, /not a single character/);
  rejects({ ...base, type: "char", tokens: [""] }, /not a single character/);
  // word
  rejects({ ...base, type: "word", tokens: ["a"] }, /missing field "lowercase"/);
  rejects(
    { ...base, type: "word", lowercase: 1, tokens: ["a"] },
    /"lowercase" must be true or false/,
  );
  rejects({ ...base, type: "word", lowercase: false, tokens: ["a", "a"] }, /duplicate word token/);
  rejects({ ...base, type: "word", lowercase: false, tokens: ["<unk>"] }, /duplicate word token/);
  rejects({ ...base, type: "word", lowercase: false, tokens: ["a b"] }, /whitespace/);
  // bpe
  const bpe = { ...base, type: "bpe", pretokenizer: "bytelevel-v1" };
  rejects({ ...bpe }, /missing field "merges"/);
  rejects({ ...bpe, merges: {} }, /"merges" must be an array/);
  rejects({ ...bpe, pretokenizer: "gpt2", merges: [] }, /unknown pretokenizer "gpt2"/);
  rejects({ ...bpe, merges: [[100]] }, /merge #0 must be a pair/);
  rejects({ ...bpe, merges: [[100, "101"]] }, /merge #0/);
  rejects({ ...bpe, merges: [[100, 1.5]] }, /merge #0/);
  rejects(
    { ...bpe, merges: [[100, 260]] },
    /merge #0 \[100,260\]: ids must be integers in 4\.\.259/,
  );
  rejects({ ...bpe, merges: [[2, 100]] }, /not special tokens/);
  rejects(
    {
      ...bpe,
      merges: [
        [100, 101],
        [100, 101],
      ],
    },
    /merge #1 \[100,101\] repeats merge #0/,
  );
  rejects({ ...bpe, merges: [[100, 101]], vocabSize: 260 }, /"vocabSize" is number 260 but/);
});

function sampleTokenizers(): Tokenizer[] {
  const texts = ["Hello, wörld! 漢字 👩‍👩‍👧", "hello hello world 🇪🇸"];
  return [
    trainCharTokenizer(texts),
    createByteTokenizer(),
    trainWordTokenizer(texts),
    trainBpeTokenizer(texts, { vocabSize: 300, minFrequency: 1 }),
  ];
}

test("saveTokenizer / loadTokenizer round-trip through a file", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attn-tok-"));
  try {
    for (const tok of sampleTokenizers()) {
      const file = path.join(dir, `${tok.type}.json`);
      saveTokenizer(file, tok);
      const back = loadTokenizer(file);
      assert.equal(back.type, tok.type);
      assert.equal(back.vocabSize, tok.vocabSize);
      assert.deepEqual(back.toJSON(), tok.toJSON());
      const s = "Hello wörld, 漢字 👩‍👩‍👧 and ☃";
      assert.deepEqual(back.encode(s), tok.encode(s));
    }
    const bad = path.join(dir, "bad.json");
    fs.writeFileSync(bad, "{ not json");
    assert.throws(() => loadTokenizer(bad), /bad\.json is not valid JSON/);
    fs.writeFileSync(bad, JSON.stringify({ type: "nope" }));
    assert.throws(() => loadTokenizer(bad), /bad\.json: tokenizer\.json: unknown tokenizer type/);
    assert.throws(() => loadTokenizer(path.join(dir, "missing.json")), /cannot read/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
