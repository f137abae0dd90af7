import assert from "node:assert/strict";
import { test } from "node:test";
import { AttnError } from "../../src/errors.js";
import {
  BOS_ID,
  BpeTokenizer,
  EOS_ID,
  MAX_BPE_VOCAB,
  pretokenize,
  tokenizerFromJSON,
  trainBpeTokenizer,
} from "../../src/tokenizers/index.js";
import { UNICODE_SAMPLES } from "./samples.js";

const enc = new TextEncoder();
const b = (ch: string) => enc.encode(ch)[0] + 4; // id of a one-byte character

/** Straightforward BPE training (recount all pairs each step), to check the fast version. */
function naiveBpe(texts: string[], vocabSize: number, minFrequency = 2) {
  const words = texts
    .flatMap((t) => pretokenize(t))
    .map((c) => Array.from(enc.encode(c), (x) => x + 4));
  const merges: [number, number][] = [];
  while (260 + merges.length < vocabSize) {
    const counts = new Map<string, number>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.length; i++) {
        const k = `${w[i]},${w[i + 1]}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    }
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [k, n] of counts) {
      const [x, y] = k.split(",").map(Number);
      if (
        n > bestCount ||
        (n === bestCount && best && (x < best[0] || (x === best[0] && y < best[1])))
      ) {
        best = [x, y];
        bestCount = n;
      }
    }
    if (!best || bestCount < minFrequency) break;
    const z = 260 + merges.length;
    merges.push(best);
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.length; ) {
        if (i + 1 < w.length && w[i] === best[0] && w[i + 1] === best[1]) {
          out.push(z);
          i += 2;
        } else out.push(w[i++]);
      }
      w.splice(0, w.length, ...out);
    }
  }
  return { merges, words };
}

/** Small deterministic pseudo-random generator (LCG). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test("bpe: pretokenize splits into chunks that cover the text", () => {
  assert.deepEqual(pretokenize("Hello world, it's  42 times!\n\nOK \n  go\t"), [
    "Hello",
    " world",
    ",",
    " it",
    "'",
    "s",
    " ",
    " 42",
    " times",
    "!",
    "\n\n",
    "OK",
    " \n ",
    " go",
    "\t",
  ]);
  for (const s of UNICODE_SAMPLES) assert.equal(pretokenize(s).join(""), s);
  const long = "x".repeat(1000) + "😀".repeat(300);
  const chunks = pretokenize(long);
  assert.equal(chunks.join(""), long);
  assert.ok(chunks.every((c) => c.length <= 256 && !/^[\udc00-\udfff]/.test(c)));
});

test("bpe: learns the expected first merges on a tiny corpus", () => {
  // Chunks "aaab" and " aaab". Pair counts: (a,a) 4, (a,b) 2, (␣,a) 1.
  // 1: a+a -> 260. Now (260,a) 2, (a,b) 2: tie, lower ids win -> 2: a+b -> 261.
  // 3: 260+261 -> 262 ("aaab", count 2). Then (␣,262) occurs once < minFrequency 2: stop.
  const tok = trainBpeTokenizer(["aaab aaab"], { vocabSize: 1000 });
  assert.deepEqual(tok.merges, [
    [b("a"), b("a")],
    [b("a"), b("b")],
    [260, 261],
  ]);
  assert.equal(tok.vocabSize, 263);
  assert.deepEqual(
    [260, 261, 262].map((id) => tok.idToToken(id)),
    ["aa", "ab", "aaab"],
  );
  assert.deepEqual(tok.encode("aaab aaab"), [262, b(" "), 262]);
  assert.deepEqual(tok.encode("aaaa"), [260, 260]);
  assert.deepEqual(tok.encode("baaa"), [b("b"), 260, b("a")]);
  // With minFrequency 1 the space merges too.
  const all = trainBpeTokenizer(["aaab aaab"], { vocabSize: 1000, minFrequency: 1 });
  assert.equal(all.vocabSize, 264);
  assert.equal(all.idToToken(263), "␣aaab");
  assert.equal(all.tokenToId("␣aaab"), 263);
  assert.equal(all.tokenToId(" aaab"), 263);
});

test("bpe: vocabSize is respected", () => {
  const texts = ["the quick brown fox jumps over the lazy dog", "the dog and the fox"];
  assert.equal(trainBpeTokenizer(texts, { vocabSize: 260 }).vocabSize, 260);
  const one = trainBpeTokenizer(texts, { vocabSize: 261 });
  assert.equal(one.vocabSize, 261);
  assert.equal(one.idToToken(260), "he"); // "th" and "he" both occur 4 times; (h,e) < (t,h)
  for (const n of [270, 280]) {
    assert.equal(trainBpeTokenizer(texts, { vocabSize: n, minFrequency: 1 }).vocabSize, n);
  }
  // With the default minFrequency 2 this corpus runs out of pairs before 400.
  const capped = trainBpeTokenizer(texts, { vocabSize: 400 });
  assert.ok(capped.vocabSize < 400 && capped.vocabSize > 261);
  assert.throws(() => trainBpeTokenizer(texts, { vocabSize: 100 }), AttnError);
  assert.throws(() => trainBpeTokenizer(texts, { vocabSize: MAX_BPE_VOCAB + 1 }), AttnError);
  assert.throws(() => trainBpeTokenizer(texts, { vocabSize: 300, minFrequency: 0 }), AttnError);
  assert.throws(() => trainBpeTokenizer(texts, undefined as never), AttnError);
});

test("bpe: incremental training matches a naive implementation", () => {
  const alphabet = ["a", "b", "c", " ", " ", "\n", "é", "😀", "1", "2", ".", "!"];
  for (let seed = 1; seed <= 6; seed++) {
    const r = rng(seed);
    const texts = Array.from({ length: 20 }, () =>
      Array.from(
        { length: 5 + Math.floor(r() * 40) },
        () => alphabet[Math.floor(r() * alphabet.length)],
      ).join(""),
    );
    const minFrequency = 1 + (seed % 3);
    const vocabSize = 260 + 60;
    const naive = naiveBpe(texts, vocabSize, minFrequency);
    const tok = trainBpeTokenizer(texts, { vocabSize, minFrequency });
    assert.deepEqual(tok.merges, naive.merges, `seed ${seed}`);
    // Encoding the training chunks gives the segmentation training ended with.
    const chunks = texts.flatMap((t) => pretokenize(t));
    chunks.forEach((c, i) => {
      assert.deepEqual(tok.encode(c), naive.words[i]);
    });
  }
});

test("bpe: round-trips Unicode text, seen and unseen", () => {
  const train = UNICODE_SAMPLES.slice(0, 10);
  const tok = trainBpeTokenizer([...train, ...train], { vocabSize: 400 });
  assert.ok(tok.vocabSize > 300);
  for (const s of UNICODE_SAMPLES) assert.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s));
  const all = UNICODE_SAMPLES.join("\n");
  assert.equal(tok.decode(tok.encode(all)), all);
  assert.ok(tok.encode(train[2]).length < enc.encode(train[2]).length);
  // Every token has a distinct display name that maps back to it.
  for (let id = 0; id < tok.vocabSize; id++) assert.equal(tok.tokenToId(tok.idToToken(id)), id);
});

test("bpe: bos / eos and special tokens in decode", () => {
  const tok = trainBpeTokenizer(["hello hello"], { vocabSize: 300 });
  const ids = tok.encode("hello", { bos: true, eos: true });
  assert.equal(ids[0], BOS_ID);
  assert.equal(ids.at(-1), EOS_ID);
  assert.equal(tok.decode(ids), "hello");
  assert.equal(tok.decode(ids, { keepSpecial: true }), "<bos>hello<eos>");
  assert.throws(() => tok.decode([tok.vocabSize]), AttnError);
});

test("bpe: save / load gives identical encodings", () => {
  const tok = trainBpeTokenizer(UNICODE_SAMPLES, { vocabSize: 350, minFrequency: 1 });
  const json = JSON.parse(JSON.stringify(tok.toJSON()));
  assert.equal(json.type, "bpe");
  assert.equal(json.merges.length, tok.vocabSize - 260);
  const back = tokenizerFromJSON(json);
  assert.equal(back.vocabSize, tok.vocabSize);
  for (const s of [...UNICODE_SAMPLES, "something else entirely ☃"]) {
    assert.deepEqual(back.encode(s), tok.encode(s));
  }
});

test("a chain of merges that each extend the last is refused in linear time (no quadratic memory)", () => {
  const merges: [number, number][] = [];
  let prev = 4 + 97;
  for (let i = 0; i < 60_000; i++) {
    merges.push([prev, 4 + 97]);
    prev = 260 + i;
  }
  const t0 = performance.now();
  assert.throws(
    () => new BpeTokenizer(merges),
    /merge #1023 .* makes a token of 1025 bytes; tokens have at most 1024/,
  );
  assert.ok(performance.now() - t0 < 2000);
});
