/** Checkpoint directories: round trip, errors, recovery of interrupted saves, averaging, the run-directory manager. */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { AttnError } from "../../src/errors.js";
import { Mulberry32, fromArray, keep } from "../../src/tensor/index.js";
import {
  CheckpointManager,
  averageCheckpoints,
  isCheckpoint,
  loadCheckpoint,
  restoreOptimizer,
  saveCheckpoint,
} from "../../src/train/checkpoint.js";
import { Adam } from "../../src/train/optim.js";
import { TinyNet, paramBytes, sameBytes } from "./helpers.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "attn-ckpt-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A TinyNet with gradients and two Adam steps behind it. */
function trainedNet(seed: number): { net: TinyNet; opt: Adam } {
  const net = new TinyNet(0, new Mulberry32(seed));
  const opt = new Adam(net.parameters(), { lr: 0.01 });
  for (let s = 0; s < 2; s++) {
    for (const p of net.parameters()) {
      p.grad?.dispose();
      p.grad = keep(
        fromArray(
          p.toArray().map((x, i) => Math.sin(x * 7 + i + s)),
          [...p.shape],
        ),
      );
    }
    opt.step();
  }
  return { net, opt };
}

function expectAttnError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AttnError, `expected AttnError, got ${e}`);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" should mention ${p}`);
    return true;
  });
}

describe("save and load", () => {
  test("round trip: config, weights, Adam state, tokenizer, trainer state", () => {
    const dir = path.join(tmp, "rt", "ck");
    const { net, opt } = trainedNet(1);
    const config = { model: { dModel: 8 }, train: { lr: 0.01 } };
    const tok = { type: "char", version: 1, chars: ["a", "b"] };
    const ts = { step: 2, rng: { a: -5, spare: 0.1 + 0.2 } };
    saveCheckpoint(dir, { config, model: net, optimizer: opt, tokenizer: tok, trainerState: ts });
    assert.deepEqual(fs.readdirSync(dir).sort(), [
      "config.json",
      "model.safetensors",
      "optimizer.safetensors",
      "tokenizer.json",
      "trainer.json",
    ]);
    assert.ok(isCheckpoint(dir));
    const ck = loadCheckpoint(dir);
    assert.deepEqual(ck.config, config);
    assert.deepEqual(ck.tokenizer, tok);
    assert.deepEqual(ck.trainerState, ts);
    assert.deepEqual(
      [...ck.state.keys()].sort(),
      net
        .namedParameters()
        .map(([n]) => n)
        .sort(),
    );
    assert.equal(ck.optimizerState?.type, "adam");
    assert.equal(ck.optimizerState?.step, 2);
    assert.ok(ck.optimizerState?.m.has("hidden.weight"));
    assert.ok(ck.optimizerState?.v.has("embed.weight"));

    const fresh = new TinyNet(0, new Mulberry32(99));
    const fopt = new Adam(fresh.parameters(), { lr: 0.01 });
    fresh.loadStateDict(ck.state);
    restoreOptimizer(fopt, fresh, ck.optimizerState!);
    assert.ok(sameBytes(paramBytes(fresh), paramBytes(net)));
    assert.equal(fopt.stepCount, 2);
    const a = opt.exportState();
    const b = fopt.exportState();
    assert.deepEqual(b.m, a.m);
    assert.deepEqual(b.v, a.v);

    // Saving again replaces the checkpoint as a whole.
    saveCheckpoint(dir, { config: { v: 2 }, model: net });
    assert.deepEqual(fs.readdirSync(dir).sort(), ["config.json", "model.safetensors"]);
    assert.deepEqual(loadCheckpoint(dir).config, { v: 2 });
    assert.deepEqual(fs.readdirSync(path.dirname(dir)), ["ck"], "no leftovers");
  });

  test("errors name the directory and the file", () => {
    const missing = path.join(tmp, "nope", "x");
    expectAttnError(() => loadCheckpoint(missing), `checkpoint ${missing}`, "not found");
    assert.equal(isCheckpoint(missing), false);

    const { net } = trainedNet(2);
    const noModel = path.join(tmp, "err", "no-model");
    saveCheckpoint(noModel, { config: {}, model: net });
    fs.rmSync(path.join(noModel, "model.safetensors"));
    expectAttnError(
      () => loadCheckpoint(noModel),
      `checkpoint ${noModel}`,
      "model.safetensors is missing",
    );
    assert.equal(isCheckpoint(noModel), false);

    const badConfig = path.join(tmp, "err", "bad-config");
    saveCheckpoint(badConfig, { config: {}, model: net });
    fs.writeFileSync(path.join(badConfig, "config.json"), '{"model": ');
    expectAttnError(
      () => loadCheckpoint(badConfig),
      `checkpoint ${badConfig}`,
      "config.json is not valid JSON",
    );

    const badModel = path.join(tmp, "err", "bad-model");
    saveCheckpoint(badModel, { config: {}, model: net });
    fs.writeFileSync(path.join(badModel, "model.safetensors"), "garbage!!");
    expectAttnError(() => loadCheckpoint(badModel), `checkpoint ${badModel}`, "model.safetensors");

    const file = path.join(tmp, "err", "a-file");
    fs.writeFileSync(file, "x");
    expectAttnError(() => loadCheckpoint(file), `checkpoint ${file}`, "not a directory");
  });

  test("refuses to replace a directory that is not a checkpoint", () => {
    const dir = path.join(tmp, "precious");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "notes.txt"), "keep me");
    const { net } = trainedNet(3);
    expectAttnError(() => saveCheckpoint(dir, { config: {}, model: net }), dir, "not a checkpoint");
    assert.equal(fs.readFileSync(path.join(dir, "notes.txt"), "utf8"), "keep me");
    // An empty directory is fine.
    const empty = path.join(tmp, "empty");
    fs.mkdirSync(empty);
    saveCheckpoint(empty, { config: {}, model: net });
    assert.ok(isCheckpoint(empty));
  });
});

describe("recovery of interrupted saves", () => {
  test("target moved aside (crash between the two renames): load uses .old, next save restores and cleans", () => {
    const parent = path.join(tmp, "recover");
    const dir = path.join(parent, "last");
    const { net } = trainedNet(4);
    saveCheckpoint(dir, { config: { v: 1 }, model: net });
    // The state a crash leaves: target renamed aside, an incomplete temp directory next to it.
    fs.renameSync(dir, path.join(parent, ".last.old-123-0badc0de"));
    fs.mkdirSync(path.join(parent, ".last.tmp-123-0badc0de"));
    fs.writeFileSync(path.join(parent, ".last.tmp-123-0badc0de", "config.json"), '{"v": 2}');
    assert.ok(isCheckpoint(dir));
    const ck = loadCheckpoint(dir);
    assert.deepEqual(ck.config, { v: 1 });
    assert.equal(ck.dir, path.join(parent, ".last.old-123-0badc0de"));

    saveCheckpoint(dir, { config: { v: 3 }, model: net });
    assert.deepEqual(fs.readdirSync(parent), ["last"]);
    assert.deepEqual(loadCheckpoint(dir).config, { v: 3 });
  });

  test("leftovers next to a complete target are ignored by load and removed by the next save", () => {
    const parent = path.join(tmp, "leftovers");
    const dir = path.join(parent, "best");
    const { net } = trainedNet(5);
    saveCheckpoint(dir, { config: { v: 1 }, model: net });
    fs.mkdirSync(path.join(parent, ".best.old-9-deadbeef")); // half-deleted old one
    fs.mkdirSync(path.join(parent, ".best.tmp-9-deadbeef")); // half-written new one
    fs.mkdirSync(path.join(parent, ".bestx.tmp-9-deadbeef")); // not ours
    assert.deepEqual(loadCheckpoint(dir).config, { v: 1 });
    saveCheckpoint(dir, { config: { v: 2 }, model: net });
    assert.deepEqual(fs.readdirSync(parent).sort(), [".bestx.tmp-9-deadbeef", "best"]);
  });
});

describe("averaging and the run directory", () => {
  test("averageCheckpoints of 3 checkpoints is the elementwise mean", () => {
    const dirs = [1, 2, 3].map((s) => {
      const dir = path.join(tmp, "avg", `c${s}`);
      saveCheckpoint(dir, { config: {}, model: new TinyNet(0, new Mulberry32(10 + s)) });
      return dir;
    });
    const states = dirs.map((d) => loadCheckpoint(d).state);
    const avg = averageCheckpoints(dirs);
    assert.deepEqual([...avg.keys()], [...states[0].keys()]);
    for (const [name, { shape, values }] of avg) {
      assert.deepEqual(shape, states[0].get(name)!.shape);
      for (let i = 0; i < values.length; i++) {
        const [a, b, c] = states.map((s) => s.get(name)!.values[i]);
        assert.equal(values[i], Math.fround((a + b + c) / 3), `${name}[${i}]`);
      }
    }
    // Loadable into a module.
    const net = new TinyNet(0, new Mulberry32(1));
    net.loadStateDict(avg);
    // Mismatched checkpoints are an error.
    const other = path.join(tmp, "avg", "other");
    saveCheckpoint(other, {
      config: {},
      model: new Map([["w", { shape: [2], values: [1, 2] }]]),
    });
    expectAttnError(() => averageCheckpoints([dirs[0], other]), other);
  });

  test("CheckpointManager keeps last, best and the last N step checkpoints; averageLast", () => {
    const out = path.join(tmp, "run");
    const m = new CheckpointManager(out, { keepSteps: 3 });
    const nets = [1, 2, 3, 4, 5].map((s) => new TinyNet(0, new Mulberry32(s)));
    nets.forEach((net, i) => {
      const step = (i + 1) * 100;
      const dirs = m.save({ config: { step }, model: net }, { step, isBest: step === 200 });
      assert.equal(dirs[dirs.length - 1], m.lastDir, "last is written last");
    });
    assert.deepEqual(
      m.stepDirs().map((s) => s.step),
      [300, 400, 500],
    );
    assert.deepEqual(fs.readdirSync(out).sort(), [
      "best",
      "last",
      "step-300",
      "step-400",
      "step-500",
    ]);
    assert.deepEqual(loadCheckpoint(m.lastDir).config, { step: 500 });
    assert.deepEqual(loadCheckpoint(m.bestDir).config, { step: 200 });
    const avg = m.averageLast(2);
    const expected = averageCheckpoints([m.stepDir(400), m.stepDir(500)]);
    for (const [n, t] of expected) assert.deepEqual(avg.get(n)!.values, t.values);
  });
});
