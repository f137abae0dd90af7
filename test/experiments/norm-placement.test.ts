/**
 * The norm-placement experiment's quick run on fixed seeds: both placements
 * under every condition with finite numbers, and its headline holds (at a
 * peak lr of 1e-2 post-LN fails to learn reverse in 4+4 layers while pre-LN
 * still does).
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { runExperiment } from "../../src/experiments/experiment.js";
import {
  PLACEMENTS,
  conditionName,
  normPlacement,
  normPlacementBudget,
} from "../../src/experiments/norm-placement.js";
import { type ExperimentResult, findCell, overlaps } from "../../src/experiments/result.js";

describe("attn experiment norm-placement --quick", () => {
  let r: ExperimentResult;
  before(async () => {
    r = await runExperiment(normPlacement, { quick: true, seeds: [1, 2, 3] });
  });

  it("has both placements under every condition, with finite numbers from 3 seeds", () => {
    const groups = [...new Set(r.rows.map((x) => x.group))];
    assert.deepEqual(groups, normPlacementBudget(true).conditions.map(conditionName));
    assert.deepEqual(groups, [
      "lr 1e-3, 10% warm-up",
      "lr 1e-2, 10% warm-up",
      "lr 1e-2, no warm-up",
    ]);
    assert.equal(r.rows.length, groups.length * PLACEMENTS.length);
    for (const row of r.rows) {
      // A diverged run has no held-out loss.
      const diverged = row.cells.diverged.values.filter((v) => v > 0).length;
      for (const m of r.metrics) {
        const c = row.cells[m.key];
        assert.equal(
          c.values.length,
          m.key === "loss" ? 3 - diverged : 3,
          `${row.arm} ${row.group} ${m.key}`,
        );
        assert.ok(c.values.every(Number.isFinite) && Number.isFinite(c.sd));
      }
    }
    assert.ok(r.plots.length >= 1);
  });

  it("at lr 1e-2 with warm-up, pre-LN learns and post-LN does not", () => {
    const g = "lr 1e-2, 10% warm-up";
    const pre = findCell(r.rows, "pre-LN", g, "exact");
    const post = findCell(r.rows, "post-LN", g, "exact");
    assert.ok(pre.mean > post.mean + 0.2 && !overlaps(pre, post), `${pre.mean} vs ${post.mean}`);
    // post-LN's collapse is the learning rate's doing: at 1e-3 it learns.
    assert.ok(findCell(r.rows, "post-LN", "lr 1e-3, 10% warm-up", "exact").mean > post.mean + 0.2);
    assert.match(r.conclusions.join("\n"), /pre-LN is the less sensitive/);
  });
});
