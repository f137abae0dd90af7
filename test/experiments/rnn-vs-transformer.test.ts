/**
 * The rnn-vs-transformer experiment's quick run on fixed seeds: the table has
 * both arms on every condition with finite numbers, the arms match in size,
 * and its headline holds: through the GRU's recurrence alone the gradient
 * reaching a source token fades with distance, faster than in the Transformer
 * or through attention, while attention carries it to the token each output
 * needs; and accuracy falls with string length in both arms.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { runExperiment } from "../../src/experiments/experiment.js";
import { type Cell, type ExperimentResult, findCell } from "../../src/experiments/result.js";
import { RNN_ARMS, gruArm, rnnVsTransformer } from "../../src/experiments/rnn-vs-transformer.js";

describe("attn experiment rnn-vs-transformer --quick", () => {
  let r: ExperimentResult;
  before(async () => {
    r = await runExperiment(rnnVsTransformer, { quick: true, seeds: [1, 2, 3] });
  });

  it("has both arms on every condition, with finite numbers from 3 seeds", () => {
    const groups = [...new Set(r.rows.map((x) => x.group))];
    assert.deepEqual(groups, ["reverse L=4", "reverse L=8", "reverse L=12", "dates"]);
    assert.equal(r.rows.length, groups.length * RNN_ARMS.length);
    for (const row of r.rows) {
      for (const m of r.metrics) {
        const c = row.cells[m.key];
        assert.equal(c.values.length, 3, `${row.arm} ${row.group} ${m.key}`);
        assert.ok(c.values.every(Number.isFinite) && Number.isFinite(c.sd));
      }
    }
    assert.ok(r.conclusions.length >= 6);
    assert.deepEqual(
      r.plots.map((p) => p.kind),
      ["lines", "lines"],
    );
    for (const p of r.plots)
      for (const s of p.series ?? [])
        assert.ok(s.points.length > 0 && s.points.every((q) => Number.isFinite(q.mean)));
  });

  it("matches the arms' parameter counts within 10% on both vocabularies", () => {
    for (const V of [11, 65]) {
      const a = gruArm(V);
      assert.ok(
        Math.abs(a.rnnParams / a.transformerParams - 1) < 0.1,
        `V ${V}: ${a.rnnParams} vs ${a.transformerParams}`,
      );
    }
  });

  it("through the recurrence alone the gradient fades with distance, faster than in the Transformer or through attention", () => {
    const decay = (r.extra as { decayPerStep: Record<string, Cell> }).decayPerStep;
    const rec = decay["gru+attention: recurrence only"].mean;
    assert.ok(rec < 0.95, `recurrence only: ${rec} per step`);
    assert.ok(rec < decay["transformer: all pairs"].mean - 0.03);
    assert.ok(rec < decay["gru+attention: all pairs"].mean - 0.05);
    assert.match(r.conclusions.join("\n"), /through the GRU's recurrence alone it falls by 0\.\d+/);
  });

  it("the token each reverse output needs gets more than the mean gradient in both arms", () => {
    const ratio = (r.extra as { neededRatio: Record<string, Cell> }).neededRatio;
    assert.ok(ratio["transformer: needed token"].mean > 1.3);
    assert.ok(ratio["gru+attention: needed token"].mean > 1.3);
  });

  it("exact match on reverse falls with length in both arms", () => {
    for (const a of RNN_ARMS) {
      const short = findCell(r.rows, a, "reverse L=4", "exact").mean;
      const long = findCell(r.rows, a, "reverse L=12", "exact").mean;
      assert.ok(short - long > 0.3, `${a}: ${short} at 4, ${long} at 12`);
    }
  });
});
