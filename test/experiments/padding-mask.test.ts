/**
 * The padding-mask experiment: the noPaddingMask switch itself (PAD keys are
 * attended only when it is on), then the quick run on fixed seeds: the table
 * has both arms at every padding with finite numbers, and its headline holds
 * (without the mask the outputs change with padding; with it they do not).
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { runExperiment } from "../../src/experiments/experiment.js";
import {
  PADDING_ARMS,
  padGroup,
  paddingBudget,
  paddingMask,
} from "../../src/experiments/padding-mask.js";
import { type ExperimentResult, findCell } from "../../src/experiments/result.js";
import { greedyDecode } from "../../src/generate/seq2seq.js";
import { type EncoderDecoderConfig, presetConfig } from "../../src/models/config.js";
import { Transformer } from "../../src/models/transformer.js";
import { fromArray, noGrad, tidy } from "../../src/tensor/index.js";

const tiny = () =>
  new Transformer(
    presetConfig("s2s-tiny", {
      vocabSize: 12,
      dModel: 16,
      dFF: 32,
      dropout: 0,
      seed: 5,
    }) as EncoderDecoderConfig,
  ).eval();

/** Largest |Δ| between the logits of two runs of the same shape. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe("Transformer.interventions.noPaddingMask", () => {
  const logits = (m: Transformer, src: number[], tgt: number[]) =>
    noGrad(() =>
      tidy(() =>
        m
          .forward(
            fromArray(src, [1, src.length], "int32"),
            fromArray(tgt, [1, tgt.length], "int32"),
          )
          .readSync(),
      ),
    );

  it("source PAD keys change nothing with the mask, and the logits without it", () => {
    const m = tiny();
    const src = [5, 6, 7, 2];
    const tgt = [1, 7, 6];
    const padded = [...src, 0, 0, 0, 0];
    assert.ok(maxDiff(logits(m, src, tgt), logits(m, padded, tgt)) < 1e-5);
    m.interventions.noPaddingMask = true;
    assert.ok(maxDiff(logits(m, src, tgt), logits(m, padded, tgt)) > 1e-3);
    // Unpadded input: the switch changes nothing.
    const on = logits(m, src, tgt);
    m.interventions.noPaddingMask = false;
    assert.ok(maxDiff(on, logits(m, src, tgt)) < 1e-6);
  });

  it("covers target keys too (seen once the causal mask is off)", () => {
    const m = tiny();
    m.interventions.noCausalMask = true;
    const src = [5, 6, 2];
    const first = (tgt: number[]) => logits(m, src, tgt).slice(0, 2 * 12);
    assert.ok(maxDiff(first([1, 7]), first([1, 7, 0, 0])) < 1e-5);
    m.interventions.noPaddingMask = true;
    assert.ok(maxDiff(first([1, 7]), first([1, 7, 0, 0])) > 1e-3);
  });

  it("decoding runs with it on", () => {
    const m = tiny();
    m.interventions.noPaddingMask = true;
    const out = greedyDecode(m, fromArray([5, 6, 2, 0, 7, 2, 0, 0], [2, 4], "int32"), {
      maxLen: 3,
    });
    assert.equal(out.length, 2);
  });
});

describe("attn experiment padding-mask --quick", () => {
  let r: ExperimentResult;
  before(async () => {
    r = await runExperiment(paddingMask, { quick: true, seeds: [1, 2, 3] });
  });

  it("has both arms at every padding, with finite numbers from 3 seeds", () => {
    const groups = [...new Set(r.rows.map((x) => x.group))];
    assert.deepEqual(groups, paddingBudget(true).padTo.map(padGroup));
    assert.equal(r.rows.length, groups.length * PADDING_ARMS.length);
    for (const row of r.rows) {
      for (const m of r.metrics) {
        const c = row.cells[m.key];
        assert.equal(c.values.length, 3, `${row.arm} ${row.group} ${m.key}`);
        assert.ok(c.values.every(Number.isFinite) && Number.isFinite(c.sd));
      }
    }
    assert.ok(r.conclusions.length >= 3);
    assert.ok(r.plots.length >= 1);
  });

  it("without the mask outputs change with padding; with it they do not", () => {
    const most = padGroup(paddingBudget(true).padTo.at(-1)!);
    for (const g of paddingBudget(true).padTo.map(padGroup)) {
      // With the mask: float rounding only, on every seed; no output changes.
      assert.ok(Math.max(...findCell(r.rows, "padding mask", g, "dLogit").values) <= 1e-4, g);
      assert.equal(findCell(r.rows, "padding mask", g, "changed").mean, 0, g);
    }
    assert.ok(Math.min(...findCell(r.rows, "no padding mask", most, "dLogit").values) > 1);
    assert.ok(findCell(r.rows, "no padding mask", most, "changed").mean > 0.5);
    // So the unmasked model's held-out accuracy depends on the padding: alone it is far behind.
    assert.match(
      r.conclusions.join("\n"),
      /padding mask beats no padding mask on exact match on alone/,
    );
  });
});
