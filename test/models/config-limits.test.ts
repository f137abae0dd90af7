/** The config validator: types, ranges and sizes are refused before any tensor exists. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  buildModel,
  type ModelConfig,
  parameterCount,
  presetConfig,
  validateConfig,
} from "../../src/models/index.js";

const counts = JSON.parse(
  readFileSync(new URL("../fixtures/param_counts.json", import.meta.url), "utf8"),
);

test("parameterCount is what the built model has (and PyTorch's count for the presets)", () => {
  assert.equal(
    parameterCount(presetConfig("paper-base", { vocabSize: 37000 })),
    counts["paper-base@37000"],
  );
  for (const p of ["s2s-small", "s2s-base", "gpt-small"])
    assert.equal(parameterCount(presetConfig(p)), counts[p]);
  for (const [p, over] of [
    ["s2s-tiny", { shareEmbeddings: false, tieOutput: false, outputBias: true, attnBias: true }],
    ["s2s-tiny", { normPlacement: "pre", positional: "learned", ffnBias: false }],
    ["gpt-tiny", { finalNorm: false, attnOutputBias: false, tieOutput: false }],
  ] as const) {
    const cfg = presetConfig(p, over as Partial<ModelConfig>);
    assert.equal(parameterCount(cfg), buildModel(cfg).numParameters(), JSON.stringify(over));
  }
});

test("bad values are refused with the field's name, before anything is allocated", () => {
  const base = presetConfig("s2s-tiny") as unknown as Record<string, unknown>;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ dModel: 8192 * 16, heads: 1 }, /dModel is 131072, above the limit of 65536/],
    [{ decoderLayers: 100000 }, /decoderLayers is 100000, above the limit/],
    [{ dFF: 1e9 }, /dFF is 1000000000, above the limit/],
    [{ maxLen: 1e9 }, /maxLen is 1000000000, above the limit/],
    [
      { vocabSize: 1 << 20, dModel: 4096, heads: 4 },
      /vocabSize × dModel \(the embedding table\) is 4,294,967,296 values, more than one tensor can hold/,
    ],
    [{ lnEps: "1e-5" }, /lnEps must be a number in \(0, 0.1\], got "1e-5"/],
    [{ lnEps: null }, /lnEps must be a number/],
    [{ lnEps: -1 }, /lnEps must be a number/],
    [{ lnEps: 1e300 }, /lnEps must be a number/],
    [{ shareEmbeddings: "yes" }, /shareEmbeddings must be true or false, got "yes"/],
    [{ tieOutput: "no" }, /tieOutput must be true or false/],
    [{ scaleEmbedding: null }, /scaleEmbedding must be true or false, got null/],
    [{ seed: -3 }, /seed must be an integer/],
    [{ heads: "x".repeat(1000) }, /heads must be a positive integer, got "x{30,}\.\.\.$/],
  ];
  for (const [over, re] of cases) {
    assert.throws(
      () => validateConfig({ ...base, ...over } as unknown as ModelConfig),
      re,
      JSON.stringify(over).slice(0, 60),
    );
  }
});
