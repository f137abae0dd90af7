/**
 * topk, decoding's selection on the backend, against its definition written
 * out here: the k largest above -Infinity, largest first, the lower index
 * first on ties, NaN never chosen, leftover slots index -1 and value -Infinity.
 * Runs on every backend (the primitive one uses the composed default).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AttnError } from "../../src/errors.js";
import { Mulberry32, fromArray, getBackend, topk, transpose } from "../../src/tensor/index.js";

function definition(row: number[], k: number): { values: number[]; indices: number[] } {
  const order = row
    .map((v, j) => [v, j] as const)
    .filter(([v]) => v > Number.NEGATIVE_INFINITY)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k);
  const values = order.map(([v]) => v);
  const indices = order.map(([, j]) => j);
  while (values.length < k) {
    values.push(Number.NEGATIVE_INFINITY);
    indices.push(-1);
  }
  return { values, indices };
}

describe(`topk (${getBackend().name})`, () => {
  test("random rows with ties, NaN and -Infinity match the definition for every k", () => {
    const rng = new Mulberry32(7);
    const rows = 6;
    const cols = 11;
    const data: number[] = [];
    for (let i = 0; i < rows * cols; i++) {
      // Few distinct values, so ties are common.
      const u = rng.uniform();
      data.push(
        u < 0.08 ? Number.NaN : u < 0.16 ? Number.NEGATIVE_INFINITY : Math.floor(u * 5) - 2,
      );
    }
    // One row with nothing to choose, one with a single choice.
    for (let j = 0; j < cols; j++)
      data[4 * cols + j] = j % 2 ? Number.NaN : Number.NEGATIVE_INFINITY;
    for (let j = 0; j < cols; j++) data[5 * cols + j] = j === 7 ? 3.5 : Number.NEGATIVE_INFINITY;
    const x = fromArray(data, [2, 3, cols]);
    for (const k of [1, 2, 4, cols]) {
      const { values, indices } = topk(x, k);
      assert.deepEqual(values.shape, [2, 3, k]);
      assert.equal(indices.dtype, "int32");
      const v = values.readSync();
      const ix = indices.readSync();
      for (let r = 0; r < rows; r++) {
        const want = definition(data.slice(r * cols, (r + 1) * cols), k);
        assert.deepEqual(
          Array.from(ix.subarray(r * k, (r + 1) * k)),
          want.indices,
          `row ${r}, k ${k}`,
        );
        assert.deepEqual(
          Array.from(v.subarray(r * k, (r + 1) * k)),
          want.values,
          `row ${r}, k ${k}`,
        );
      }
    }
  });

  test("a strided view, and a long row (decoding's [rows, 1, vocab])", () => {
    const rng = new Mulberry32(3);
    const V = 997;
    const data = Array.from({ length: 3 * V }, () => rng.uniform() * 10 - 5);
    const x = fromArray(data, [3, 1, V]);
    const { values, indices } = topk(x, 8);
    for (let r = 0; r < 3; r++) {
      const want = definition(data.slice(r * V, (r + 1) * V), 8);
      assert.deepEqual(Array.from(indices.readSync().subarray(r * 8, r * 8 + 8)), want.indices);
    }
    const t = transpose(fromArray([1, 5, 2, 7, 3, 0], [2, 3]), 0, 1); // [[1, 7], [5, 3], [2, 0]]
    assert.deepEqual(Array.from(topk(t, 1).indices.readSync()), [1, 0, 0]);
    assert.ok(!values.requiresGrad, "selection records no gradient");
  });

  test("errors name the op, k and the shape", () => {
    const x = fromArray([1, 2, 3], [1, 3]);
    assert.throws(
      () => topk(x, 4),
      (e: unknown) =>
        e instanceof AttnError &&
        /topk: k must be an integer in \[1, 3\] for \[1, 3\], got 4/.test(e.message),
    );
    assert.throws(() => topk(fromArray([1, 2], [2], "int32"), 1), /topk/);
  });
});
