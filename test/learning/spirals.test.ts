/** A 2-layer MLP learns two interleaved spirals with plain SGD: the engine can actually learn. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Linear } from "../../src/nn/layers.js";
import { Module } from "../../src/nn/module.js";
import { SGD } from "../../src/train/optim.js";
import {
  Mulberry32,
  type Tensor,
  crossEntropy,
  fromArray,
  noGrad,
  tanh,
  tidy,
} from "../../src/tensor/index.js";

class MLP extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(hidden: number, rng: Mulberry32) {
    super();
    this.fc1 = this.addModule("fc1", new Linear(2, hidden, { rng }));
    this.fc2 = this.addModule("fc2", new Linear(hidden, 2, { rng }));
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(tanh(this.fc1.forward(x)));
  }
}

/** Two spirals, each 1.5 turns, with a little noise. */
export function twoSpirals(n: number, rng: Mulberry32): { x: Tensor; y: Tensor } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = (i / n) * 3 * Math.PI + 0.3;
    for (const cls of [0, 1]) {
      const angle = t + cls * Math.PI;
      const r = t / (3 * Math.PI);
      xs.push(
        r * Math.cos(angle) * 2 + 0.02 * rng.normal(),
        r * Math.sin(angle) * 2 + 0.02 * rng.normal(),
      );
      ys.push(cls);
    }
  }
  return { x: fromArray(xs, [2 * n, 2]), y: fromArray(ys, [2 * n], "int32") };
}

test("2-layer MLP reaches >= 98% training accuracy on two spirals with plain SGD", () => {
  const rng = new Mulberry32(7);
  const { x, y } = twoSpirals(100, rng);
  const model = new MLP(64, rng);
  const opt = new SGD(model.parameters(), 0.5);
  let loss = 0;
  for (let step = 0; step < 4000; step++) {
    loss = tidy(() => {
      opt.zeroGrad();
      const l = crossEntropy(model.forward(x), y);
      l.backward();
      opt.step();
      return l.item();
    });
  }
  const acc = noGrad(() =>
    tidy(() => {
      const logits = model.forward(x).readSync();
      const labels = y.readSync();
      let correct = 0;
      for (let i = 0; i < labels.length; i++) {
        const pred = logits[2 * i + 1] > logits[2 * i] ? 1 : 0;
        if (pred === labels[i]) correct++;
      }
      return correct / labels.length;
    }),
  );
  console.log(
    `spirals: final loss ${loss.toFixed(4)}, training accuracy ${(acc * 100).toFixed(1)}%`,
  );
  assert.ok(acc >= 0.98, `training accuracy ${acc} < 0.98`);
});
