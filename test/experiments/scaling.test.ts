/**
 * The scaling experiment's quick run on fixed seeds: the table has both arms
 * at every d_k with finite numbers, and its headline holds (without 1/√d_k
 * the attention entropy at init is lower at d_k 64, and the logits spread as
 * √d_k).
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { runExperiment } from "../../src/experiments/experiment.js";
import { type ExperimentResult, findCell } from "../../src/experiments/result.js";
import { SCALING_ARMS, scaling, scalingBudget } from "../../src/experiments/scaling.js";

describe("attn experiment scaling --quick", () => {
  let r: ExperimentResult;
  before(async () => {
    r = await runExperiment(scaling, { quick: true, seeds: [1, 2, 3] });
  });

  it("has both arms at every d_k, with finite numbers from 3 seeds", () => {
    const groups = [...new Set(r.rows.map((x) => x.group))];
    assert.deepEqual(
      groups,
      scalingBudget(true).dKs.map((d) => `d_k ${d}`),
    );
    assert.ok(groups.includes("d_k 64"));
    assert.equal(r.rows.length, groups.length * SCALING_ARMS.length);
    for (const row of r.rows) {
      for (const m of r.metrics) {
        const c = row.cells[m.key];
        assert.equal(c.values.length, 3, `${row.arm} ${row.group} ${m.key}`);
        assert.ok(c.values.every(Number.isFinite) && Number.isFinite(c.sd));
      }
    }
    assert.ok(r.conclusions.length >= 4);
    assert.ok(r.plots.length >= 1);
  });

  it("without 1/√d_k the attention entropy at init is lower at d_k 64", () => {
    const h = (arm: string) => findCell(r.rows, arm, "d_k 64", "entropy").values;
    // Every seed, with a wide gap.
    assert.ok(Math.max(...h("no scaling")) + 0.5 < Math.min(...h("1/√d_k")));
    assert.ok(findCell(r.rows, "no scaling", "d_k 64", "saturated").mean > 0.05);
    assert.equal(findCell(r.rows, "1/√d_k", "d_k 64", "saturated").mean, 0);
    assert.match(
      r.conclusions.join("\n"),
      /At d_k 64 the attention entropy at init is lower without the scaling/,
    );
  });

  it("the unscaled logits spread as √d_k; the scaled ones do not", () => {
    const std = (arm: string, dK: number) => findCell(r.rows, arm, `d_k ${dK}`, "logitStd").mean;
    const ratio = std("no scaling", 128) / std("no scaling", 16);
    assert.ok(ratio > 2 && ratio < 4, `ratio ${ratio}`); // √8 = 2.83
    assert.ok(Math.abs(std("1/√d_k", 128) / std("1/√d_k", 16) - 1) < 0.3);
  });
});
