/** Every op's analytic gradient against central finite differences, in float64. */
import { describe, test } from "node:test";
import {
  Mulberry32,
  type Tensor,
  abs,
  add,
  concat,
  contiguous,
  crossEntropy,
  div,
  dropout,
  embedding,
  exp,
  expand,
  fromArray,
  gelu,
  layerNorm,
  log,
  logSoftmax,
  matmul,
  max,
  maskedFill,
  maximum,
  mean,
  minimum,
  mul,
  neg,
  permute,
  pow,
  relu,
  reshape,
  rsqrt,
  select,
  sigmoid,
  slice,
  softmax,
  split,
  sqrt,
  squeeze,
  stack,
  sub,
  sum,
  tanh,
  transpose,
  unsqueeze,
  where,
} from "../../src/tensor/index.js";
import { gradCheck, randInput } from "../helpers/gradcheck.js";

const x = (shape: number[], seed: number, std = 1) => randInput(shape, seed, std);
/** Positive inputs for log/sqrt/pow. */
const pos = (shape: number[], seed: number) => {
  const t = randInput(shape, seed);
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = 0.5 + Math.abs(d[i]);
  return t;
};

describe("gradients: matmul", () => {
  test("2-D", () => gradCheck("matmul", (a, b) => matmul(a, b), [x([3, 4], 1), x([4, 5], 2)]));
  test("batched", () =>
    gradCheck("matmul", (a, b) => matmul(a, b), [x([2, 3, 4], 1), x([2, 4, 5], 2)]));
  test("broadcast batch dims", () =>
    gradCheck("matmul", (a, b) => matmul(a, b), [x([2, 1, 3, 4], 1), x([3, 4, 2], 2)]));
  test("left operand 2-D, right batched", () =>
    gradCheck("matmul", (a, b) => matmul(a, b), [x([3, 4], 1), x([2, 4, 5], 2)]));
  test("transposed operands (views, no copy)", () =>
    gradCheck("matmul-T", (a, b) => matmul(transpose(a), transpose(b)), [
      x([4, 3], 1),
      x([5, 4], 2),
    ]));
  test("A Bᵀ as in attention scores", () =>
    gradCheck("q·kᵀ", (q, k) => matmul(q, transpose(k)), [x([2, 2, 3, 4], 1), x([2, 2, 5, 4], 2)]));
  test("scaled product (alpha, as for 1/√d_k)", () =>
    gradCheck("q·kᵀ/√d", (q, k) => matmul(q, transpose(k), 0.37), [
      x([2, 2, 3, 4], 1),
      x([2, 2, 5, 4], 2),
    ]));
  test("vector operands", () => {
    gradCheck("matvec", (a, b) => matmul(a, b), [x([3, 4], 1), x([4], 2)]);
    gradCheck("vecmat", (a, b) => matmul(a, b), [x([4], 1), x([4, 3], 2)]);
  });
  test("permuted batched view", () =>
    gradCheck("matmul-perm", (a, b) => matmul(permute(a, [1, 0, 2]), b), [
      x([3, 2, 4], 1),
      x([2, 4, 3], 2),
    ]));
});

describe("gradients: elementwise with broadcasting", () => {
  test("add", () => gradCheck("add", add, [x([2, 3, 4], 1), x([3, 1], 2)]));
  test("sub", () => gradCheck("sub", sub, [x([3, 1], 1), x([2, 3, 4], 2)]));
  test("mul", () => gradCheck("mul", mul, [x([2, 3, 4], 1), x([4], 2)]));
  test("div", () => gradCheck("div", div, [x([2, 3], 1), pos([2, 1], 2)]));
  test("scalar operands", () => {
    gradCheck("add scalar", (a) => add(a, 2.5), [x([3], 1)]);
    gradCheck("scalar / x", (a) => div(3, a), [pos([3], 1)]);
  });
  test("same tensor twice", () => gradCheck("x*x", (a) => mul(a, a), [x([4], 1)]));
  test("pow with scalar and tensor exponent", () => {
    gradCheck("pow scalar", (a) => pow(a, 3), [x([5], 1)]);
    gradCheck("pow tensor", pow, [pos([2, 3], 1), x([3], 2)]);
  });
  test("maximum/minimum", () => {
    gradCheck("maximum", maximum, [x([3, 4], 1), x([4], 2)]);
    gradCheck("minimum", minimum, [x([3, 4], 1), x([3, 1], 2)]);
  });
  test("permuted view inputs", () =>
    gradCheck("add perm", (a, b) => add(permute(a, [2, 0, 1]), b), [
      x([2, 3, 4], 1),
      x([4, 2, 3], 2),
    ]));
});

describe("gradients: unary", () => {
  const shape = [3, 5];
  test("neg exp tanh sigmoid", () => {
    gradCheck("neg", neg, [x(shape, 1)]);
    gradCheck("exp", exp, [x(shape, 2)]);
    gradCheck("tanh", tanh, [x(shape, 3)]);
    gradCheck("sigmoid", sigmoid, [x(shape, 4)]);
  });
  test("log sqrt rsqrt", () => {
    gradCheck("log", log, [pos(shape, 1)]);
    gradCheck("sqrt", sqrt, [pos(shape, 2)]);
    gradCheck("rsqrt", rsqrt, [pos(shape, 3)]);
  });
  test("relu and abs (away from the kink)", () => {
    const t = x(shape, 5);
    const d = t.data;
    for (let i = 0; i < d.length; i++) if (Math.abs(d[i]) < 0.01) d[i] = 0.5;
    gradCheck("relu", relu, [t]);
    gradCheck("abs", abs, [t]);
  });
  test("gelu, tanh approximation and erf", () => {
    gradCheck("gelu tanh", (a) => gelu(a, "tanh"), [x(shape, 6, 2)]);
    gradCheck("gelu erf", (a) => gelu(a), [x(shape, 7, 2)]);
  });
  test("on a transposed view", () => gradCheck("exp T", (a) => exp(transpose(a)), [x([3, 4], 8)]));
});

describe("gradients: reductions", () => {
  test("sum over all, one axis, several axes, keepdim", () => {
    gradCheck("sum all", (a) => sum(a), [x([2, 3, 4], 1)]);
    gradCheck("sum axis", (a) => sum(a, 1), [x([2, 3, 4], 2)]);
    gradCheck("sum axes keepdim", (a) => sum(a, [0, 2], { keepdim: true }), [x([2, 3, 4], 3)]);
    gradCheck("sum negative axis", (a) => sum(a, -1), [x([2, 3, 4], 4)]);
  });
  test("mean", () => {
    gradCheck("mean all", (a) => mean(a), [x([2, 3], 1)]);
    gradCheck("mean axis keepdim", (a) => mean(a, 0, { keepdim: true }), [x([2, 3], 2)]);
  });
  test("max (no ties)", () => {
    gradCheck("max axis", (a) => max(a, 1), [x([3, 5], 1)]);
    gradCheck("max keepdim", (a) => max(a, [0, 2], { keepdim: true }), [x([2, 3, 4], 2)]);
    gradCheck("max all", (a) => max(a), [x([4, 3], 3)]);
  });
  test("sum of a permuted view", () =>
    gradCheck("sum perm", (a) => sum(permute(a, [1, 0]), 0), [x([3, 4], 5)]));
});

describe("gradients: softmax family", () => {
  test("softmax and logSoftmax, last axis and middle axis", () => {
    gradCheck("softmax", (a) => softmax(a), [x([2, 3, 5], 1)]);
    gradCheck("softmax axis 1", (a) => softmax(a, 1), [x([2, 3, 5], 2)]);
    gradCheck("logSoftmax", (a) => logSoftmax(a), [x([2, 3, 5], 3)]);
    gradCheck("logSoftmax axis 0", (a) => logSoftmax(a, 0), [x([4, 3], 4)]);
  });
  test("masked softmax, including a fully masked row", () => {
    // mask: row 0 masks the last two keys, row 2 masks everything.
    const mask = fromArray([0, 0, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1], [3, 5], "float64");
    gradCheck("masked softmax", (a) => softmax(maskedFill(a, mask, Number.NEGATIVE_INFINITY)), [
      x([3, 5], 5),
    ]);
  });
  test("large scores do not overflow", () =>
    gradCheck("softmax big", (a) => softmax(mul(a, 100)), [x([2, 4], 6, 0.01)]));
});

describe("gradients: layer norm, embedding, where", () => {
  test("layerNorm", () =>
    gradCheck("layerNorm", (a, g, b) => layerNorm(a, g, b), [
      x([3, 2, 6], 1),
      x([6], 2),
      x([6], 3),
    ]));
  test("layerNorm of a transposed view", () =>
    gradCheck("layerNorm T", (a, g, b) => layerNorm(transpose(a, 0, 1), g, b), [
      x([3, 5], 1),
      x([3], 2),
      x([3], 3),
    ]));
  test("embedding with repeated ids (scatter-add)", () => {
    const ids = fromArray([1, 3, 1, 0, 3, 3], [2, 3], "int32");
    gradCheck("embedding", (t) => embedding(t, ids), [x([4, 5], 1)]);
  });
  test("where and maskedFill", () => {
    const cond = fromArray([1, 0, 1, 0, 0, 1], [2, 3], "float64");
    gradCheck("where", (a, b) => where(cond, a, b), [x([2, 3], 1), x([3], 2)]);
    gradCheck("maskedFill", (a) => maskedFill(a, cond, 7), [x([2, 3], 3)]);
  });
});

describe("gradients: shapes and views", () => {
  test("reshape permute slice select", () => {
    gradCheck("reshape", (a) => reshape(a, [4, -1]), [x([2, 3, 2], 1)]);
    gradCheck("reshape of a transposed view", (a) => reshape(transpose(a), [-1]), [x([3, 4], 2)]);
    gradCheck("permute", (a) => permute(a, [2, 0, 1]), [x([2, 3, 4], 3)]);
    gradCheck("slice", (a) => slice(a, 1, 1, 3), [x([2, 4], 4)]);
    gradCheck("select", (a) => select(a, 0, -1), [x([3, 2], 5)]);
  });
  test("expand unsqueeze squeeze contiguous", () => {
    gradCheck("expand", (a) => expand(a, [4, 2, 3]), [x([2, 1], 1)]);
    gradCheck("unsqueeze", (a) => unsqueeze(a, 1), [x([2, 3], 2)]);
    gradCheck("squeeze", (a) => squeeze(a, 0), [x([1, 3], 3)]);
    gradCheck("contiguous", (a) => contiguous(transpose(a)), [x([2, 3], 4)]);
  });
  test("concat split stack", () => {
    gradCheck("concat", (a, b) => concat([a, b], 1), [x([2, 3], 1), x([2, 2], 2)]);
    gradCheck("concat axis 0 of views", (a, b) => concat([transpose(a), b], 0), [
      x([2, 3], 3),
      x([1, 2], 4),
    ]);
    gradCheck("split", (a) => mul(split(a, [1, 3], 1)[1], 2), [x([2, 4], 5)]);
    gradCheck(
      "split equal",
      (a) => {
        const [p, q] = split(a, 2, 0);
        return mul(p, q);
      },
      [x([4, 3], 6)],
    );
    gradCheck("stack", (a, b) => stack([a, b], 1), [x([2, 3], 7), x([2, 3], 8)]);
  });
});

describe("gradients: dropout and cross-entropy", () => {
  test("dropout with a fixed seed", () =>
    gradCheck("dropout", (a) => dropout(a, 0.3, true, new Mulberry32(5)), [x([4, 6], 1)]));
  test("cross-entropy: mean, ignore-index, label smoothing", () => {
    const targets = fromArray([2, 0, 4, 1, 0, 3], [2, 3], "int32");
    gradCheck("ce plain", (z) => crossEntropy(z, targets), [x([2, 3, 5], 1)]);
    gradCheck("ce ignore pad", (z) => crossEntropy(z, targets, { ignoreIndex: 0 }), [
      x([2, 3, 5], 2),
    ]);
    gradCheck(
      "ce smoothing",
      (z) => crossEntropy(z, targets, { ignoreIndex: 0, labelSmoothing: 0.1 }),
      [x([2, 3, 5], 3)],
    );
    gradCheck(
      "ce sum",
      (z) => crossEntropy(z, targets, { reduction: "sum", labelSmoothing: 0.2 }),
      [x([2, 3, 5], 4)],
    );
    gradCheck("ce none", (z) => crossEntropy(z, targets, { reduction: "none", ignoreIndex: 0 }), [
      x([2, 3, 5], 5),
    ]);
  });
  test("cross-entropy of a permuted view", () => {
    const targets = fromArray([1, 0, 2], [3], "int32");
    gradCheck("ce view", (z) => crossEntropy(transpose(z), targets), [x([4, 3], 6)]);
  });
});

describe("gradients: a composite (attention-shaped) expression", () => {
  test("softmax(q kᵀ / √d + mask) v", () => {
    const mask = fromArray([0, 1, 1, 0, 0, 1, 0, 0, 0], [3, 3], "float64");
    gradCheck(
      "attention",
      (q: Tensor, k: Tensor, v: Tensor) =>
        matmul(
          softmax(maskedFill(div(matmul(q, transpose(k)), 2), mask, Number.NEGATIVE_INFINITY)),
          v,
        ),
      [x([2, 3, 4], 1), x([2, 3, 4], 2), x([2, 3, 4], 3)],
    );
  });
});
