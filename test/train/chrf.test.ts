/** chrF against sacreBLEU 2.6.0's corpus_chrf (chrF2 defaults), values computed with it. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { corpusChrf } from "../../src/train/metrics.js";

test("corpus chrF2 matches sacreBLEU", () => {
  const H = ["the cat sat on the mat", "a b", "Él dijo: «hola»", ""];
  const R = ["the cat is on the mat", "a c", "Él dice «hola»", "x y"];
  assert.ok(Math.abs(corpusChrf(H, R).score - 56.29830448600674) < 1e-9);
  assert.ok(Math.abs(corpusChrf(H.slice(0, 2), R.slice(0, 2)).score - 62.98610133308933) < 1e-9);
  assert.equal(corpusChrf(["same"], ["same"]).score, 100);
});
