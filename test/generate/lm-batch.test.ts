/**
 * GPT generation over several prompts at once, the context limit, the GPT loss
 * with ignored targets, and greedy seq2seq decoding without the EOS stop.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { generate, generateBatch, greedyDecode } from "../../src/generate/index.js";
import {
  type EncoderDecoderConfig,
  type GPTConfig,
  presetConfig,
} from "../../src/models/config.js";
import { GPT } from "../../src/models/gpt.js";
import { Transformer } from "../../src/models/transformer.js";
import { AttnError } from "../../src/errors.js";
import { fromArray, noGrad } from "../../src/tensor/index.js";

const gpt = (maxLen = 48) =>
  new GPT(
    presetConfig("gpt-tiny", { vocabSize: 16, dModel: 16, dFF: 32, maxLen, seed: 3 }) as GPTConfig,
  ).eval();

const prompts = [[4, 5, 6], [7], [8, 9, 10], [11, 4], [5]];

describe("generateBatch", () => {
  test("greedy: each prompt gets what generate gives it alone (mixed lengths, cache or not)", () => {
    const m = gpt();
    const alone = prompts.map((p) => generate(m, p, { maxNewTokens: 8 }));
    assert.deepEqual(generateBatch(m, prompts, { maxNewTokens: 8 }), alone);
    assert.deepEqual(generateBatch(m, prompts, { maxNewTokens: 8, cache: false }), alone);
  });

  test("sampling: each prompt's own seeded generator, stop ids end that prompt only", () => {
    const m = gpt();
    const opts = { maxNewTokens: 12, temperature: 0.9, topK: 6, seed: 5, stop: [2] };
    const alone = prompts.map((p) => generate(m, p, opts));
    assert.deepEqual(generateBatch(m, prompts, opts), alone);
  });

  test("prompt + new tokens may be context + 1 (the last token is never fed), not + 2", () => {
    const m = gpt(8);
    assert.equal(generateBatch(m, [[4, 5, 6]], { maxNewTokens: 6 })[0].length, 6);
    assert.throws(
      () => generateBatch(m, [[4, 5, 6]], { maxNewTokens: 7 }),
      (e: unknown) =>
        e instanceof AttnError && /feed 9 positions, more than the context of 8/.test(e.message),
    );
    assert.throws(() => generateBatch(m, [[]], { maxNewTokens: 1 }), /prompt 0 is empty/);
  });
});

test("generate past the context: each step reads the last maxLen tokens (a sliding window)", () => {
  const m = gpt(8);
  const prompt = [4, 5, 6, 7, 8, 9, 10, 11, 12, 4];
  for (const cache of [true, false]) {
    const seen: Float32Array[] = [];
    const opts = { maxNewTokens: 14, temperature: 1, seed: 3, cache };
    const out = generate(m, prompt, { ...opts, onLogits: (_s, l) => seen.push(l.slice()) });
    assert.equal(out.length, 14);
    // The reference: a full forward over the last 8 tokens of the text so far, at every step.
    const seq = [...prompt, ...out];
    seen.forEach((got, step) => {
      const end = prompt.length + step;
      const input = seq.slice(end - 8, end);
      const want = noGrad(() =>
        m.forward(fromArray(input, [1, 8], "int32"), { lastOnly: true }).readSync(),
      );
      for (let v = 0; v < want.length; v++)
        assert.ok(Math.abs(got[v] - want[v]) < 1e-4, `step ${step} (cache ${cache}), logit ${v}`);
    });
  }
  // A prompt shorter than the context: cached steps first, then the window.
  assert.equal(generate(m, [4, 5, 6], { maxNewTokens: 14, temperature: 0 }).length, 14);
});

test("GPT.loss ignores the targets equal to ignoreIndex (a padded batch)", () => {
  const m = gpt();
  noGrad(() => {
    const full = m.loss(
      fromArray([4, 5, 6, 7], [1, 4], "int32"),
      fromArray([5, 6, 7, 8], [1, 4], "int32"),
    );
    const padded = m.loss(
      fromArray([4, 5, 6, 7, 0, 0], [1, 6], "int32"),
      fromArray([5, 6, 7, 8, 0, 0], [1, 6], "int32"),
      {
        ignoreIndex: 0,
      },
    );
    const unmasked = m.loss(
      fromArray([4, 5, 6, 7, 0, 0], [1, 6], "int32"),
      fromArray([5, 6, 7, 8, 0, 0], [1, 6], "int32"),
    );
    assert.ok(Math.abs(full.loss.item() - padded.loss.item()) < 1e-5);
    assert.ok(Math.abs(full.loss.item() - unmasked.loss.item()) > 1e-3);
  });
});

test("greedyDecode with stopAtEos false decodes exactly maxLen tokens, cached and not alike", () => {
  const m = new Transformer(
    presetConfig("s2s-tiny", {
      vocabSize: 16,
      dModel: 16,
      dFF: 32,
      maxLen: 64,
      seed: 2,
    }) as EncoderDecoderConfig,
  ).eval();
  const src = fromArray([4, 5, 6, 2, 7, 8, 2, 0], [2, 4], "int32");
  const a = greedyDecode(m, src, { maxLen: 9, stopAtEos: false });
  const b = greedyDecode(m, src, { maxLen: 9, stopAtEos: false, cache: false });
  assert.deepEqual(
    a.map((r) => r.length),
    [9, 9],
  );
  assert.deepEqual(a, b);
  assert.throws(() => greedyDecode(m, src, { stopAtEos: false }), /needs maxLen/);
});
