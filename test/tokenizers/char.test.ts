import assert from "node:assert/strict";
import { test } from "node:test";
import { AttnError } from "../../src/errors.js";
import {
  BOS_ID,
  EOS_ID,
  PAD_ID,
  tokenizerFromJSON,
  trainCharTokenizer,
  UNK_ID,
} from "../../src/tokenizers/index.js";
import { UNICODE_SAMPLES } from "./samples.js";

test("char: vocabulary is the code points seen, sorted by code point, after the specials", () => {
  // Code point order puts U+FFFF before U+1F600 (UTF-16 unit order would not).
  const tok = trainCharTokenizer(["b\uffff😀a", "ab"]);
  assert.equal(tok.type, "char");
  assert.equal(tok.vocabSize, 8);
  assert.deepEqual(
    Array.from({ length: 8 }, (_, i) => tok.idToToken(i)),
    ["<pad>", "<bos>", "<eos>", "<unk>", "a", "b", "\uffff", "😀"],
  );
  assert.equal(tok.tokenToId("😀"), 7);
  assert.equal(tok.tokenToId("<eos>"), EOS_ID);
  assert.equal(tok.tokenToId("zz"), undefined);
});

test("char: tokens are code points, not UTF-16 units", () => {
  const tok = trainCharTokenizer(UNICODE_SAMPLES);
  assert.equal(tok.encode("😀").length, 1);
  assert.equal(tok.encode("👩‍👩‍👧").length, 5); // woman ZWJ woman ZWJ girl
  assert.equal(tok.encode("🇪🇸").length, 2); // two regional indicators
  assert.equal(tok.encode("cafe\u0301").length, 5);
});

test("char: round-trips Unicode text", () => {
  const tok = trainCharTokenizer(UNICODE_SAMPLES);
  for (const s of UNICODE_SAMPLES) {
    const ids = tok.encode(s);
    assert.ok(!ids.includes(UNK_ID), JSON.stringify(s));
    assert.equal(tok.decode(ids), s);
  }
  assert.equal(tok.decode(tok.encode(UNICODE_SAMPLES.join("\n"))), UNICODE_SAMPLES.join("\n"));
});

test("char: unknown characters encode to UNK and decode drops specials", () => {
  const tok = trainCharTokenizer(["abc"]);
  const ids = tok.encode("abxc😀");
  assert.deepEqual(ids, [4, 5, UNK_ID, 6, UNK_ID]);
  assert.equal(tok.decode(ids), "abc");
  assert.equal(tok.decode(ids, { keepSpecial: true }), "ab<unk>c<unk>");
});

test("char: bos / eos options", () => {
  const tok = trainCharTokenizer(["ab"]);
  assert.deepEqual(tok.encode("ab", { bos: true }), [BOS_ID, 4, 5]);
  assert.deepEqual(tok.encode("ab", { eos: true }), [4, 5, EOS_ID]);
  assert.deepEqual(tok.encode("", { bos: true, eos: true }), [BOS_ID, EOS_ID]);
  assert.equal(tok.decode([PAD_ID, BOS_ID, 4, EOS_ID, PAD_ID]), "a");
  assert.equal(tok.decode([BOS_ID, 4, EOS_ID], { keepSpecial: true }), "<bos>a<eos>");
});

test("char: alphabet option adds characters that are not in the texts", () => {
  const tok = trainCharTokenizer(["ba"], { alphabet: "zé" });
  assert.deepEqual(
    [4, 5, 6, 7].map((i) => tok.idToToken(i)),
    ["a", "b", "z", "é"],
  );
  assert.equal(tok.decode(tok.encode("zéba")), "zéba");
});

test("char: save / load gives identical encodings", () => {
  const tok = trainCharTokenizer(UNICODE_SAMPLES);
  const json = JSON.parse(JSON.stringify(tok.toJSON()));
  assert.equal(json.type, "char");
  assert.equal(json.version, 1);
  const back = tokenizerFromJSON(json);
  assert.equal(back.vocabSize, tok.vocabSize);
  for (const s of [...UNICODE_SAMPLES, "unknown: ☃"])
    assert.deepEqual(back.encode(s), tok.encode(s));
});

test("char: decode rejects ids out of range", () => {
  const tok = trainCharTokenizer(["ab"]);
  assert.throws(() => tok.decode([4, 6]), AttnError);
  assert.throws(() => tok.decode([-1]), AttnError);
  assert.throws(() => tok.decode([1.5]), AttnError);
  assert.throws(() => tok.idToToken(99), /out of range/);
});

test("char: rejects a single string instead of an iterable of texts", () => {
  assert.throws(() => trainCharTokenizer("abc" as unknown as string[]), AttnError);
});
