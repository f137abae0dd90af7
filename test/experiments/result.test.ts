/** The statistics behind every experiment's table and sentences. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type MetricSpec,
  RowBuilder,
  cell,
  compareArms,
  formatMarkdownTable,
  formatTable,
  rankArms,
  sd,
} from "../../src/experiments/result.js";

const ACC: MetricSpec = { key: "acc", label: "accuracy", better: "higher", format: "percent" };

function rows(a: number[], b: number[], c: number[]) {
  const r = new RowBuilder();
  for (const v of a) r.add("A", "", { acc: v });
  for (const v of b) r.add("B", "", { acc: v });
  for (const v of c) r.add("C", "", { acc: v });
  return r.rows();
}

test("mean ± sample standard deviation over seeds", () => {
  const c = cell([1, 2, 3]);
  assert.equal(c.mean, 2);
  assert.equal(c.sd, 1);
  assert.equal(sd([5]), 0);
});

test("an effect is claimed only when the spreads do not overlap", () => {
  const r = rows([0.9, 0.92, 0.94], [0.5, 0.52, 0.54], [0.88, 0.95, 0.99]);
  const ab = compareArms(r, ACC, "A", "B");
  assert.equal(ab.overlap, false);
  assert.equal(ab.aBetter, true);
  assert.match(ab.sentence, /^A beats B on accuracy: 92\.0% ± 2\.0 vs 52\.0% ± 2\.0\.$/);
  const ba = compareArms(r, ACC, "B", "A");
  assert.match(ba.sentence, /B is worse than A/);
  const ac = compareArms(r, ACC, "A", "C");
  assert.equal(ac.overlap, true);
  assert.match(ac.sentence, /overlap within the spread.*no effect claimed/);
  const lower = compareArms(r, { ...ACC, better: "lower" }, "A", "B");
  assert.match(lower.sentence, /A is worse than B/);
});

test("ranking names the best arm, its ties and the rest", () => {
  const r = rows([0.9, 0.92, 0.94], [0.5, 0.52, 0.54], [0.88, 0.95, 0.99]);
  const s = rankArms(r, ACC);
  assert.match(s, /best C 94\.0%.*tied within the spread: A 92\.0%.*clearly behind: B 52\.0%/);
});

test("tables: one line per arm, a column per metric", () => {
  const r = rows([0.9, 0.92, 0.94], [0.5, 0.52, 0.54], [0.88, 0.95, 0.99]);
  const text = formatTable({ metrics: [ACC], rows: r }).split("\n");
  assert.equal(text.length, 5);
  assert.match(text[0], /^arm\s+accuracy$/);
  const md = formatMarkdownTable({ metrics: [ACC], rows: r }).split("\n");
  assert.equal(md[0], "| arm | accuracy |");
  assert.equal(md[2], "| A | 92.0% ± 2.0 |");
});
