/**
 * The reference backend's buffer pool (shared by the native backend): a
 * released buffer serves later requests of its size class, and of smaller
 * classes down to half its size (shrinking decode batches), never larger ones;
 * over its bound it evicts the buffers released longest ago.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ReferenceBackend } from "../../src/backend/reference/index.js";

describe("reference backend buffer pool", () => {
  test("a released buffer serves the same size again", () => {
    const be = new ReferenceBackend();
    const a = be.allocate("float32", 100_000);
    be.release(a);
    const b = be.allocate("float32", 100_000);
    assert.equal(b.buffer, a.buffer);
  });

  test("a smaller request (down to half) reuses a larger pooled buffer, zero-filled", () => {
    const be = new ReferenceBackend();
    const a = be.allocate("float32", 100_000);
    a.fill(7);
    be.release(a);
    const b = be.allocate("float32", 60_000);
    assert.equal(b.buffer, a.buffer);
    assert.equal(b.length, 60_000);
    assert.ok(b.every((v) => v === 0));
  });

  test("a request under half the pooled size, or larger than it, gets a fresh buffer", () => {
    const be = new ReferenceBackend();
    const a = be.allocate("float32", 100_000);
    be.release(a);
    assert.notEqual(be.allocate("float32", 40_000).buffer, a.buffer);
    assert.notEqual(be.allocate("float32", 130_000).buffer, a.buffer);
    // Still pooled: the two requests above did not take it.
    assert.equal(be.allocate("float32", 100_000).buffer, a.buffer);
  });

  test("int32 and float32 share buffers by byte size", () => {
    const be = new ReferenceBackend();
    const a = be.allocate("float32", 10_000);
    be.release(a);
    const b = be.allocate("int32", 9_000);
    assert.ok(b instanceof Int32Array);
    assert.equal(b.buffer, a.buffer);
  });

  test("over the bound, the buffers released longest ago are evicted, not the new one", () => {
    const be = new ReferenceBackend();
    be.maxPooledBytes = 0; // the bound is then the peak of live memory
    const a = be.allocate("float32", 100_000);
    const b = be.allocate("float32", 100_000);
    be.release(a);
    be.release(b);
    const x = be.allocate("float32", 200_000); // live 800 kB: the peak stays 800 kB
    be.release(x); // 1.6 MB pooled would exceed it: a, then b go
    const again = be.allocate("float32", 200_000);
    assert.equal(again.buffer, x.buffer);
    const small = be.allocate("float32", 100_000);
    assert.notEqual(small.buffer, a.buffer);
    assert.notEqual(small.buffer, b.buffer);
  });
});
