/** The feed-forward experiment's quick run on fixed seeds: every width, finite numbers, parameters that grow with d_ff. */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { runExperiment } from "../../src/experiments/experiment.js";
import { FFN_WIDTHS, feedForward } from "../../src/experiments/feed-forward.js";
import { type ExperimentResult, findCell } from "../../src/experiments/result.js";

describe("attn experiment feed-forward --quick", () => {
  let r: ExperimentResult;
  before(async () => {
    r = await runExperiment(feedForward, { quick: true, seeds: [1, 2, 3] });
  });

  it("has every width with finite numbers from 3 seeds", () => {
    assert.deepEqual(
      r.rows.map((x) => x.arm),
      FFN_WIDTHS.map((w) => `d_ff ${w}`),
    );
    for (const row of r.rows)
      for (const m of r.metrics)
        assert.ok(row.cells[m.key].values.every(Number.isFinite), `${row.arm} ${m.key}`);
    assert.ok(r.conclusions.length >= 3);
  });

  it("each 4× wider FFN adds 2 layers' worth of d_model × d_ff weights in both stacks", () => {
    const params = (w: number) => findCell(r.rows, `d_ff ${w}`, "", "params").mean;
    // 4 layers (2 + 2), each with W1 [d, d_ff] + b1 [d_ff] + W2 [d_ff, d]: (2·64 + 1) per unit of d_ff.
    assert.equal(params(256) - params(64), 4 * (2 * 64 + 1) * (256 - 64));
  });
});
