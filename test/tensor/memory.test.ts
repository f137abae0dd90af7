/**
 * The lifetime rule keeps training at flat memory: 10,000 forward/backward/update
 * steps of a small MLP, each in `tidy`, end with exactly the engine memory of
 * step 100, and a JS heap within a small bound of it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { Linear } from "../../src/nn/layers.js";
import { Adam } from "../../src/train/optim.js";
import {
  Mulberry32,
  crossEntropy,
  memory,
  randn,
  relu,
  fromArray,
  tidy,
} from "../../src/tensor/index.js";

setFlagsFromString("--expose_gc");
const gc = runInNewContext("gc") as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

test("10,000 training steps keep engine memory flat", () => {
  const rng = new Mulberry32(3);
  const fc1 = new Linear(8, 32, { rng });
  const fc2 = new Linear(32, 4, { rng });
  const params = [...fc1.parameters(), ...fc2.parameters()];
  const opt = new Adam(params, { lr: 1e-3 });
  const x = randn([16, 8], { rng });
  const y = fromArray(
    Array.from({ length: 16 }, (_, i) => i % 4),
    [16],
    "int32",
  );
  let at100 = { bytes: 0, storages: 0 };
  let heap100 = 0;
  for (let step = 1; step <= 10_000; step++) {
    tidy(() => {
      opt.zeroGrad();
      const loss = crossEntropy(fc2.forward(relu(fc1.forward(x))), y);
      loss.backward();
      opt.step();
    });
    if (step === 100) {
      at100 = memory();
      heap100 = heapAfterGc();
    }
  }
  const atEnd = memory();
  const heapEnd = heapAfterGc();
  console.log(
    `engine memory: step 100 ${at100.bytes} B in ${at100.storages} allocations; step 10000 ${atEnd.bytes} B in ${atEnd.storages} allocations`,
  );
  console.log(
    `JS heap: step 100 ${(heap100 / 1e6).toFixed(2)} MB; step 10000 ${(heapEnd / 1e6).toFixed(2)} MB`,
  );
  assert.equal(atEnd.bytes, at100.bytes, "engine-owned bytes grew");
  assert.equal(atEnd.storages, at100.storages, "live allocations grew");
  assert.ok(heapEnd - heap100 < 4e6, `JS heap grew by ${heapEnd - heap100} bytes`);
});

test("tidy disposes intermediates but keeps returned tensors and leaf gradients", () => {
  const before = memory().bytes;
  const w = randn([4, 4]);
  w.requiresGrad = true;
  const kept = tidy(() => {
    const h = relu(w);
    const out = crossEntropy(h, fromArray([0, 1, 2, 3], [4], "int32"));
    out.backward();
    return h;
  });
  assert.equal(kept.disposed, false);
  assert.ok(w.grad && !w.grad.disposed, "leaf gradient survives the scope");
  const live = memory().bytes - before;
  // w, its grad and h (3 × 16 floats) are all that is left.
  assert.equal(live, 3 * 16 * 4);
  kept.dispose();
  w.dispose();
  assert.equal(memory().bytes, before);
});

test("a disposed tensor refuses to be read, naming it", () => {
  const t = randn([2, 2]);
  t.dispose();
  assert.throws(() => t.readSync(), /was disposed/);
});
