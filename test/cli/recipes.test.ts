/**
 * The corpus recipe scales its warm-up with a --time budget, and
 * docs/training.md states the defaults that src/cli/recipes.ts uses.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import {
  CORPUS_BATCH_TOKENS,
  CORPUS_STEPS_30_MIN,
  CORPUS_WARMUP_30_MIN,
  corpusRecipe,
} from "../../src/cli/recipes.js";

const n = (x: number) => x.toLocaleString("en-US");

test("the corpus warm-up is the 30-minute one scaled to the budget", () => {
  const base = corpusRecipe();
  assert.equal(base.train.warmup, CORPUS_WARMUP_30_MIN);
  assert.equal(base.train.steps, CORPUS_STEPS_30_MIN);
  assert.equal(base.train.maxTokens, CORPUS_BATCH_TOKENS);
  assert.equal(corpusRecipe(10 * 60_000).train.warmup, Math.round(CORPUS_WARMUP_30_MIN / 3));
  assert.equal(corpusRecipe(2 * 3600_000).train.warmup, CORPUS_WARMUP_30_MIN * 4);
  assert.equal(corpusRecipe(5_000).train.warmup, 50);
});

test("docs/training.md states the corpus defaults of recipes.ts", () => {
  const doc = fs.readFileSync("docs/training.md", "utf8");
  const row = doc.split("\n").find((l) => l.startsWith("| `--data x.tsv` |"));
  assert.ok(row, "the --data x.tsv row of the defaults table");
  const r = corpusRecipe();
  for (const want of [
    `${n(r.train.maxTokens)} tokens`,
    `${n(CORPUS_STEPS_30_MIN)}`,
    `warm-up ${n(CORPUS_WARMUP_30_MIN)}`,
    r.train.lr.toExponential(),
    `${r.vocab / 1000}k BPE`,
  ])
    assert.ok(row.includes(want), `the row says ${want}: ${row}`);
  assert.match(doc, new RegExp(`A corpus batch holds up to ${n(r.train.maxTokens)} tokens`));
});
