/**
 * The embedding experiment's quick run on fixed seeds: the table has every
 * arm of both groups with finite numbers, and its headlines hold (one-hot × E
 * is the row lookup, and far slower; ×√d_model beats no scale on held-out
 * loss; training groups the table's tokens by class).
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { type LookupCheck, embeddingExperiment } from "../../src/experiments/embedding.js";
import { runExperiment } from "../../src/experiments/experiment.js";
import { type ExperimentResult, findCell, overlaps } from "../../src/experiments/result.js";

describe("attn experiment embedding --quick", () => {
  let r: ExperimentResult;
  before(async () => {
    r = await runExperiment(embeddingExperiment, { quick: true, seeds: [1, 2, 3] });
  });

  it("has every arm of both groups, with finite numbers from 3 seeds", () => {
    const arms = r.rows.map((x) => `${x.group}/${x.arm}`).sort();
    assert.deepEqual(arms, [
      "scale/no scale",
      "scale/×√d_model",
      "tying/tied",
      "tying/untied output",
    ]);
    for (const row of r.rows) {
      for (const m of r.metrics) {
        const c = row.cells[m.key];
        assert.equal(c.values.length, 3, `${row.arm} ${row.group} ${m.key}`);
        assert.ok(c.values.every(Number.isFinite) && Number.isFinite(c.sd));
      }
    }
    assert.ok(r.conclusions.length >= 5);
    assert.ok(r.plots.length >= 1);
    const p = r.extra?.projection as {
      tokens: string[];
      before: { x: number[] };
      after: { y: number[] };
    };
    assert.equal(p.before.x.length, p.tokens.length);
    assert.equal(p.after.y.length, p.tokens.length);
  });

  it("one-hot × E equals the row lookup within 1e-6, and the lookup is faster", () => {
    const big = r.extra?.lookup as LookupCheck;
    const trained = r.extra?.lookupTrainedTable as LookupCheck;
    assert.deepEqual([big.vocab, big.dModel, big.tokens], [8000, 256, 1000]);
    assert.ok(big.maxAbsDiff <= 1e-6, `${big.maxAbsDiff}`);
    assert.ok(trained.maxAbsDiff <= 1e-6, `${trained.maxAbsDiff}`);
    assert.equal(big.matmulMultiplyAdds, 1000 * 8000 * 256);
    // 2 G multiply-adds against 256k copies: a margin far beyond timing noise.
    assert.ok(big.matmulMs > 10 * big.lookupMs, `${big.matmulMs} vs ${big.lookupMs} ms`);
  });

  it("×√d_model beats no scale on held-out loss", () => {
    const scaled = findCell(r.rows, "×√d_model", "scale", "loss");
    const plain = findCell(r.rows, "no scale", "scale", "loss");
    assert.ok(
      scaled.mean + 0.15 < plain.mean && !overlaps(scaled, plain),
      `${scaled.mean} vs ${plain.mean}`,
    );
    assert.match(r.conclusions.join("\n"), /×√d_model beats no scale on held-out loss/);
  });

  it("training groups the table's tokens: more same-class nearest neighbours after than before", () => {
    const s = r.extra?.sameClassNeighbours as { before: number; after: number; chance: number };
    assert.ok(s.after > s.before + 0.15, `${s.before} -> ${s.after}`);
    assert.ok(s.after > s.chance + 0.1);
  });
});
