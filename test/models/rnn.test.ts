/**
 * The recurrent baseline (src/models/gru.ts, src/models/rnn.ts): finite-difference
 * gradients of the GRU cell and of additive attention, parity with
 * torch.nn.GRUCell (scripts/make_rnn_fixtures.py), padding, decoding, and a
 * tiny learning test.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { getTask, makeSplit } from "../../src/data/tasks.js";
import {
  batchTensors,
  encodePairs,
  taskTokenizer,
  trainSeq2Seq,
} from "../../src/experiments/harness.js";
import { GRUCell, additiveAttend, gruCell } from "../../src/models/gru.js";
import { RNNSeq2Seq, matchHidden, rnnParameterCount } from "../../src/models/rnn.js";
import {
  Mulberry32,
  fromArray,
  matmul,
  mul,
  noGrad,
  slice,
  sum,
  tidy,
  transpose,
} from "../../src/tensor/index.js";
import { FIXTURE_DIR, compareValues } from "../helpers/fixtures.js";
import { gradCheck, randInput } from "../helpers/gradcheck.js";

const x = (shape: number[], seed: number, std = 1) => randInput(shape, seed, std);

describe("GRU cell", () => {
  test("gradients of x, h and every parameter match finite differences", () =>
    gradCheck("gruCell", (xi, h, wi, wh, bi, bh) => gruCell(xi, h, wi, wh, bi, bh), [
      x([2, 3], 1),
      x([2, 4], 2),
      x([12, 3], 3, 0.5),
      x([12, 4], 4, 0.5),
      x([12], 5, 0.5),
      x([12], 6, 0.5),
    ]));

  const fixture = JSON.parse(readFileSync(`${FIXTURE_DIR}gru_cell.json`, "utf8")) as {
    config: { inputSize: number; hiddenSize: number };
    values: Record<string, { shape: number[]; data: number[] }>;
  };
  const v = (k: string) => fixture.values[k];
  const t64 = (k: string, grad = false) => {
    const t = fromArray(Float64Array.from(v(k).data), v(k).shape, "float64");
    t.requiresGrad = grad;
    return t;
  };
  const names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"];

  test("GRUCell matches torch.nn.GRUCell: output and gradients (float32, 1e-5)", () => {
    const { inputSize, hiddenSize } = fixture.config;
    const cell = new GRUCell(inputSize, hiddenSize, new Mulberry32(0));
    cell.loadStateDict(
      new Map(
        names.map((n) => [n, { shape: v(`param.${n}`).shape, values: v(`param.${n}`).data }]),
      ),
    );
    tidy(() => {
      const xs = fromArray(v("x").data, v("x").shape);
      const h = fromArray(v("h").data, v("h").shape);
      xs.requiresGrad = true;
      h.requiresGrad = true;
      const out = cell.forward(xs, h);
      sum(mul(out, fromArray(v("dout").data, v("dout").shape))).backward();
      const check = (what: string, got: ArrayLike<number>, key: string) => {
        const c = compareValues(got, v(key).data, 1e-5);
        assert.ok(c.ok, `${what}: ${c.worst}`);
      };
      check("h'", out.readSync(), "out");
      check("dL/dx", xs.grad!.readSync(), "grad.x");
      check("dL/dh", h.grad!.readSync(), "grad.h");
      for (const [n, p] of cell.namedParameters())
        check(`dL/d${n}`, p.grad!.readSync(), `grad.${n}`);
    });
    cell.zeroGrad();
  });

  test("the float64 equations match torch.nn.GRUCell to 1e-12", () =>
    tidy(() => {
      const out = gruCell(
        t64("x"),
        t64("h"),
        ...(names.map((n) => t64(`param.${n}`)) as [never, never, never, never]),
      );
      const c = compareValues(out.readSync(), v("out").data, 1e-12);
      assert.ok(c.ok, c.worst);
    }));
});

describe("additive attention", () => {
  // Row 0 attends over 5 positions, row 1 over the first 3 (positions 3 and 4 are PAD).
  const mask = fromArray([0, 0, 0, 0, 0, 0, 0, 0, 1, 1], [2, 5], "int32");
  const attend = (s: never, h: never, W: never, U: never, v: never) =>
    additiveAttend(s, h, matmul(h, transpose(U)), W, v, mask);
  const inputs = () => [
    x([2, 4], 11),
    x([2, 5, 3], 12),
    x([6, 4], 13, 0.5),
    x([6, 3], 14, 0.5),
    x([6], 15),
  ];

  test("context: gradients of s, h, W, U and v match finite differences", () =>
    gradCheck(
      "additive context",
      (...a) => attend(...(a as [never, never, never, never, never])).context,
      inputs(),
    ));

  test("weights: gradients match finite differences", () =>
    gradCheck(
      "additive weights",
      (...a) => attend(...(a as [never, never, never, never, never])).weights,
      inputs(),
    ));

  test("weights sum to 1 over the source and are 0 at PAD", () =>
    tidy(() => {
      const [s, h, W, U, v] = inputs();
      const w = Array.from(
        additiveAttend(s, h, matmul(h, transpose(U)), W, v, mask).weights.readSync(),
      );
      assert.ok(Math.abs(w.slice(0, 5).reduce((a, b) => a + b, 0) - 1) < 1e-12);
      assert.ok(Math.abs(w.slice(5, 10).reduce((a, b) => a + b, 0) - 1) < 1e-12);
      assert.equal(w[8], 0);
      assert.equal(w[9], 0);
    }));
});

describe("RNNSeq2Seq", () => {
  const cfg = { vocabSize: 11, embed: 8, hidden: 12, seed: 3 };

  test("parameterCount is the closed form, and matchHidden lands near a target", () => {
    const m = new RNNSeq2Seq(cfg);
    assert.equal(m.parameterCount, rnnParameterCount(m.config));
    const H = matchHidden(11, 64, 232640);
    const n = rnnParameterCount({ vocabSize: 11, embed: 64, hidden: H });
    assert.ok(Math.abs(n / 232640 - 1) < 0.05, `${H}: ${n}`);
  });

  test("a padded row gets the same logits as the row alone", () => {
    const m = new RNNSeq2Seq(cfg);
    const tok = taskTokenizer("abcdefg");
    const long = { src: "abcdefg", tgt: "gfedcba" };
    const short = { src: "abc", tgt: "cba" };
    noGrad(() =>
      tidy(() => {
        const both = batchTensors(encodePairs(tok, [long, short]));
        const alone = batchTensors(encodePairs(tok, [short]));
        const T = alone.tin.shape[1];
        const a = slice(slice(m.forward(both.src, both.tin), 0, 1, 2), 1, 0, T).readSync();
        const c = compareValues(a, m.forward(alone.src, alone.tin).readSync(), 1e-5);
        assert.ok(c.ok, c.worst);
      }),
    );
  });

  test("greedyDecode gives id lists without BOS/EOS, at most maxLen long", () => {
    const m = new RNNSeq2Seq(cfg);
    const tok = taskTokenizer("abcdefg");
    const { src } = batchTensors(
      encodePairs(tok, [
        { src: "abc", tgt: "" },
        { src: "g", tgt: "" },
      ]),
    );
    const out = m.greedyDecode(src, 4);
    assert.equal(out.length, 2);
    for (const ids of out) {
      assert.ok(ids.length <= 4);
      assert.ok(
        ids.every((id) => Number.isInteger(id) && id !== 1 && id !== 2 && id >= 0 && id < 11),
      );
    }
  });

  test("learns to copy strings of length 1–5 (trainStep, Adam)", () => {
    const task = getTask("copy", { minLen: 1, maxLen: 5 });
    const out = trainSeq2Seq({
      task,
      seed: 1,
      steps: 150,
      batch: 32,
      lr: 1e-2,
      makeModel: (vocabSize, seed) => new RNNSeq2Seq({ vocabSize, embed: 32, hidden: 48, seed }),
      evalSets: { fresh: makeSplit(task, 4242, 100) },
    });
    console.log(`copy 1–5: ${(100 * out.evals.fresh.exact).toFixed(0)}% exact after 150 steps`);
    assert.ok(out.evals.fresh.exact >= 0.9, `exact ${out.evals.fresh.exact}`);
  });
});
