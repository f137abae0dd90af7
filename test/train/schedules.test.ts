/** Learning-rate schedules, gradient clipping, Adam state export/import and the AdamW decay mask. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AttnError } from "../../src/errors.js";
import { type Tensor, fromArray, keep, zeros } from "../../src/tensor/index.js";
import { clipGradNorm, gradNorm } from "../../src/train/clip.js";
import { Adam, decayMask } from "../../src/train/optim.js";
import {
  constantSchedule,
  cosineSchedule,
  linearSchedule,
  paperSchedule,
  scheduleFromConfig,
} from "../../src/train/schedules.js";

function close(actual: number, expected: number, rel = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${actual} != ${expected}`);
}

describe("paperSchedule", () => {
  test("d_model 512, warmup 4000 (the paper's base model)", () => {
    const lr = paperSchedule({ dModel: 512, warmup: 4000 });
    // 512^-0.5 = 0.044194174, 4000^-1.5 = 3.9528471e-6, 4000^-0.5 = 0.015811388.
    close(lr(1), 1.746928107421711e-7); // 0.044194174 · 1 · 3.9528471e-6
    close(lr(100), 1.746928107421711e-5); // linear in n during warm-up
    close(lr(4000), 6.987712429686843e-4); // peak: (512 · 4000)^-0.5
    close(lr(16000), 3.4938562148434214e-4); // n^-0.5 decay: 4x the steps, half the rate
  });

  test("hand-computed with round numbers: d_model 256, warmup 100, factor 2", () => {
    const lr = paperSchedule({ dModel: 256, warmup: 100, factor: 2 });
    // 2 · 256^-0.5 = 1/8; warm-up: n · 100^-1.5 = n/1000; decay: n^-0.5.
    close(lr(50), 0.125 * 50 * 0.001); // 0.00625
    close(lr(100), 0.125 * 0.1); // 0.0125, the peak
    close(lr(400), 0.125 * 0.05); // 0.00625
  });

  test("peaks at n = warmup", () => {
    const lr = paperSchedule({ dModel: 512, warmup: 4000 });
    let best = 0;
    for (let n = 1; n <= 20000; n++) if (lr(n) > lr(best || 1)) best = n;
    assert.equal(best, 4000);
    assert.ok(lr(3999) < lr(4000) && lr(4001) < lr(4000));
  });

  test("rejects bad options", () => {
    assert.throws(() => paperSchedule({ dModel: 0, warmup: 10 }), AttnError);
    assert.throws(() => paperSchedule({ dModel: 512, warmup: -1 }), AttnError);
  });
});

describe("cosineSchedule", () => {
  const lr = cosineSchedule({ peakLr: 1e-3, warmup: 10, totalSteps: 110, minLr: 1e-5 });
  test("linear warm-up to the peak", () => {
    close(lr(1), 1e-4);
    close(lr(5), 5e-4);
    close(lr(10), 1e-3);
  });
  test("cosine decay: midpoint and endpoints", () => {
    close(lr(60), 1e-5 + (1e-3 - 1e-5) / 2);
    close(lr(110), 1e-5);
    close(lr(5000), 1e-5);
    assert.ok(lr(30) > lr(31) && lr(31) > lr(32));
  });
  test("minLr defaults to 0; totalSteps < warmup is an error", () => {
    const z = cosineSchedule({ peakLr: 2, warmup: 0, totalSteps: 4 });
    close(z(2), 1); // cos(π/2) = 0: half way
    assert.equal(z(4), 0);
    assert.throws(() => cosineSchedule({ peakLr: 1, warmup: 10, totalSteps: 5 }), AttnError);
  });
});

describe("decay over the horizon's progress", () => {
  test("cosine and linear follow the fraction done, after a warm-up in steps", () => {
    const cos = cosineSchedule({ peakLr: 1, warmup: 4, minLr: 0.1 });
    const lin = linearSchedule({ peakLr: 1, warmup: 4, minLr: 0.1 });
    close(cos(2, 0), 0.5); // warm-up: half of the (undecayed) peak
    close(cos(100, 0.5), 0.1 + 0.9 * 0.5);
    close(cos(100, 1), 0.1);
    close(lin(100, 0.25), 0.1 + 0.9 * 0.75);
    close(lin(100, 1), 0.1);
    close(cos(100, 2), 0.1); // clamped
  });
  test("without progress a schedule needs totalSteps", () => {
    assert.throws(() => cosineSchedule({ peakLr: 1, warmup: 0 })(3), /progress/);
    close(linearSchedule({ peakLr: 1, warmup: 0, totalSteps: 10 })(5), 0.5);
  });
});

describe("constantSchedule and scheduleFromConfig", () => {
  test("constant with warm-up", () => {
    const lr = constantSchedule(0.1, 4);
    close(lr(1), 0.025);
    close(lr(4), 0.1);
    close(lr(1000), 0.1);
    assert.equal(constantSchedule(0.5)(1), 0.5);
  });
  test("configs build the same schedules", () => {
    const a = scheduleFromConfig({ type: "paper", dModel: 512, warmup: 4000 });
    const b = scheduleFromConfig({ type: "cosine", peakLr: 1e-3, warmup: 10, totalSteps: 110 });
    const c = scheduleFromConfig({ type: "constant", lr: 3e-4 });
    assert.equal(a(123), paperSchedule({ dModel: 512, warmup: 4000 })(123));
    assert.equal(b(50), cosineSchedule({ peakLr: 1e-3, warmup: 10, totalSteps: 110 })(50));
    assert.equal(c(7), 3e-4);
  });
  test("bad configs are AttnErrors naming the problem", () => {
    assert.throws(() => scheduleFromConfig({ type: "step" }), /unknown type "step"/);
    assert.throws(
      () => scheduleFromConfig({ type: "paper", dModel: 512, warmup: 4000, lr: 1 }),
      /unknown field "lr"/,
    );
    assert.throws(() => scheduleFromConfig({ type: "paper", warmup: 4000 }), /dModel/);
    assert.throws(() => scheduleFromConfig(null), AttnError);
  });
});

function withGrad(values: number[], shape: number[]): Tensor {
  const p = keep(zeros(shape));
  p.requiresGrad = true;
  p.grad = keep(fromArray(values, shape));
  return p;
}

describe("clipGradNorm", () => {
  test("global L2 norm over all grads; scales by maxNorm / (norm + 1e-6)", () => {
    const a = withGrad([3, 4], [2]);
    const b = withGrad([12], [1, 1]);
    const c = keep(zeros([3])); // no grad: skipped
    assert.equal(gradNorm([a, b, c]), 13); // sqrt(9 + 16 + 144)
    const norm = clipGradNorm([a, b, c], 6.5);
    assert.equal(norm, 13);
    const s = 6.5 / (13 + 1e-6);
    assert.deepEqual(a.grad!.toArray(), [Math.fround(3 * s), Math.fround(4 * s)]);
    assert.deepEqual(b.grad!.toArray(), [Math.fround(12 * s)]);
    close(gradNorm([a, b]), 6.5, 1e-6);
  });
  test("leaves grads alone below maxNorm", () => {
    const a = withGrad([0.3, -0.4], [2]);
    assert.ok(Math.abs(clipGradNorm([a], 1) - 0.5) < 1e-7);
    assert.deepEqual(a.grad!.toArray(), [Math.fround(0.3), Math.fround(-0.4)]);
  });
  test("rejects maxNorm <= 0", () => {
    assert.throws(() => clipGradNorm([], 0), AttnError);
  });
});

describe("Adam state and decay mask", () => {
  test("exportState/importState round-trip, and continue identically", () => {
    const mk = () => [withGrad([0.1, -0.2, 0.3], [3]), withGrad([1, 2], [2])];
    const pa = mk();
    const a = new Adam(pa, { lr: 0.01 });
    a.step();
    a.step();
    const s = a.exportState();
    assert.equal(s.step, 2);
    const pb = mk();
    for (const [i, p] of pa.entries()) pb[i].data.set(p.data);
    const b = new Adam(pb, { lr: 0.01 });
    b.importState(s);
    a.step();
    b.step();
    for (const [i, p] of pa.entries()) assert.deepEqual(p.toArray(), pb[i].toArray());
    assert.throws(() => b.importState({ step: 1, m: [], v: [] }), AttnError);
  });

  test("decayMask excludes biases, norms and embeddings by name", () => {
    const names = [
      "embed.weight",
      "encoder.pos_embed.weight",
      "encoder.layers.0.self_attn.q_proj.weight",
      "encoder.layers.0.self_attn.q_proj.bias",
      "encoder.layers.0.norm1.weight",
      "encoder.norm.bias",
      "blocks.0.ln_1.weight",
      "ln_f.weight",
      "lm_head.weight",
      "decoder.layers.1.ffn.linear1.weight",
    ];
    const named = names.map((n) => [n, null] as const);
    assert.deepEqual(decayMask(named), [
      false,
      false,
      true,
      false,
      false,
      false,
      false,
      false,
      true,
      true,
    ]);
    assert.deepEqual(
      decayMask(named, { excludeBias: false, excludeNorm: false, excludeEmbedding: false }),
      names.map(() => true),
    );
    assert.deepEqual(decayMask(named, { exclude: (n) => n.startsWith("lm_head") })[8], false);
  });
});
