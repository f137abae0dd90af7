/**
 * The explorer's decoding (web/src/engine) runs the library's loops: its
 * greedy and beam outputs equal decodeBatch's, its GPT continuation equals
 * generate()'s, and each step it shows is the step the loop took.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadRun } from "../../src/cli/load.js";
import { decodeBatch } from "../../src/generate/decode.js";
import { generate } from "../../src/generate/lm.js";
import { GPT } from "../../src/models/gpt.js";
import { Transformer } from "../../src/models/transformer.js";
import { EOS_ID } from "../../src/tokenizers/tokenizer.js";
import { beamSearch, greedyDecode } from "../../web/src/engine/decode.js";
import { gptGenerate } from "../../web/src/engine/generate.js";

const SHIPPED = "web/public/checkpoints";

describe("the explorer decodes with the library's loops", () => {
  const dates = loadRun(`${SHIPPED}/dates`);
  const model = dates.model as Transformer;
  const inputs = ["march 9th, 1987", "12/31/1999", "the 4th of july 2021"];

  test("greedy: same tokens as decodeBatch; one shown step per token, plus the EOS step", () => {
    assert.ok(model instanceof Transformer);
    for (const text of inputs) {
      const ids = dates.tokenizer.encode(text);
      const want = decodeBatch(model, [ids], { maxLen: 20 })[0][0].tokens;
      const got = greedyDecode(model, [...ids, EOS_ID], 20);
      assert.deepEqual(got.ids, want, text);
      assert.equal(got.steps.length, want.length + 1);
      assert.deepEqual(
        got.steps.map((s) => s.token),
        [...want, EOS_ID],
      );
      for (const s of got.steps) {
        assert.equal(s.top[0].id, s.token, "greedy takes the most likely token");
        assert.equal(s.cross.shape[1], ids.length + 1, "cross-attention over the source and EOS");
      }
    }
  });

  test("a step limit cuts the output without an EOS step", () => {
    const ids = dates.tokenizer.encode(inputs[0]);
    const got = greedyDecode(model, [...ids, EOS_ID], 4);
    assert.equal(got.ids.length, 4);
    assert.equal(got.steps.length, 4);
  });

  test("beam search: the last row is decodeBatch's hypotheses, best first", () => {
    for (const text of inputs) {
      const ids = dates.tokenizer.encode(text);
      const want = decodeBatch(model, [ids], { beam: 3, maxLen: 20 })[0];
      const history = beamSearch(model, [...ids, EOS_ID], 3, 20);
      const last = history[history.length - 1];
      assert.deepEqual(
        last.map((b) => b.ids),
        want.map((h) => h.tokens),
      );
      assert.ok(last.every((b) => b.done));
      for (const row of history.slice(0, -1)) {
        const live = row.filter((b) => !b.done);
        assert.ok(live.length <= 3 && live.length > 0);
        for (let i = 1; i < live.length; i++) assert.ok(live[i - 1].logp >= live[i].logp);
      }
    }
  });

  test("GPT: the continuation equals generate(), greedy and sampled", () => {
    const kjv = loadRun(`${SHIPPED}/kjv-gpt`);
    const gpt = kjv.model as GPT;
    assert.ok(gpt instanceof GPT);
    const prompt = kjv.tokenizer.encode("And God said");
    const greedy = gptGenerate(gpt, prompt, null);
    const n = greedy.ids.length;
    assert.ok(n > 0);
    assert.deepEqual(
      greedy.ids,
      generate(gpt, prompt, { maxNewTokens: n, temperature: 0, stop: [gpt.config.eosId] }),
    );
    assert.deepEqual(
      greedy.steps.slice(0, n).map((s) => s.token),
      greedy.ids,
    );
    const sampling = { temperature: 0.8, topK: 20, topP: 1, seed: 5, length: 150 };
    const sampled = gptGenerate(gpt, prompt, sampling);
    assert.deepEqual(
      sampled.ids,
      generate(gpt, prompt, {
        maxNewTokens: sampled.ids.length,
        temperature: 0.8,
        topK: 20,
        topP: 1,
        seed: 5,
        stop: [gpt.config.eosId],
      }),
    );
    assert.ok(sampled.steps[0].sampled && sampled.steps[0].sampled.length > 0);
    // The length control, past the 128-position context.
    assert.equal(sampled.ids.length, 150);
  });
});
