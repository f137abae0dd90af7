/**
 * The heads experiment's quick run on fixed seeds: the table has 1, 2, 4 and
 * 8 heads with finite numbers, every arm learns, and the paper's Table 3 (A)
 * is recorded beside ours. At this scale the head counts overlap, so no
 * ordering is asserted.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { runExperiment } from "../../src/experiments/experiment.js";
import { HEAD_COUNTS, PAPER_TABLE3_A, heads } from "../../src/experiments/heads.js";
import type { ExperimentResult } from "../../src/experiments/result.js";

describe("attn experiment heads --quick", () => {
  let r: ExperimentResult;
  before(async () => {
    r = await runExperiment(heads, { quick: true, seeds: [1, 2, 3] });
  });

  it("has 1, 2, 4 and 8 heads on reverse, with finite numbers from 3 seeds", () => {
    assert.deepEqual([...new Set(r.rows.map((x) => x.group))], ["reverse 1–16"]);
    assert.deepEqual(
      r.rows.map((x) => x.arm),
      HEAD_COUNTS.map((h) => `${h} head${h > 1 ? "s" : ""} (d_k ${64 / h})`),
    );
    for (const row of r.rows) {
      for (const m of r.metrics) {
        const c = row.cells[m.key];
        assert.equal(c.values.length, 3, `${row.arm} ${row.group} ${m.key}`);
        assert.ok(c.values.every(Number.isFinite) && Number.isFinite(c.sd));
      }
    }
    assert.ok(r.plots.length >= 1);
  });

  it("every head count learns (perplexity far below the 11-token uniform guess)", () => {
    for (const row of r.rows)
      assert.ok(row.cells.ppl.mean < 2.5, `${row.arm}: ${row.cells.ppl.mean}`);
  });

  it("records Table 3 (A) and states our trend against it", () => {
    assert.deepEqual(r.extra?.paperTable3A, PAPER_TABLE3_A);
    assert.deepEqual(
      PAPER_TABLE3_A.rows.map((x) => [x.h, x.ppl, x.bleu]),
      [
        [8, 4.92, 25.8],
        [1, 5.29, 24.9],
        [4, 5.0, 25.5],
        [16, 4.91, 25.8],
        [32, 5.01, 25.4],
      ],
    );
    assert.match(
      r.conclusions.join("\n"),
      /On reverse 1–16, perplexity by heads 1: .*Table 3 \(A\)/,
    );
  });
});
