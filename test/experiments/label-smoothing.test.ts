/**
 * The label-smoothing experiment's quick run on fixed seeds: both arms with
 * finite numbers, and its headline holds (ε_ls 0.1 makes the unsmoothed
 * held-out perplexity worse, the first half of §5.4's trade).
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { runExperiment } from "../../src/experiments/experiment.js";
import { SMOOTHING_ARMS, labelSmoothing } from "../../src/experiments/label-smoothing.js";
import { type ExperimentResult, findCell, overlaps } from "../../src/experiments/result.js";

describe("attn experiment label-smoothing --quick", () => {
  let r: ExperimentResult;
  before(async () => {
    r = await runExperiment(labelSmoothing, { quick: true, seeds: [1, 2, 3] });
  });

  it("has both arms, with finite numbers from 3 seeds", () => {
    assert.deepEqual([...new Set(r.rows.map((x) => x.group))], ["dates, 250 steps"]);
    assert.deepEqual(
      r.rows.map((x) => x.arm),
      SMOOTHING_ARMS.map((a) => a.arm),
    );
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

  it("ε_ls 0.1 makes the held-out perplexity worse", () => {
    const smooth = findCell(r.rows, "ε_ls 0.1", "dates, 250 steps", "ppl");
    const hard = findCell(r.rows, "ε_ls 0", "dates, 250 steps", "ppl");
    assert.ok(
      smooth.mean > hard.mean + 0.05 && !overlaps(smooth, hard),
      `${smooth.mean} vs ${hard.mean}`,
    );
    assert.match(r.conclusions.join("\n"), /ε_ls 0\.1 is worse than ε_ls 0 on perplexity/);
  });
});
