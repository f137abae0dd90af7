/**
 * The decoding experiment's quick run through the CLI, as a user runs it:
 * `attn experiment decoding --quick --out DIR` prints the table and the
 * conclusions, and writes results.json (with commit, backend, seeds and
 * budget), table.txt and an SVG plot.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { before, describe, it } from "node:test";
import { BEAM_WIDTHS } from "../../src/experiments/decoding.js";
import type { ExperimentResult } from "../../src/experiments/result.js";
import { attn, type CliResult } from "../helpers/cli.js";

describe("attn experiment decoding --quick (the CLI)", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "attn-exp-"));
  let run: CliResult;
  let r: ExperimentResult;
  before(() => {
    run = attn(["experiment", "decoding", "--quick", "--out", out], undefined, 600_000);
    r = JSON.parse(fs.readFileSync(path.join(out, "results.json"), "utf8"));
  });

  it("prints the table and the conclusions", () => {
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^arm\s+exact match\s+gain vs greedy \(paired\)\s+log P\(output\)/m);
    for (const k of BEAM_WIDTHS)
      assert.match(run.stdout, new RegExp(k === 1 ? "greedy \\(k=1\\)" : `beam k=${k}`));
    assert.match(run.stdout, /Paired on the same models, beam k=4/);
    assert.match(run.stderr, /decoding: seed 3: .* \(3\/3\)/);
  });

  it("writes results.json with its provenance, table.txt and an SVG plot", () => {
    assert.equal(r.format, "attention-lab-experiment");
    assert.equal(r.experiment, "decoding");
    assert.equal(r.quick, true);
    assert.deepEqual(r.seeds, [1, 2, 3]);
    assert.equal(typeof r.backend, "string");
    assert.ok(r.commit === null || /^[0-9a-f]{40}(\+dirty)?$/.test(r.commit), String(r.commit));
    assert.equal(r.budget.steps, 300);
    assert.equal(r.rows.length, BEAM_WIDTHS.length);
    for (const row of r.rows)
      for (const m of r.metrics)
        assert.ok(row.cells[m.key].values.every(Number.isFinite), `${row.arm} ${m.key}`);
    assert.ok(fs.readFileSync(path.join(out, "table.txt"), "utf8").includes("beam k=8"));
    const svg = fs.readFileSync(path.join(out, "plot-1-exact.svg"), "utf8");
    assert.match(svg, /^<svg[^>]*>/);
    assert.match(svg, /Held-out exact match by beam width/);
  });

  it("beam search finds outputs the model rates more probable than greedy's, on average", () => {
    // Not per sentence: the length penalty may pick a shorter, less probable hypothesis.
    const logP = (arm: string) => r.rows.find((x) => x.arm === arm)!.cells.logProb.mean;
    assert.ok(
      logP("beam k=4") > logP("greedy (k=1)"),
      `${logP("beam k=4")} vs ${logP("greedy (k=1)")}`,
    );
  });
});
