import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KVCache } from "../../src/nn/kv-cache.js";
import { Mulberry32, concat, randn, select, stack } from "../../src/tensor/index.js";

const rand = (shape: number[], seed: number) => randn(shape, { rng: new Mulberry32(seed) });

describe("KVCache", () => {
  test("appends equal concatenation, across growth past the capacity", () => {
    const cache = new KVCache(3);
    const ks = [rand([2, 2, 2, 4], 1), rand([2, 2, 1, 4], 2), rand([2, 2, 3, 4], 3)];
    const vs = [rand([2, 2, 2, 4], 4), rand([2, 2, 1, 4], 5), rand([2, 2, 3, 4], 6)];
    for (let i = 0; i < ks.length; i++) {
      cache.append(ks[i], vs[i]);
      assert.deepEqual(cache.k!.toArray(), concat(ks.slice(0, i + 1), 2).toArray());
      assert.deepEqual(cache.v!.toArray(), concat(vs.slice(0, i + 1), 2).toArray());
    }
    assert.equal(cache.length, 6);
    cache.dispose();
    assert.equal(cache.length, 0);
  });

  test("reorder picks batch rows by parent, and later appends continue them", () => {
    const cache = new KVCache(8);
    const k0 = rand([3, 1, 2, 2], 7);
    cache.append(k0, k0);
    cache.reorder([2, 2, 0]);
    const want = stack([select(k0, 0, 2), select(k0, 0, 2), select(k0, 0, 0)], 0);
    assert.deepEqual(cache.k!.toArray(), want.toArray());
    const k1 = rand([3, 1, 1, 2], 8);
    cache.append(k1, k1);
    assert.deepEqual(cache.v!.toArray(), concat([want, k1], 2).toArray());
  });

  test("a mismatched append is a clear error", () => {
    const cache = new KVCache();
    cache.append(rand([1, 2, 1, 4], 1), rand([1, 2, 1, 4], 2));
    assert.throws(
      () => cache.append(rand([1, 3, 1, 4], 1), rand([1, 3, 1, 4], 2)),
      /KVCache.append: new keys \[1, 3, 1, 4\] do not match the cached \[1, 2, 1, 4\]/,
    );
  });
});
