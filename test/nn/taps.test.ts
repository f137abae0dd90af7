/**
 * The tap names (src/nn/taps.ts) are exactly what a recording holds, for
 * every model kind and positional variant: a renamed or dropped tap in model
 * code fails here, and the explorer, which builds its names with the same
 * helpers, cannot silently read a name that is never recorded.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { GPT, type ModelConfig, buildModel, presetConfig } from "../../src/models/index.js";
import { recordIntermediates } from "../../src/nn/hooks.js";
import { attentionTap, tapNames } from "../../src/nn/taps.js";
import { fromArray, noGrad } from "../../src/tensor/index.js";

const cases: [string, Partial<ModelConfig>][] = [
  ["s2s-tiny", {}],
  ["s2s-tiny", { normPlacement: "pre", positional: "learned" }],
  ["s2s-tiny", { positional: "rope" }],
  ["gpt-tiny", {}],
  ["gpt-tiny", { positional: "rope" }],
  ["gpt-tiny", { positional: "alibi" }],
  ["gpt-tiny", { positional: "none", normPlacement: "post" }],
  ["gpt-tiny", { finalNorm: false, attnBias: false, ffnBias: false, outputBias: true }],
  ["s2s-tiny", { finalNorm: true, sinusoidLayout: "halves", activation: "silu", outputBias: true }],
];

for (const [preset, over] of cases) {
  test(`tapNames(${preset} ${JSON.stringify(over)}) is what a forward pass with loss records`, () => {
    const cfg = { ...presetConfig(preset), ...over } as ModelConfig;
    const model = buildModel(cfg);
    model.eval();
    const ids = fromArray([5, 6, 7, 8], [1, 4], "int32");
    const { tensors } = noGrad(() =>
      recordIntermediates(() =>
        model instanceof GPT ? model.loss(ids, ids) : model.loss(ids, ids, ids),
      ),
    );
    const recorded = [...tensors.keys()].sort();
    assert.deepEqual(recorded, tapNames(cfg).sort());
  });
}

test("the path helpers build the names the explorer reads", () => {
  assert.equal(attentionTap("cross", 1, "weights"), "decoder.layers.1.cross_attn.weights");
  assert.equal(attentionTap("enc", 0, "q"), "encoder.layers.0.self_attn.q");
  assert.equal(attentionTap("dec", 2, "scores"), "decoder.layers.2.self_attn.scores");
  assert.equal(attentionTap("self", 3, "masked_scores"), "layers.3.self_attn.masked_scores");
});

test("docs/taps.md lists exactly the tap names, for an encoder-decoder and a GPT", () => {
  const doc = readFileSync(new URL("../../docs/taps.md", import.meta.url), "utf8");
  const listed = (fence: string) => {
    const block = doc.split(`\`\`\`${fence}\n`)[1]?.split("```")[0];
    assert.ok(block, `docs/taps.md has no ${fence} block`);
    return block
      .trim()
      .split("\n")
      .map((l) => l.split(/\s+/)[0])
      .sort();
  };
  const pattern = (cfg: ModelConfig) =>
    [...new Set(tapNames(cfg).map((n) => n.replace(/(^|\.)layers\.\d+\./, "$1layers.N.")))].sort();
  assert.deepEqual(listed("taps-encdec"), pattern(presetConfig("s2s-tiny")));
  assert.deepEqual(listed("taps-gpt"), pattern(presetConfig("gpt-tiny")));
});
