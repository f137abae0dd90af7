/**
 * The benchmark's data stream must stay identical to the PyTorch peer's
 * (../shared/bench/README.md "Data", peer_pytorch.make_s2s_batch /
 * make_token_block). Expected values come from (a) an independent
 * re-implementation of the README's rules here, with BigInt arithmetic instead
 * of Math.imul, and (b) numbers printed by the peer's own functions.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BENCH_CONFIGS,
  BOS,
  DATA_SEED,
  PAD,
  Workload,
  benchConfigNames,
  makeS2SBatch,
  makeTokenBlock,
} from "../../src/cli/bench.js";
import { Mulberry32 } from "../../src/tensor/random.js";
import { paperSchedule } from "../../src/train/schedules.js";
import { memory } from "../../src/tensor/index.js";

/** mulberry32 written literally from the README's formula (mod 2^32 with BigInt). */
class ReadmeStream {
  private state: bigint;
  constructor(seed: number) {
    this.state = BigInt(seed) & 0xffffffffn;
  }
  u(): number {
    const M = 0x100000000n;
    this.state = (this.state + 0x6d2b79f5n) % M;
    let t = this.state;
    t = ((t ^ (t >> 15n)) * (t | 1n)) % M;
    t = t ^ ((t + (((t ^ (t >> 7n)) * (t | 61n)) % M)) % M);
    return Number(t ^ (t >> 14n));
  }
  length(lo: number, hi: number): number {
    return lo + (this.u() % (hi - lo + 1));
  }
  token(vocab: number): number {
    return 3 + (this.u() % (vocab - 3));
  }
}

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0);
const row = (a: Int32Array, r: number, w: number) => Array.from(a.subarray(r * w, (r + 1) * w));

describe("bench data stream", () => {
  test("first draws of seed 12345 (README)", () => {
    const ours = new Mulberry32(DATA_SEED);
    const ref = new ReadmeStream(12345);
    const expected = [4207900869, 1317490944, 2079646450];
    for (const e of expected) {
      assert.equal(ours.nextU32(), e);
      assert.equal(ref.u(), e);
    }
    // and the two agree further on
    for (let i = 0; i < 1000; i++) assert.equal(ours.nextU32(), ref.u());
  });

  test("s2s-small-train batch 0 matches the README's rules and the peer", () => {
    const cfg = BENCH_CONFIGS["s2s-small-train"];
    assert.equal(cfg.kind, "s2s_train");
    if (cfg.kind !== "s2s_train") return;
    assert.deepEqual([cfg.batch, cfg.minLen, cfg.maxLen, cfg.padTo], [64, 16, 32, 32]);
    const V = 8000;
    const b = makeS2SBatch(new Mulberry32(DATA_SEED), 64, 16, 32, 32, V);

    // Derived from the first three draws: S = 16 + u1 mod 17, T = 16 + u2 mod 17, first token 3 + u3 mod 7997.
    const S0 = 16 + (4207900869 % 17);
    const T0 = 16 + (1317490944 % 17);
    assert.equal(S0, 25);
    assert.equal(T0, 21);
    assert.equal(b.src[0], 3 + (2079646450 % 7997));
    assert.equal(b.src[0], 2612);

    // Independent re-implementation, pair by pair: S, T, S source tokens, T target tokens.
    const ref = new ReadmeStream(12345);
    let nTgt = 0;
    for (let r = 0; r < 64; r++) {
      const S = ref.length(16, 32);
      const T = ref.length(16, 32);
      const src = Array.from({ length: S }, () => ref.token(V));
      const y = Array.from({ length: T }, () => ref.token(V));
      const pad = (xs: number[]) => xs.concat(new Array(32 - xs.length).fill(PAD));
      assert.deepEqual(row(b.src, r, 32), pad(src), `src row ${r}`);
      assert.deepEqual(row(b.decIn, r, 32), pad([BOS, ...y.slice(0, T - 1)]), `dec_in row ${r}`);
      assert.deepEqual(row(b.labels, r, 32), pad(y), `labels row ${r}`);
      nTgt += T;
    }
    assert.equal(b.nTgt, nTgt);

    // Printed by peer_pytorch.make_s2s_batch(Mulberry32(12345), 64, 16, 32, 32, 8000).
    assert.equal(b.nTgt, 1566);
    assert.deepEqual(row(b.src, 0, 32).slice(0, 6), [2612, 7422, 6986, 4131, 1072, 2596]);
    assert.deepEqual(row(b.decIn, 0, 32).slice(0, 4), [1, 5496, 4612, 4183]);
    assert.equal(b.labels[20], 2223); // y_T of row 0 (T = 21)
    assert.equal(b.labels[21], PAD);
    assert.equal(sum(b.src), 6259441);
    assert.equal(sum(b.decIn), 6057373);
    assert.equal(sum(b.labels), 6293953);
  });

  test("later batches and the other workloads' data (peer values)", () => {
    const rng = new Mulberry32(DATA_SEED);
    makeS2SBatch(rng, 64, 16, 32, 32, 8000);
    const b1 = makeS2SBatch(rng, 64, 16, 32, 32, 8000);
    assert.equal(b1.nTgt, 1566);
    assert.equal(sum(b1.src), 6116248);
    assert.equal(sum(b1.labels), 6234906);

    const base = makeS2SBatch(new Mulberry32(DATA_SEED), 16, 16, 32, 32, 8000);
    assert.equal(base.nTgt, 404);
    assert.equal(sum(base.src), 1672775);

    const block = makeTokenBlock(new Mulberry32(DATA_SEED), 16, 129, 8000);
    assert.equal(sum(block), 8402145);
    assert.deepEqual(Array.from(block.subarray(0, 5)), [7424, 1191, 2612, 7422, 6986]);
    assert.deepEqual(Array.from(block.subarray(16 * 129 - 3)), [913, 5437, 4937]);

    const prompt = makeTokenBlock(new Mulberry32(DATA_SEED), 1, 16, 8000);
    assert.deepEqual(
      Array.from(prompt),
      [
        7424, 1191, 2612, 7422, 6986, 4131, 1072, 2596, 7061, 5883, 2297, 5807, 7822, 5252, 741,
        3049,
      ],
    );

    const src = makeTokenBlock(new Mulberry32(DATA_SEED), 32, 32, 8000);
    assert.equal(sum(src), 4182100);
  });

  test("the peer's learning rate (the paper's schedule, warm-up 4000) counts from step 1", () => {
    const lr = (n: number, d: number) => paperSchedule({ dModel: d, warmup: 4000 })(n);
    assert.equal(lr(1, 256), 256 ** -0.5 * 4000 ** -1.5);
    assert.equal(lr(4000, 512), 512 ** -0.5 * 4000 ** -0.5);
  });

  test("workload names, defaults and metrics are the peer's", () => {
    assert.deepEqual(benchConfigNames(), [
      "s2s-small-train",
      "s2s-base-train",
      "gpt-small-train",
      "gpt-small-decode",
      "gpt-small-decode-nocache",
      "s2s-small-translate",
    ]);
    const d = Object.values(BENCH_CONFIGS).map((c) => [c.warmup, c.steps, c.metric]);
    assert.deepEqual(d, [
      [2, 12, "target_tokens_per_s"],
      [2, 10, "target_tokens_per_s"],
      [2, 12, "tokens_per_s"],
      [2, 30, "new_tokens_per_s"],
      [1, 6, "new_tokens_per_s"],
      [2, 20, "target_tokens_per_s"],
    ]);
  });
});

describe("bench workloads (shrunken models, for speed)", () => {
  // Same workloads and batches; only the model is made tiny so that a step takes milliseconds.
  const shrink = (name: string) =>
    BENCH_CONFIGS[name].model.startsWith("gpt")
      ? { dModel: 16, heads: 2, dFF: 32, layers: 1, vocabSize: 64 }
      : { dModel: 16, heads: 2, dFF: 32, encoderLayers: 1, decoderLayers: 1, vocabSize: 64 };
  const counted: Record<string, number> = {
    "s2s-small-train": 1566,
    "s2s-base-train": 404,
    "gpt-small-train": 2048,
    "gpt-small-decode": 112,
    "gpt-small-decode-nocache": 112,
    "s2s-small-translate": 1024,
  };
  for (const name of benchConfigNames()) {
    test(`${name}: counted tokens, flat engine memory`, () => {
      const wl = new Workload(name, BENCH_CONFIGS[name], 2, shrink(name));
      assert.equal(wl.step(0), counted[name]);
      const after0 = memory().bytes;
      wl.step(1);
      assert.equal(memory().bytes, after0, "engine memory grows across steps");
      if (BENCH_CONFIGS[name].kind.endsWith("train")) {
        assert.ok(Number.isFinite(wl.lastLoss), "loss read back");
      } else {
        assert.equal(wl.lastOutput?.length, counted[name]);
      }
    });
  }
});
