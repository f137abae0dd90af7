/** Decoding: the KV cache changes nothing, beam 1 is greedy, sampling honours its options. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type EncoderDecoderConfig,
  type GPTConfig,
  presetConfig,
} from "../../src/models/config.js";
import { GPT } from "../../src/models/gpt.js";
import { Transformer } from "../../src/models/transformer.js";
import {
  beamSearch,
  generate,
  greedyDecode,
  lengthPenalty,
  sampleToken,
  samplingDistribution,
} from "../../src/generate/index.js";
import { Mulberry32, fromArray, memory } from "../../src/tensor/index.js";

const s2s = (positional: "sinusoidal" | "learned" | "rope" | "alibi" = "sinusoidal", seed = 1) =>
  new Transformer(
    presetConfig("s2s-tiny", {
      vocabSize: 16,
      dModel: 16,
      dFF: 32,
      maxLen: 64,
      positional,
      seed,
    }) as EncoderDecoderConfig,
  ).eval();
const gpt = (positional: "learned" | "rope" | "alibi" = "learned") =>
  new GPT(
    presetConfig("gpt-tiny", {
      vocabSize: 16,
      dModel: 16,
      dFF: 32,
      maxLen: 48,
      positional,
      seed: 3,
    }) as GPTConfig,
  ).eval();

const src = fromArray([5, 6, 7, 8, 9, 10, 4, 0, 11, 3, 12, 0, 0, 0], [2, 7], "int32");

describe("KV cache equals uncached decoding", () => {
  for (const positional of ["sinusoidal", "learned", "rope", "alibi"] as const) {
    test(`encoder-decoder greedy (${positional}): same tokens, logits within 1e-5`, () => {
      const m = s2s(positional);
      const logged = {
        cached: new Map<string, Float32Array>(),
        plain: new Map<string, Float32Array>(),
      };
      const a = greedyDecode(m, src, {
        maxLen: 12,
        onLogits: (r, s, l) => logged.cached.set(`${r}/${s}`, l.slice()),
      });
      const b = greedyDecode(m, src, {
        maxLen: 12,
        cache: false,
        onLogits: (r, s, l) => logged.plain.set(`${r}/${s}`, l.slice()),
      });
      assert.deepEqual(a, b);
      assert.deepEqual([...logged.cached.keys()].sort(), [...logged.plain.keys()].sort());
      assert.ok(logged.cached.size >= 6, `decoded only ${logged.cached.size} steps`);
      for (const [key, row] of logged.cached)
        for (let j = 0; j < 16; j++)
          assert.ok(Math.abs(row[j] - logged.plain.get(key)![j]) < 1e-5, `${key} logit ${j}`);
    });
  }
  for (const positional of ["learned", "rope", "alibi"] as const) {
    test(`GPT sampling (${positional}): same tokens and logits with and without cache`, () => {
      const m = gpt(positional);
      const la: Float32Array[] = [];
      const lb: Float32Array[] = [];
      const opts = { maxNewTokens: 20, temperature: 1, seed: 9 };
      const a = generate(m, [4, 5, 6], { ...opts, onLogits: (_s, l) => la.push(l.slice()) });
      const b = generate(m, [4, 5, 6], {
        ...opts,
        cache: false,
        onLogits: (_s, l) => lb.push(l.slice()),
      });
      assert.deepEqual(a, b);
      assert.equal(a.length, 20);
      for (let i = 0; i < la.length; i++)
        for (let j = 0; j < 16; j++) assert.ok(Math.abs(la[i][j] - lb[i][j]) < 1e-5);
    });
  }
  test("decoding leaves engine memory where it was", () => {
    const m = s2s();
    greedyDecode(m, src, { maxLen: 4 });
    const before = memory().bytes;
    greedyDecode(m, src, { maxLen: 8 });
    beamSearch(m, fromArray([5, 6, 7], [1, 3], "int32"), { beam: 3, maxLen: 8 });
    generate(gpt(), [4], { maxNewTokens: 5 });
    assert.ok(memory().bytes <= before + 200_000, "decoding leaked engine memory");
  });
});

describe("beam search", () => {
  test("beam 1 equals greedy", () => {
    for (const seed of [1, 2, 3, 4]) {
      const m = s2s("sinusoidal", seed);
      for (let b = 0; b < 2; b++) {
        const one = fromArray(src.readSync().subarray(b * 7, b * 7 + 7), [1, 7], "int32");
        const greedy = greedyDecode(m, one, { maxLen: 15 })[0];
        const beam = beamSearch(m, one, { beam: 1, maxLen: 15 })[0];
        assert.deepEqual(beam.tokens, greedy);
      }
    }
  });
  test("wider beams find a hypothesis at least as likely as greedy's, sorted by score", () => {
    const m = s2s("sinusoidal", 5);
    const one = fromArray([5, 6, 7, 8], [1, 4], "int32");
    const hyps = beamSearch(m, one, { beam: 4, alpha: 0, maxLen: 10 });
    const greedy = beamSearch(m, one, { beam: 1, alpha: 0, maxLen: 10 })[0];
    assert.ok(hyps.length >= 1);
    for (let i = 1; i < hyps.length; i++) assert.ok(hyps[i - 1].score >= hyps[i].score);
    // The same tokens scored in a batch of 4 and of 1 take different GEMM paths:
    // equal up to float32 rounding, not bit for bit.
    assert.ok(hyps[0].logProb >= greedy.logProb - 1e-5);
  });
  test("GNMT length penalty", () => {
    assert.equal(lengthPenalty(1, 0.6), 1);
    assert.ok(Math.abs(lengthPenalty(10, 0.6) - (15 / 6) ** 0.6) < 1e-12);
    assert.equal(lengthPenalty(7, 0), 1);
  });
});

describe("sampling", () => {
  const row = Float32Array.from([1, 3, 2, 0.5, 2.9]);
  test("temperature 0 and top-k 1 are greedy", () => {
    const rng = new Mulberry32(1);
    for (let i = 0; i < 10; i++) {
      assert.equal(sampleToken(row, { temperature: 0 }, rng), 1);
      assert.equal(sampleToken(row, { topK: 1 }, rng), 1);
    }
  });
  test("top-k and top-p keep the right tokens", () => {
    assert.deepEqual(samplingDistribution(row, { topK: 3 }).ids, [1, 4, 2]);
    // softmax of [3, 2.9, 2, 1, 0.5]: 0.41, 0.37, 0.15, 0.06, 0.03 -> top-p 0.8 keeps three.
    const d = samplingDistribution(row, { topP: 0.8 });
    assert.deepEqual(d.ids, [1, 4, 2]);
    assert.ok(Math.abs(d.probs.reduce((s, p) => s + p, 0) - 1) < 1e-12);
  });
  test("draws follow the distribution and are reproducible by seed", () => {
    const counts = new Array(5).fill(0);
    const rng = new Mulberry32(2);
    for (let i = 0; i < 20000; i++) counts[sampleToken(row, { temperature: 1 }, rng)]++;
    const z = [...row].reduce((s, v) => s + Math.exp(v), 0);
    for (let i = 0; i < row.length; i++)
      assert.ok(Math.abs(counts[i] / 20000 - Math.exp(row[i]) / z) < 0.015);
    const a = generate(gpt(), [4, 5], { maxNewTokens: 10, temperature: 0.8, topK: 5, seed: 4 });
    const b = generate(gpt(), [4, 5], { maxNewTokens: 10, temperature: 0.8, topK: 5, seed: 4 });
    assert.deepEqual(a, b);
  });
  test("stop tokens end generation", () => {
    const m = gpt();
    const free = generate(m, [4], { maxNewTokens: 10, temperature: 0 });
    const stopped = generate(m, [4], { maxNewTokens: 10, temperature: 0, stop: [free[2]] });
    assert.ok(stopped.length <= 2);
  });
});
