/** Whole-model properties: parameter counts, no causal leak, padding invariance, clear config errors. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { AttnError } from "../../src/errors.js";
import {
  type EncoderDecoderConfig,
  type GPTConfig,
  presetConfig,
} from "../../src/models/config.js";
import { GPT } from "../../src/models/gpt.js";
import { Transformer } from "../../src/models/transformer.js";
import { Mulberry32, fromArray, noGrad, tidy } from "../../src/tensor/index.js";
import { FIXTURE_DIR } from "../helpers/fixtures.js";

const counts = JSON.parse(readFileSync(`${FIXTURE_DIR}param_counts.json`, "utf8")) as Record<
  string,
  number
>;

function randomIds(rng: Mulberry32, B: number, T: number, vocab: number): number[] {
  return Array.from({ length: B * T }, () => 3 + (rng.nextU32() % (vocab - 3)));
}

const tinyS2S = (over: Partial<EncoderDecoderConfig> = {}) =>
  new Transformer(
    presetConfig("s2s-tiny", {
      vocabSize: 20,
      dModel: 16,
      dFF: 32,
      ...over,
    }) as EncoderDecoderConfig,
  ).eval();
const tinyGPT = (over: Partial<GPTConfig> = {}) =>
  new GPT(
    presetConfig("gpt-tiny", {
      vocabSize: 20,
      dModel: 16,
      dFF: 32,
      maxLen: 16,
      ...over,
    }) as GPTConfig,
  ).eval();

describe("parameter counts equal the PyTorch definitions", () => {
  test("s2s-small, s2s-base, gpt-small (the benchmark models)", () => {
    assert.equal(
      new Transformer(presetConfig("s2s-small") as EncoderDecoderConfig).numParameters(),
      counts["s2s-small"],
    );
    assert.equal(counts["s2s-small"], 7_568_384);
    assert.equal(
      new GPT(presetConfig("gpt-small") as GPTConfig).numParameters(),
      counts["gpt-small"],
    );
    assert.equal(counts["gpt-small"], 5_240_320);
    assert.equal(
      new Transformer(presetConfig("s2s-base") as EncoderDecoderConfig).numParameters(),
      48_197_632,
    );
  });
  test("paper-base with a shared 37k vocabulary", () => {
    const m = new Transformer(
      presetConfig("paper-base", { vocabSize: 37000 }) as EncoderDecoderConfig,
    );
    assert.equal(m.numParameters(), counts["paper-base@37000"]);
    assert.equal(m.numParameters(), 63_045_632);
  });
});

describe("no causal leak", () => {
  for (const positional of ["learned", "sinusoidal", "rope", "alibi"] as const) {
    test(`GPT (${positional}): changing tokens after t never changes logits at positions <= t`, () => {
      const m = tinyGPT({ positional });
      const rng = new Mulberry32(1);
      const T = 8;
      const base = randomIds(rng, 2, T, 20);
      noGrad(() =>
        tidy(() => {
          const ref = m.forward(fromArray(base, [2, T], "int32")).readSync();
          for (let t = 0; t < T - 1; t++) {
            const changed = base.slice();
            for (let b = 0; b < 2; b++)
              for (let j = t + 1; j < T; j++)
                changed[b * T + j] = 3 + ((changed[b * T + j] + 5) % 17);
            const out = m.forward(fromArray(changed, [2, T], "int32")).readSync();
            const V = 20;
            for (let b = 0; b < 2; b++)
              for (let i = 0; i <= t; i++)
                for (let v = 0; v < V; v++) {
                  const k = (b * T + i) * V + v;
                  assert.equal(
                    out[k],
                    ref[k],
                    `position ${i} changed when tokens after ${t} changed`,
                  );
                }
          }
        }),
      );
    });
  }
  test("encoder-decoder: changing target tokens after t never changes decoder outputs at <= t", () => {
    const m = tinyS2S();
    const rng = new Mulberry32(2);
    const src = fromArray(randomIds(rng, 2, 6, 20), [2, 6], "int32");
    const T = 7;
    const tgt = randomIds(rng, 2, T, 20);
    noGrad(() =>
      tidy(() => {
        const ref = m.forward(src, fromArray(tgt, [2, T], "int32")).readSync();
        const V = 20;
        for (let t = 0; t < T - 1; t++) {
          const changed = tgt.slice();
          for (let b = 0; b < 2; b++)
            for (let j = t + 1; j < T; j++) changed[b * T + j] = 3 + (j % 17);
          const out = m.forward(src, fromArray(changed, [2, T], "int32")).readSync();
          for (let b = 0; b < 2; b++)
            for (let i = 0; i <= t; i++)
              for (let v = 0; v < V; v++)
                assert.equal(out[(b * T + i) * V + v], ref[(b * T + i) * V + v]);
        }
      }),
    );
  });
});

describe("padding never leaks", () => {
  test("changing padded positions' token ids changes no non-padded output and not the loss", () => {
    const m = tinyS2S();
    const rng = new Mulberry32(3);
    const [B, S, T] = [3, 6, 5];
    const srcLens = [6, 4, 2];
    const tgtLens = [5, 3, 1];
    const pad = (lens: number[], L: number) =>
      fromArray(
        lens.flatMap((n) => Array.from({ length: L }, (_, i) => (i >= n ? 1 : 0))),
        [lens.length, L],
        "int32",
      );
    const srcPadding = pad(srcLens, S);
    const tgtPadding = pad(tgtLens, T);
    const src = randomIds(rng, B, S, 20);
    const tgtIn = randomIds(rng, B, T, 20);
    const tgtOut = randomIds(rng, B, T, 20);
    const run = (s: number[], ti: number[], to: number[]) =>
      noGrad(() =>
        tidy(() => {
          const { loss, logits } = m.loss(
            fromArray(s, [B, S], "int32"),
            fromArray(ti, [B, T], "int32"),
            fromArray(to, [B, T], "int32"),
            0.1,
            { srcPadding, tgtPadding },
          );
          return { loss: loss.item(), logits: logits.readSync() };
        }),
      );
    const ref = run(src, tgtIn, tgtOut);
    const scramble = (ids: number[], lens: number[], L: number) =>
      ids.map((v, k) => (k % L >= lens[Math.floor(k / L)] ? 3 + ((v * 7 + k) % 17) : v));
    const changed = run(
      scramble(src, srcLens, S),
      scramble(tgtIn, tgtLens, T),
      scramble(tgtOut, tgtLens, T),
    );
    assert.equal(changed.loss, ref.loss);
    const V = 20;
    for (let b = 0; b < B; b++)
      for (let t = 0; t < tgtLens[b]; t++)
        for (let v = 0; v < V; v++)
          assert.equal(changed.logits[(b * T + t) * V + v], ref.logits[(b * T + t) * V + v]);
  });
  test("with PAD ids, the padding mask comes from the ids", () => {
    const m = tinyS2S();
    noGrad(() =>
      tidy(() => {
        const a = m
          .forward(fromArray([5, 6, 0, 0], [1, 4], "int32"), fromArray([1, 7], [1, 2], "int32"))
          .readSync();
        const b = m
          .forward(fromArray([5, 6], [1, 2], "int32"), fromArray([1, 7], [1, 2], "int32"))
          .readSync();
        for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5);
      }),
    );
  });
});

describe("bad configs fail clearly", () => {
  const err = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof AttnError && re.test(e.message));
  test("d_model not divisible by heads", () => {
    err(
      () => presetConfig("s2s-tiny", { dModel: 30, heads: 4 }),
      /dModel 30 is not divisible by heads 4/,
    );
  });
  test("a sequence longer than the positional table", () => {
    const m = tinyS2S({ maxLen: 4, positional: "sinusoidal" });
    err(
      () => m.forward(fromArray([5, 6, 7, 8, 9], [1, 5], "int32"), fromArray([1], [1, 1], "int32")),
      /encoder: sequence of length 5 is longer than maxLen 4/,
    );
    const g = tinyGPT({ maxLen: 4, positional: "learned" });
    err(
      () => g.forward(fromArray([5, 6, 7, 8, 9], [1, 5], "int32")),
      /gpt: sequence of length 5 is longer than maxLen 4/,
    );
  });
  test("unknown preset and bad fields", () => {
    err(() => presetConfig("nope"), /unknown model preset "nope"/);
    err(
      () => presetConfig("s2s-tiny", { positional: "spiral" as never }),
      /positional must be one of/,
    );
    err(() => presetConfig("s2s-tiny", { vocabSize: 0 }), /vocabSize must be a positive integer/);
    err(() => presetConfig("s2s-tiny", { dropout: 1.5 }), /dropout must be in \[0, 1\)/);
  });
  test("token ids outside the vocabulary", () => {
    err(
      () => tinyGPT().forward(fromArray([5, 25], [1, 2], "int32")),
      /token id 25 is outside the vocabulary of 20/,
    );
  });
});
