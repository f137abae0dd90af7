import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BOS_ID,
  createByteTokenizer,
  EOS_ID,
  tokenizerFromJSON,
} from "../../src/tokenizers/index.js";
import { UNICODE_SAMPLES } from "./samples.js";

test("byte: ids are 4 + UTF-8 byte", () => {
  const tok = createByteTokenizer();
  assert.equal(tok.type, "byte");
  assert.equal(tok.vocabSize, 260);
  assert.deepEqual(tok.encode("A"), [4 + 0x41]);
  assert.deepEqual(tok.encode("é"), [4 + 0xc3, 4 + 0xa9]);
  assert.deepEqual(tok.encode("😀"), [4 + 0xf0, 4 + 0x9f, 4 + 0x98, 4 + 0x80]);
  assert.deepEqual(tok.encode("a", { bos: true, eos: true }), [BOS_ID, 4 + 0x61, EOS_ID]);
});

test("byte: round-trips Unicode text", () => {
  const tok = createByteTokenizer();
  for (const s of UNICODE_SAMPLES) assert.equal(tok.decode(tok.encode(s)), s);
  const all = UNICODE_SAMPLES.join("\r\n");
  assert.equal(tok.decode(Int32Array.from(tok.encode(all, { bos: true, eos: true }))), all);
});

test("byte: invalid UTF-8 decodes with U+FFFD", () => {
  const tok = createByteTokenizer();
  assert.equal(tok.decode([4 + 0x61, 4 + 0xff, 4 + 0x62]), "a\ufffdb");
  assert.equal(tok.decode([4 + 0xc3]), "\ufffd");
  // A truncated 4-byte sequence is one replacement character.
  assert.equal(tok.decode(tok.encode("😀").slice(0, 3)), "\ufffd");
  // Lone surrogates are not valid Unicode: UTF-8 encoding turns them into U+FFFD.
  assert.equal(tok.decode(tok.encode("x\ud800y")), "x\ufffdy");
});

test("byte: specials are dropped unless keepSpecial", () => {
  const tok = createByteTokenizer();
  const ids = [BOS_ID, ...tok.encode("hé"), 3, EOS_ID, 0];
  assert.equal(tok.decode(ids), "hé");
  assert.equal(tok.decode(ids, { keepSpecial: true }), "<bos>hé<unk><eos><pad>");
});

test("byte: readable token names that map back to ids", () => {
  const tok = createByteTokenizer();
  assert.equal(tok.idToToken(4 + 0x41), "A");
  assert.equal(tok.idToToken(4 + 0x20), "␣");
  assert.equal(tok.idToToken(4 + 0x0a), "\\n");
  assert.equal(tok.idToToken(4 + 0x5c), "\\\\");
  assert.equal(tok.idToToken(4 + 0x00), "\\x00");
  assert.equal(tok.idToToken(4 + 0xe2), "\\xE2");
  assert.equal(tok.idToToken(0), "<pad>");
  const names = new Set<string>();
  for (let id = 0; id < tok.vocabSize; id++) {
    const name = tok.idToToken(id);
    names.add(name);
    assert.equal(tok.tokenToId(name), id, name);
  }
  assert.equal(names.size, tok.vocabSize);
  // Raw one-byte text is accepted too.
  assert.equal(tok.tokenToId(" "), 4 + 0x20);
  assert.equal(tok.tokenToId("ab"), undefined);
});

test("byte: save / load", () => {
  const tok = createByteTokenizer();
  const back = tokenizerFromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
  assert.equal(back.type, "byte");
  for (const s of UNICODE_SAMPLES) assert.deepEqual(back.encode(s), tok.encode(s));
});
