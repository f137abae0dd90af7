/**
 * BLEU checks. Each case's n-gram counts are worked out by hand in the
 * comments (docs/bleu.md has the same, longer). The expected scores were also
 * confirmed against sacreBLEU 2.6.0 (see docs/bleu.md).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AttnError } from "../../src/errors.js";
import {
  closestRefLen,
  computeBleu,
  corpusBleu,
  exactMatch,
  formatBleu,
  perplexity,
  sentenceBleu,
  tokenAccuracy,
  tokenAccuracyCounts,
  tokenize13a,
} from "../../src/train/metrics.js";

function close(actual: number, expected: number, eps = 1e-9, msg?: string): void {
  assert.ok(Math.abs(actual - expected) <= eps, msg ?? `${actual} != ${expected}`);
}

describe("tokenize13a", () => {
  const cases: [string, string][] = [
    ["Hello, world!", "Hello , world !"],
    // $ is split off; "3.50" keeps its period (digits on both sides); ", " and "." split.
    ["It costs $3.50, ok.", "It costs $ 3.50 , ok ."],
    ["1,000,000 people", "1,000,000 people"],
    // A dash is split only after a digit.
    ["state-of-the-art 10-20 a-1", "state-of-the-art 10 - 20 a-1"],
    // The apostrophe is not in mteval-v13a's punctuation ranges.
    ["don't", "don't"],
    ["&quot;Hi&quot; &amp; &lt;b&gt;", '" Hi " & < b >'],
    ["<skipped> word", "word"],
    ["hyphen-\nated line\nbreak", "hyphenated line break"],
    // "3." at the end: the period is followed by the padding space, so it splits.
    ["end. 3. .5", "end . 3 . . 5"],
    ["U.S.A.", "U . S . A ."],
    ["  many   spaces\there  ", "many spaces here"],
    [
      "(a) [b] {c} <d> @e #f ~g ^h _i `j |k \\l",
      "( a ) [ b ] { c } < d > @ e # f ~ g ^ h _ i ` j | k \\ l",
    ],
    ["x.y,z 1.2,3 a,1 1,a", "x . y , z 1.2,3 a , 1 1 , a"],
    ["Mr. Smith's e-mail: smith@example.com", "Mr . Smith's e-mail : smith @ example . com"],
    // Non-ASCII punctuation is left alone; U+00A0 is whitespace to Python's split().
    ["“Sí,\u00a0señor”", "“Sí , señor”"],
    ["", ""],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => assert.equal(tokenize13a(input), expected));
  }
});

describe("corpusBleu, hand-worked", () => {
  test("perfect match = 100", () => {
    // "the cat sat on the mat" vs itself: 6/6 unigrams, 5/5 bigrams, 4/4, 3/3; BP = 1.
    const r = corpusBleu(["the cat sat on the mat"], ["the cat sat on the mat"]);
    close(r.score, 100, 1e-9);
    assert.deepEqual(r.counts, [6, 5, 4, 3]);
    assert.deepEqual(r.totals, [6, 5, 4, 3]);
    assert.equal(r.bp, 1);
  });

  test("brevity penalty: all precisions 100, c = 5 < r = 10 -> 100·exp(1 - 10/5)", () => {
    // hyp "a b c d e": every n-gram is in the reference: 5/5, 4/4, 3/3, 2/2.
    const r = corpusBleu(["a b c d e"], ["a b c d e f g h i j"]);
    assert.deepEqual(r.counts, [5, 4, 3, 2]);
    assert.deepEqual(r.totals, [5, 4, 3, 2]);
    close(r.bp, Math.exp(-1), 1e-15);
    close(r.score, 100 * Math.exp(-1)); // 36.78794411714423
    assert.equal(r.sysLen, 5);
    assert.equal(r.refLen, 10);
  });

  test("one zero precision: exp smoothing vs none", () => {
    // hyp  "the quick brown fox jumps", ref "the quick brown dog jumps"
    // 1-grams: the quick brown jumps match, fox not          -> 4/5 = 80
    // 2-grams: the_quick quick_brown match; brown_fox, fox_jumps not -> 2/4 = 50
    // 3-grams: the_quick_brown matches; quick_brown_fox, brown_fox_jumps not -> 1/3
    // 4-grams: the_quick_brown_fox, quick_brown_fox_jumps: none -> 0/2
    // "exp": first zero order gets 100 / (2 · 2) = 25.
    // BLEU = (80 · 50 · 33.33 · 25)^(1/4) = (3333333.3)^(1/4) = 42.7287...
    const hyp = ["the quick brown fox jumps"];
    const ref = ["the quick brown dog jumps"];
    const r = corpusBleu(hyp, ref);
    assert.deepEqual(r.counts, [4, 2, 1, 0]);
    assert.deepEqual(r.totals, [5, 4, 3, 2]);
    close(r.precisions[3], 25);
    close(r.score, (80 * 50 * (100 / 3) * 25) ** 0.25);
    close(r.score, 42.72870063962342, 1e-9); // sacreBLEU 2.6.0
    const none = corpusBleu(hyp, ref, { smoothMethod: "none" });
    assert.equal(none.precisions[3], 0);
    assert.equal(none.score, 0);
  });

  test("brevity and a zero 4-gram count together", () => {
    // hyp "the quick brown fox" (4), ref "the quick brown dog fox" (5):
    // 4/4, 2/3, 1/2, 0/1 -> p4 = 100/(2·1) = 50; BP = exp(1 - 5/4).
    const r = corpusBleu(["the quick brown fox"], ["the quick brown dog fox"]);
    assert.deepEqual(r.counts, [4, 2, 1, 0]);
    assert.deepEqual(r.totals, [4, 3, 2, 1]);
    close(r.score, Math.exp(-0.25) * (100 * (200 / 3) * 50 * 50) ** 0.25);
    close(r.score, 49.76093899250716, 1e-9); // sacreBLEU 2.6.0
  });

  test("two references: clipping by the max count over references", () => {
    // hyp  "the cat is on the mat"
    // ref1 "the cat sat on the mat", ref2 "there is a cat on the mat"
    // 1-grams: the×2 (ref1 has 2), cat, is (only ref2), on, mat -> 6/6
    // 2-grams: the_cat (ref1), on_the, the_mat match; cat_is, is_on not -> 3/5
    // 3-grams: on_the_mat matches; the_cat_is, cat_is_on, is_on_the not -> 1/4
    // 4-grams: 0/3 -> exp smoothing 100/(2·3) = 16.67
    // lengths: hyp 6, refs 6 and 7 -> closest 6, BP = 1
    // BLEU = (100 · 60 · 25 · 16.667)^(1/4) = 2500000^(1/4) = 39.7635...
    const r = corpusBleu(
      ["the cat is on the mat"],
      [["the cat sat on the mat", "there is a cat on the mat"]],
    );
    assert.deepEqual(r.counts, [6, 3, 1, 0]);
    assert.deepEqual(r.totals, [6, 5, 4, 3]);
    close(r.score, 2500000 ** 0.25);
    close(r.score, 39.76353643835254, 1e-9); // sacreBLEU 2.6.0
    assert.equal(
      formatBleu(r),
      "BLEU = 39.76 100.0/60.0/25.0/16.7 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)",
    );
  });

  test("closest reference length: ties go to the shorter", () => {
    // hyp 6 tokens, refs of 5 and 7 tokens: both 1 away, the shorter (5) is used,
    // so c = 6 >= r = 5 and BP = 1 (taking 7 would give exp(1 - 7/6)).
    const r = corpusBleu(["a b c d e f"], [["a b c d e", "a b c d e f g"]]);
    assert.equal(r.refLen, 5);
    assert.equal(r.bp, 1);
    close(r.score, 100);
    assert.equal(closestRefLen(6, [7, 5]), 5);
    assert.equal(closestRefLen(6, [8, 3]), 8);
  });

  test("counts are summed over the corpus before dividing", () => {
    // seg1 "a b c d" = ref: 4/4 3/3 2/2 1/1; seg2 "x y" vs "z w": 0/2 0/1.
    // corpus: 4/6, 3/4, 2/2, 1/1 -> (66.67 · 75 · 100 · 100)^(1/4) = 84.0896...
    // (the mean of the sentence scores would be (100 + 0)/2 = 50).
    const r = corpusBleu(["a b c d", "x y"], ["a b c d", "z w"]);
    assert.deepEqual(r.counts, [4, 3, 2, 1]);
    assert.deepEqual(r.totals, [6, 4, 2, 1]);
    close(r.score, 5e7 ** 0.25);
  });

  test("no 4-grams at all, or no matches at all, gives 0", () => {
    // "a b c" has no 4-gram: the order loop stops, p4 stays 0, ln 0 -> -9999999999.
    const short = corpusBleu(["a b c"], ["a b c"]);
    assert.deepEqual(short.totals, [3, 2, 1, 0]);
    assert.equal(short.score, 0);
    const none = corpusBleu(["x y z w"], ["a b c d"]);
    assert.equal(none.score, 0);
    assert.deepEqual(none.precisions, [0, 0, 0, 0]);
    assert.equal(corpusBleu([], []).score, 0);
  });

  test("13a tokenization, case and sentence BLEU", () => {
    // "Hello, world!" tokenizes to "Hello , world !" = the reference exactly.
    close(corpusBleu(["Hello, world!"], ["Hello , world !"]).score, 100);
    assert.ok(corpusBleu(["hello , world !"], ["Hello , world !"]).score < 100);
    close(corpusBleu(["hello , world !"], ["Hello , world !"], { lowercase: true }).score, 100);
    // tokenize "none": "world!" stays one token and does not match "world".
    assert.deepEqual(
      corpusBleu(["world!"], ["world !"], { tokenize: "none" }).counts,
      [0, 0, 0, 0],
    );
    // Sentence BLEU uses the effective order: "a b c" vs itself is 100, not 0.
    close(sentenceBleu("a b c", "a b c").score, 100);
  });

  test("computeBleu smoothing variants", () => {
    // floor: zero counts get 100·0.1/total; add-k: +1 to counts and totals for n >= 2.
    const floor = computeBleu([4, 2, 1, 0], [5, 4, 3, 2], 5, 5, { smoothMethod: "floor" });
    close(floor.precisions[3], 5);
    const addk = computeBleu([4, 2, 1, 0], [5, 4, 3, 2], 5, 5, { smoothMethod: "add-k" });
    assert.deepEqual(
      addk.precisions.map((p) => +p.toFixed(6)),
      [80, 60, 50, 33.333333],
    );
    // sacreBLEU reports the add-k-smoothed counts ([4, 3, 2, 1]); we keep the raw ones.
    assert.deepEqual(addk.counts, [4, 2, 1, 0]);
  });

  test("errors", () => {
    assert.throws(() => corpusBleu(["a"], ["a", "b"]), AttnError);
    assert.throws(() => corpusBleu(["a"], [[]]), /no reference/);
  });
});

describe("other metrics", () => {
  test("exactMatch, tokenAccuracy, perplexity", () => {
    assert.equal(exactMatch(["2019-03-05", "x"], ["2019-03-05", "y"]), 0.5);
    assert.equal(exactMatch([], []), 0);
    assert.throws(() => exactMatch(["a"], []), AttnError);
    // targets [5, 6, 0(pad), 7], preds [5, 9, 4, 7] -> 2 of 3 non-pad positions
    const pred = Int32Array.from([5, 9, 4, 7]);
    const tgt = Int32Array.from([5, 6, 0, 7]);
    assert.deepEqual(tokenAccuracyCounts(pred, tgt, 0), { correct: 2, total: 3 });
    close(tokenAccuracy(pred, tgt, 0), 2 / 3);
    assert.equal(tokenAccuracy([0], [0], 0), 0);
    close(perplexity(0), 1);
    close(perplexity(Math.log(11)), 11, 1e-12);
  });
});
