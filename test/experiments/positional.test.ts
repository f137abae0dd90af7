/**
 * The positional experiment's quick run on fixed seeds: the table has every
 * arm on every condition with finite numbers, and its headline holds (no
 * positions fails reverse; sinusoidal positions solve it).
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { runExperiment } from "../../src/experiments/experiment.js";
import { POSITIONAL_ARMS, positional } from "../../src/experiments/positional.js";
import { type ExperimentResult, findCell } from "../../src/experiments/result.js";

describe("attn experiment positional --quick", () => {
  let r: ExperimentResult;
  before(async () => {
    r = await runExperiment(positional, { quick: true, seeds: [1, 2, 3] });
  });

  it("has every arm on every condition, with finite numbers from 3 seeds", () => {
    const groups = [...new Set(r.rows.map((x) => x.group))];
    assert.deepEqual(groups, ["reverse", "reverse 11–20", "bag"]);
    assert.equal(r.rows.length, groups.length * POSITIONAL_ARMS.length);
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

  it("no positions fails reverse (< 20%) while sinusoidal succeeds (> 90%)", () => {
    assert.ok(findCell(r.rows, "none", "reverse", "exact").mean < 0.2);
    assert.ok(findCell(r.rows, "sinusoidal", "reverse", "exact").mean > 0.9);
    assert.match(r.conclusions.join("\n"), /sinusoidal beats none on exact match on reverse/);
  });
});
