/** Forward values, views, autograd rules and error messages of the engine. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AttnError } from "../../src/errors.js";
import {
  Mulberry32,
  add,
  arange,
  concat,
  crossEntropy,
  detach,
  dropout,
  expand,
  fromArray,
  full,
  layerNorm,
  matmul,
  maskedFill,
  max,
  mean,
  mul,
  noGrad,
  ones,
  permute,
  randn,
  reshape,
  slice,
  softmax,
  split,
  stack,
  sum,
  transpose,
  zeros,
} from "../../src/tensor/index.js";

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `index ${i}: ${a[i]} vs ${b[i]}`);
};

describe("creation", () => {
  test("zeros ones full arange fromArray", () => {
    assert.deepEqual(zeros([2, 2]).toArray(), [0, 0, 0, 0]);
    assert.deepEqual(ones([3]).toArray(), [1, 1, 1]);
    assert.deepEqual(full([2], 7).toArray(), [7, 7]);
    assert.deepEqual(arange(4).toArray(), [0, 1, 2, 3]);
    assert.deepEqual(arange(1, 7, 2).toArray(), [1, 3, 5]);
    const t = fromArray([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.dtype, "float32");
  });
  test("seeded random numbers are fixed bit for bit", () => {
    // Pinned values: a change here changes every initialisation on every platform.
    const r = randn([4], { rng: new Mulberry32(42), dtype: "float64" }).toArray();
    const again = randn([4], { rng: new Mulberry32(42), dtype: "float64" }).toArray();
    assert.deepEqual(r, again);
    const g = new Mulberry32(12345);
    assert.deepEqual([g.nextU32(), g.nextU32(), g.nextU32()], [4207900869, 1317490944, 2079646450]);
    const n = new Mulberry32(1);
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < 20000; i++) {
      const z = n.normal();
      s += z;
      s2 += z * z;
    }
    assert.ok(Math.abs(s / 20000) < 0.03 && Math.abs(s2 / 20000 - 1) < 0.04);
  });
});

describe("views share storage", () => {
  test("reshape, transpose, slice and expand do not copy", () => {
    const t = fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    const r = reshape(t, [3, 2]);
    const tr = transpose(t);
    const s = slice(t, 1, 1, 3);
    const e = expand(fromArray([1, 2, 3], [1, 3]), [4, 3]);
    for (const v of [r, tr, s]) assert.equal(v.storage, t.storage);
    assert.deepEqual(tr.toArray(), [1, 4, 2, 5, 3, 6]);
    assert.deepEqual(s.toArray(), [2, 3, 5, 6]);
    assert.deepEqual(e.strides, [0, 1]);
    assert.equal(e.toArray().length, 12);
    t.data[0] = 100;
    assert.equal(r.toArray()[0], 100);
  });
  test("permute then matmul reads through strides", () => {
    const a = randn([2, 3, 4]);
    const b = randn([4, 5]);
    const viaView = matmul(permute(permute(a, [1, 0, 2]), [1, 0, 2]), b).toArray();
    close(viaView, matmul(a, b).toArray(), 1e-6);
  });
});

describe("forward values", () => {
  test("broadcasting arithmetic", () => {
    const a = fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = fromArray([10, 20, 30], [3]);
    assert.deepEqual(add(a, b).toArray(), [11, 22, 33, 14, 25, 36]);
    assert.deepEqual(mul(a, fromArray([2, 3], [2, 1])).toArray(), [2, 4, 6, 12, 15, 18]);
  });
  test("matmul against a hand computation, batched with broadcasting", () => {
    const a = fromArray([1, 2, 3, 4], [2, 2]);
    const b = fromArray([5, 6, 7, 8, 1, 0, 0, 1], [2, 2, 2]);
    assert.deepEqual(matmul(a, b).toArray(), [19, 22, 43, 50, 1, 2, 3, 4]);
  });
  test("sum mean max with keepdim", () => {
    const t = fromArray([1, 5, 3, 4, 2, 6], [2, 3]);
    assert.deepEqual(sum(t, 1).toArray(), [9, 12]);
    assert.deepEqual(sum(t, 0, { keepdim: true }).shape, [1, 3]);
    assert.deepEqual(mean(t).toArray(), [3.5]);
    assert.deepEqual(max(t, 1).toArray(), [5, 6]);
  });
  test("softmax is max-subtracted and a fully masked row gives zeros, not NaN", () => {
    const big = softmax(fromArray([1000, 1001, 1002], [3]));
    close(big.toArray(), [0.09003057, 0.24472847, 0.66524096]);
    const mask = fromArray([0, 1, 1, 1, 1, 1], [2, 3], "int32");
    const s = softmax(
      maskedFill(fromArray([1, 2, 3, 4, 5, 6], [2, 3]), mask, Number.NEGATIVE_INFINITY),
    );
    assert.deepEqual(s.toArray(), [1, 0, 0, 0, 0, 0]);
  });
  test("layerNorm matches the definition (biased variance)", () => {
    const x = fromArray([1, 2, 3, 4], [1, 4]);
    const y = layerNorm(x, ones([4]), zeros([4]), 0);
    const sd = Math.sqrt(1.25);
    close(y.toArray(), [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd]);
  });
  test("cross-entropy with label smoothing and ignore-index by hand", () => {
    const logits = fromArray([0, 0, Math.log(2), 5, 5, 5], [2, 3]);
    const targets = fromArray([2, 0], [2], "int32");
    // Row 0: p = [1/4, 1/4, 1/2]; q = 0.9 onehot(2) + 0.1/3.
    const lse = Math.log(4);
    const expected = lse - 0.9 * Math.log(2) - (0.1 / 3) * Math.log(2);
    close(crossEntropy(logits, targets, { ignoreIndex: 0, labelSmoothing: 0.1 }).toArray(), [
      expected,
    ]);
  });
  test("concat, split and stack", () => {
    const a = fromArray([1, 2, 3, 4], [2, 2]);
    const b = fromArray([5, 6], [2, 1]);
    const c = concat([a, b], 1);
    assert.deepEqual(c.toArray(), [1, 2, 5, 3, 4, 6]);
    const [p, q] = split(c, [2, 1], 1);
    assert.deepEqual(q.toArray(), [5, 6]);
    assert.deepEqual(p.shape, [2, 2]);
    assert.deepEqual(stack([a, a], 0).shape, [2, 2, 2]);
  });
  test("dropout: identity at eval, scaled and seeded at train", () => {
    const x = ones([1000]);
    assert.equal(dropout(x, 0.5, false), x);
    const y = dropout(x, 0.25, true, new Mulberry32(1)).toArray();
    const again = dropout(x, 0.25, true, new Mulberry32(1)).toArray();
    assert.deepEqual(y, again);
    const kept = y.filter((v) => v !== 0);
    assert.ok(kept.every((v) => Math.abs(v - 4 / 3) < 1e-6));
    assert.ok(Math.abs(kept.length / 1000 - 0.75) < 0.05);
  });

  test("dropout: the kernel's mask is draw i of the RNG for element i, and the RNG moves on by size", () => {
    const rng = new Mulberry32(7);
    const ref = new Mulberry32(7);
    const x = randn([37, 29], { rng: new Mulberry32(3) });
    const y = dropout(x, 0.3, true, rng).toArray();
    const xs = x.toArray();
    const scale = Math.fround(1 / 0.7);
    for (let i = 0; i < xs.length; i++) {
      const want = ref.uniform() >= 0.3 ? Math.fround(xs[i] * scale) : 0;
      assert.equal(y[i], want, `element ${i}`);
    }
    assert.equal(rng.nextU32(), ref.nextU32());
    // Backward draws the same mask again.
    x.requiresGrad = true;
    const z = dropout(x, 0.3, true, new Mulberry32(7));
    sum(z).backward();
    const g = x.grad!.toArray();
    for (let i = 0; i < xs.length; i++) assert.equal(g[i], y[i] === 0 ? 0 : scale);
  });
});

describe("autograd rules", () => {
  test("gradients accumulate until cleared", () => {
    const w = fromArray([1, 2, 3], [3]);
    w.requiresGrad = true;
    sum(mul(w, w)).backward();
    sum(mul(w, w)).backward();
    assert.deepEqual(w.grad!.toArray(), [4, 8, 12]);
    w.grad = null;
    sum(w).backward();
    assert.deepEqual(w.grad!.toArray(), [1, 1, 1]);
  });
  test("backward of a non-scalar needs a seed", () => {
    const w = randn([3]);
    w.requiresGrad = true;
    const y = mul(w, 2);
    assert.throws(() => y.backward(), /non-scalar needs an explicit seed/);
    y.backward(fromArray([1, 0, 2], [3]));
    assert.deepEqual(w.grad!.toArray(), [2, 0, 4]);
  });
  test("noGrad records nothing and detach cuts the graph", () => {
    const w = randn([3]);
    w.requiresGrad = true;
    const y = noGrad(() => mul(w, 2));
    assert.equal(y.requiresGrad, false);
    assert.equal(y.node, null);
    const d = detach(w);
    assert.equal(d.requiresGrad, false);
    assert.equal(d.storage, w.storage);
  });
});

describe("errors name the op and the shapes", () => {
  const err = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof AttnError && re.test(e.message));
  test("shape mismatches", () => {
    err(
      () => matmul(zeros([2, 3]), zeros([4, 5])),
      /matmul: inner dimensions differ: \[2, 3\] @ \[4, 5\]/,
    );
    err(() => add(zeros([2, 3]), zeros([4])), /add: cannot broadcast shapes \[2, 3\] and \[4\]/);
    err(() => reshape(zeros([2, 3]), [4, 2]), /reshape: cannot reshape \[2, 3\]/);
    err(
      () => concat([zeros([2, 3]), zeros([3, 3])], 1),
      /concat: shapes \[2, 3\], \[3, 3\] differ/,
    );
    err(
      () => layerNorm(zeros([2, 4]), ones([3]), zeros([3])),
      /layerNorm: input \[2, 4\] needs weight and bias of shape \[4\]/,
    );
  });
  test("dtype mismatches", () => {
    err(
      () => add(zeros([2]), zeros([2], "int32")),
      /add: dtype mismatch: float32 \[2\] and int32 \[2\]/,
    );
    err(() => softmax(zeros([2], "int32")), /softmax: expected a float tensor, got int32 \[2\]/);
    err(() => crossEntropy(zeros([2, 3]), zeros([2])), /crossEntropy: targets must be int32/);
  });
  test("out-of-range ids and targets", () => {
    err(
      () => crossEntropy(zeros([2, 3]), fromArray([0, 3], [2], "int32")),
      /target 3 is outside the 3 classes/,
    );
  });
});
