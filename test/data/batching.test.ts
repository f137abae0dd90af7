import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BOS_ID,
  EOS_ID,
  PAD_ID,
  type Seq2SeqExample,
  batchByTokens,
  causalMask,
  makeLmBatch,
  makeSeq2SeqBatch,
  paddingMaskFromIds,
  paddingMaskFromLengths,
  sampleLmOffsets,
  sequentialLmOffsets,
} from "../../src/data/batching.js";
import { AttnError } from "../../src/errors.js";
import { Mulberry32 } from "../../src/tensor/random.js";

function rows(a: Int32Array | Uint8Array, width: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < a.length; i += width) out.push([...a.subarray(i, i + width)]);
  return out;
}

/** Random examples with ids >= 4 and lengths in 1..maxLen. */
function randomExamples(n: number, maxLen: number, seed: number): Seq2SeqExample[] {
  const rng = new Mulberry32(seed);
  const seq = () => Array.from({ length: rng.intIn(1, maxLen) }, () => rng.intIn(4, 30));
  return Array.from({ length: n }, () => ({ src: seq(), tgt: seq() }));
}

describe("makeSeq2SeqBatch", () => {
  test("BOS/EOS convention, right padding, lengths", () => {
    assert.deepEqual([PAD_ID, BOS_ID, EOS_ID], [0, 1, 2]);
    const b = makeSeq2SeqBatch([
      { src: [5, 6, 7], tgt: [10, 11] },
      { src: [8], tgt: [12, 13, 14, 15] },
    ]);
    assert.equal(b.size, 2);
    assert.equal(b.srcLen, 4); // 3 + EOS
    assert.equal(b.tgtLen, 5); // 4 + 1
    assert.deepEqual(rows(b.src, 4), [
      [5, 6, 7, 2],
      [8, 2, 0, 0],
    ]);
    assert.deepEqual(rows(b.tgtIn, 5), [
      [1, 10, 11, 0, 0],
      [1, 12, 13, 14, 15],
    ]);
    assert.deepEqual(rows(b.tgtOut, 5), [
      [10, 11, 2, 0, 0],
      [12, 13, 14, 15, 2],
    ]);
    assert.deepEqual([...b.srcLengths], [4, 2]);
    assert.deepEqual([...b.tgtLengths], [3, 5]);
    assert.equal(b.numTgtTokens, 8);
    assert.deepEqual([...b.indices], [0, 1]);
    // tgtIn shifted left by one equals tgtOut on non-pad positions.
    for (let r = 0; r < 2; r++) {
      for (let i = 0; i + 1 < b.tgtLengths[r]; i++) {
        assert.equal(b.tgtIn[r * 5 + i + 1], b.tgtOut[r * 5 + i]);
      }
    }
  });

  test("srcEos off; empty target gives [BOS] -> [EOS]", () => {
    const b = makeSeq2SeqBatch([{ src: [5, 6], tgt: [] }], { srcEos: false });
    assert.deepEqual([...b.src], [5, 6]);
    assert.deepEqual([...b.tgtIn], [BOS_ID]);
    assert.deepEqual([...b.tgtOut], [EOS_ID]);
    assert.throws(() => makeSeq2SeqBatch([{ src: [], tgt: [4] }], { srcEos: false }), AttnError);
    assert.throws(() => makeSeq2SeqBatch([]), AttnError);
    assert.throws(() => makeSeq2SeqBatch([{ src: [1.5], tgt: [4] }]), /invalid token id/);
  });
});

describe("batchByTokens", () => {
  const examples = randomExamples(300, 40, 1);
  const cost = (e: Seq2SeqExample) => Math.max(e.src.length + 1, e.tgt.length + 1);

  test("budget respected, every example exactly once, batches consistent", () => {
    const maxTokens = 200;
    const batches = batchByTokens(examples, { maxTokens });
    const seen = new Set<number>();
    for (const b of batches) {
      assert.ok(b.size * Math.max(b.srcLen, b.tgtLen) <= maxTokens);
      for (let r = 0; r < b.size; r++) {
        const i = b.indices[r];
        assert.ok(!seen.has(i));
        seen.add(i);
        const ex = examples[i];
        assert.deepEqual([...b.src.subarray(r * b.srcLen, r * b.srcLen + ex.src.length)], ex.src);
        assert.deepEqual(
          [...b.tgtOut.subarray(r * b.tgtLen, r * b.tgtLen + ex.tgt.length)],
          ex.tgt,
        );
      }
    }
    assert.equal(seen.size, examples.length);
  });

  test("bucketing keeps padding small compared with no bucketing", () => {
    const padFrac = (bs: ReturnType<typeof batchByTokens>) => {
      let padded = 0;
      let real = 0;
      for (const b of bs) {
        padded += b.size * Math.max(b.srcLen, b.tgtLen);
        for (let r = 0; r < b.size; r++) real += cost(examples[b.indices[r]]);
      }
      return 1 - real / padded;
    };
    const bucketed = padFrac(batchByTokens(examples, { maxTokens: 400 }));
    const plain = padFrac(batchByTokens(examples, { maxTokens: 400, bucket: false }));
    assert.ok(bucketed < 0.05, `bucketed padding ${bucketed}`);
    assert.ok(bucketed < plain);
  });

  test("an example longer than maxTokens goes alone; maxRows caps rows", () => {
    const ex = [
      { src: [4, 4, 4], tgt: [4] },
      { src: Array(50).fill(5), tgt: [5] },
      { src: [6], tgt: [6] },
    ];
    const bs = batchByTokens(ex, { maxTokens: 10 });
    const big = bs.find((b) => b.indices.includes(1));
    assert.ok(big);
    assert.equal(big.size, 1);
    assert.equal(
      bs.reduce((s, b) => s + b.size, 0),
      3,
    );
    for (const b of batchByTokens(examples, { maxTokens: 10000, maxRows: 7 }))
      assert.ok(b.size <= 7);
  });

  test("deterministic given the rng; shuffle changes order between epochs", () => {
    const a = batchByTokens(examples, { maxTokens: 300, shuffle: true, rng: new Mulberry32(5) });
    const b = batchByTokens(examples, { maxTokens: 300, shuffle: true, rng: new Mulberry32(5) });
    assert.deepEqual(a, b);
    const rng = new Mulberry32(5);
    const e1 = batchByTokens(examples, { maxTokens: 300, shuffle: true, rng });
    const e2 = batchByTokens(examples, { maxTokens: 300, shuffle: true, rng });
    assert.deepEqual(e1, a);
    assert.notDeepEqual(
      e1.map((x) => [...x.indices]),
      e2.map((x) => [...x.indices]),
    );
    assert.deepEqual(
      batchByTokens(examples, { maxTokens: 300 }),
      batchByTokens(examples, { maxTokens: 300 }),
    );
    assert.throws(() => batchByTokens(examples, { maxTokens: 300, shuffle: true }), /needs an rng/);
    assert.throws(() => batchByTokens(examples, { maxTokens: 0 }), AttnError);
  });
});

describe("masks", () => {
  test("padding mask from lengths and from ids; causal mask", () => {
    const m = paddingMaskFromLengths(Int32Array.from([3, 1]), 4);
    assert.deepEqual(rows(m, 4), [
      [0, 0, 0, 1],
      [0, 1, 1, 1],
    ]);
    const b = makeSeq2SeqBatch([
      { src: [5, 6, 7], tgt: [9] },
      { src: [8], tgt: [9] },
    ]);
    assert.deepEqual(
      paddingMaskFromIds(b.src, b.size, b.srcLen),
      paddingMaskFromLengths(b.srcLengths, b.srcLen),
    );
    assert.deepEqual(rows(causalMask(3), 3), [
      [0, 1, 1],
      [0, 0, 1],
      [0, 0, 0],
    ]);
    assert.throws(() => paddingMaskFromLengths(Int32Array.from([5]), 4), AttnError);
  });
});

describe("language-model batches", () => {
  test("target is input shifted by one", () => {
    const ids = Array.from({ length: 20 }, (_, i) => 100 + i);
    const lm = makeLmBatch(ids, [0, 7, 15], 4);
    assert.deepEqual(rows(lm.input, 4), [
      [100, 101, 102, 103],
      [107, 108, 109, 110],
      [115, 116, 117, 118],
    ]);
    assert.deepEqual(rows(lm.target, 4), [
      [101, 102, 103, 104],
      [108, 109, 110, 111],
      [116, 117, 118, 119],
    ]);
    assert.throws(() => makeLmBatch(ids, [16], 4), /needs 21 tokens, have 20/);
  });

  test("sampled offsets are in range and deterministic; sequential offsets", () => {
    const a = sampleLmOffsets(50, 8, 1000, new Mulberry32(3));
    assert.deepEqual(a, sampleLmOffsets(50, 8, 1000, new Mulberry32(3)));
    assert.equal(Math.min(...a), 0);
    assert.equal(Math.max(...a), 41); // 50 - 8 - 1
    const ids = Array.from({ length: 50 }, (_, i) => i);
    makeLmBatch(ids, a, 8); // every window valid
    assert.throws(() => sampleLmOffsets(8, 8, 1, new Mulberry32(1)), /too few/);
    assert.deepEqual(sequentialLmOffsets(20, 4), [0, 4, 8, 12]);
    assert.deepEqual(sequentialLmOffsets(21, 4), [0, 4, 8, 12, 16]);
    assert.deepEqual(sequentialLmOffsets(10, 4, 2), [0, 2, 4]);
  });
});
