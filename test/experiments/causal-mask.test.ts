/**
 * The causal-mask experiment's quick run on fixed seeds: the table has both
 * arms with finite numbers, and its headline holds (without the mask the
 * training loss falls below what a past-only model can reach, yet generated
 * held-out answers fail).
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { CAUSAL_ARMS, causalLossFloor, causalMask } from "../../src/experiments/causal-mask.js";
import { runExperiment } from "../../src/experiments/experiment.js";
import { type ExperimentResult, findCell } from "../../src/experiments/result.js";

describe("causalLossFloor", () => {
  it("is the question's entropy per token", () => {
    // One-symbol questions: only the first token (of K) is uncertain, out of 4 targets.
    assert.ok(Math.abs(causalLossFloor(1, 1, 7) - Math.log(7) / 4) < 1e-12);
    // Lengths 1–2 over 2 symbols: ln2 + 1.5 ln2 (after one char: stop or either symbol) over 5 targets.
    assert.ok(Math.abs(causalLossFloor(1, 2, 2) - (2.5 * Math.log(2)) / 5) < 1e-12);
  });
});

describe("attn experiment causal-mask --quick", () => {
  let r: ExperimentResult;
  before(async () => {
    r = await runExperiment(causalMask, { quick: true, seeds: [1, 2, 3] });
  });

  it("has both arms, with finite numbers from 3 seeds", () => {
    assert.deepEqual(
      r.rows.map((x) => x.arm),
      [...CAUSAL_ARMS],
    );
    for (const row of r.rows) {
      assert.equal(row.group, "");
      for (const m of r.metrics) {
        const c = row.cells[m.key];
        assert.equal(c.values.length, 3, `${row.arm} ${m.key}`);
        assert.ok(c.values.every(Number.isFinite) && Number.isFinite(c.sd));
      }
    }
    assert.ok(r.conclusions.length >= 4);
    assert.ok(r.plots.length >= 1);
  });

  it("no mask gives lower training loss but worse held-out generation", () => {
    const floor = r.extra?.lossFloor as number;
    const loss = (arm: string) => findCell(r.rows, arm, "", "trainLoss");
    const exact = (arm: string) => findCell(r.rows, arm, "", "exact");
    // Below the floor of any past-only predictor, by far, on every seed.
    assert.ok(Math.max(...loss("no mask").values) < floor / 4);
    assert.ok(Math.min(...loss("causal mask").values) > floor);
    assert.ok(Math.max(...exact("no mask").values) < 0.05);
    assert.ok(Math.min(...exact("causal mask").values) > 0.2);
    const text = r.conclusions.join("\n");
    assert.match(text, /no mask beats causal mask on training loss/);
    assert.match(text, /causal mask beats no mask on held-out exact match/);
  });
});
