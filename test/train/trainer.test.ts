/** The training loop: gradient accumulation equals one big batch; resume is bit-exact; stop, time, eval, best, metrics. */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { Mulberry32, manualSeed } from "../../src/tensor/index.js";
import {
  CheckpointManager,
  averageCheckpoints,
  loadCheckpoint,
} from "../../src/train/checkpoint.js";
import { Adam, SGD } from "../../src/train/optim.js";
import { cosineSchedule, paperSchedule } from "../../src/train/schedules.js";
import { type Metrics, Trainer, type TrainerOptions } from "../../src/train/trainer.js";
import {
  FixedData,
  PAD,
  ShuffledData,
  type TokenBatch,
  TinyNet,
  makeExamples,
  paramBytes,
  sameBytes,
  tinyModel,
} from "./helpers.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "attn-trainer-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cat(xs: TokenBatch[]): TokenBatch {
  return { ids: xs.flatMap((x) => x.ids), targets: xs.flatMap((x) => x.targets) };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function grads(net: TinyNet): Map<string, number[]> {
  return new Map(net.namedParameters().map(([n, p]) => [n, p.grad!.toArray()]));
}

describe("gradient accumulation", () => {
  const ex = makeExamples(9, 5);
  const micro = [cat(ex.slice(0, 2)), cat(ex.slice(2, 5)), cat(ex.slice(5, 9))];
  const noTokens: TokenBatch = { ids: [4, 5], targets: [PAD, PAD] };
  const big = cat(ex);
  const tokens = (b: TokenBatch) => b.targets.filter((t) => t !== PAD).length;

  test("the micro-batches really have different token counts", () => {
    const counts = micro.map(tokens);
    assert.equal(new Set(counts).size, 3, `token counts ${counts}`);
    assert.ok(
      micro.some((b) => b.targets.includes(PAD)),
      "some targets are ignored",
    );
  });

  for (const kind of ["sgd", "adam"] as const) {
    test(`N micro-batches give the big batch's gradients and updates (${kind})`, () => {
      const make = (steps: TokenBatch[][]) => {
        const net = new TinyNet(0, new Mulberry32(3));
        const optimizer =
          kind === "sgd"
            ? new SGD(net.parameters(), 0.5)
            : new Adam(net.parameters(), { lr: 0.01 });
        const trainer = new Trainer({
          model: tinyModel(net),
          data: new FixedData(steps),
          optimizer,
        });
        return { net, trainer };
      };
      const acc = make([[micro[0], noTokens, micro[1], micro[2]]]);
      const one = make([[big]]);
      const ia = acc.trainer.trainStep();
      const ib = one.trainer.trainStep();
      assert.equal(ia.microBatches, 4);
      assert.equal(ia.tokens, ib.tokens);
      assert.ok(Math.abs(ia.loss - ib.loss) < 1e-6, `loss ${ia.loss} vs ${ib.loss}`);
      assert.ok(Math.abs(ia.gradNorm - ib.gradNorm) < 1e-6);
      const ga = grads(acc.net);
      const gb = grads(one.net);
      for (const [n, g] of ga) {
        const d = maxAbsDiff(g, gb.get(n)!);
        assert.ok(d < 1e-6, `grad of ${n} differs by ${d}`);
      }
      for (let s = 0; s < 3; s++) {
        acc.trainer.trainStep();
        one.trainer.trainStep();
      }
      const pb = new Map(one.net.namedParameters());
      for (const [n, p] of acc.net.namedParameters()) {
        const d = maxAbsDiff(p.toArray(), pb.get(n)!.toArray());
        assert.ok(d < 1e-6, `weights of ${n} differ by ${d} after 4 steps`);
      }
    });
  }

  test("control: weighting micro-batches equally (not by tokens) gives other gradients", () => {
    const net = new TinyNet(0, new Mulberry32(3));
    const model = tinyModel(net);
    const equalWeights = {
      module: net,
      loss: (b: TokenBatch) => ({ ...model.loss(b), tokens: 1 }),
    };
    const t = new Trainer({
      model: equalWeights,
      data: new FixedData([micro]),
      optimizer: new SGD(net.parameters(), 0.5),
    });
    t.trainStep();
    const ref = new TinyNet(0, new Mulberry32(3));
    new Trainer({
      model: tinyModel(ref),
      data: new FixedData([[big]]),
      optimizer: new SGD(ref.parameters(), 0.5),
    }).trainStep();
    const g = grads(ref);
    const worst = Math.max(...[...grads(net)].map(([n, x]) => maxAbsDiff(x, g.get(n)!)));
    assert.ok(worst > 1e-4, `equal weighting should differ, max diff ${worst}`);
  });
});

describe("exact resume", () => {
  const examples = makeExamples(20, 11);
  const N = 8;

  /** Model with dropout (engine RNG), shuffled data with its own RNG, Adam, paper schedule, clipping. */
  function setup(engineSeed: number, dataSeed: number, maxSteps: number, out?: string) {
    manualSeed(engineSeed);
    const net = new TinyNet(0.3);
    const data = new ShuffledData(examples, 2, 3, dataSeed);
    const optimizer = new Adam(net.parameters(), { weightDecay: 0.01 });
    const trainer = new Trainer({
      model: tinyModel(net),
      data,
      optimizer,
      schedule: paperSchedule({ dModel: 8, warmup: 4, factor: 0.5 }),
      clipNorm: 1,
      maxSteps,
      checkpoints: out ? new CheckpointManager(out) : undefined,
      config: { model: "tiny", dropout: 0.3 },
    });
    return { net, data, optimizer, trainer };
  }

  let straightBytes: Map<string, Buffer>;
  const out = path.join(tmp, "resume");

  test("2N steps straight == N steps, checkpoint, fresh objects, N more (bit-identical)", async () => {
    const straight = setup(1, 2, 2 * N);
    const init = paramBytes(straight.net);
    const r = await straight.trainer.run();
    assert.equal(r.reason, "maxSteps");
    assert.equal(r.step, 2 * N);
    straightBytes = paramBytes(straight.net);
    assert.ok(!sameBytes(init, straightBytes), "training changed the weights");
    assert.ok(straight.data.epoch >= 2, "the data went through several shuffled epochs");

    const first = setup(1, 2, N, out);
    assert.equal((await first.trainer.run()).step, N);
    const ck = loadCheckpoint(path.join(out, "last"));
    assert.equal((ck.trainerState as { step: number }).step, N);
    assert.deepEqual(ck.config, { model: "tiny", dropout: 0.3 });

    // Fresh objects with other seeds: everything must come from the checkpoint.
    const second = setup(77, 99, 2 * N);
    second.trainer.resumeFrom(path.join(out, "last"));
    assert.equal(second.trainer.step, N);
    assert.equal(second.optimizer.stepCount, N);
    assert.equal((await second.trainer.run()).step, 2 * N);
    assert.ok(
      sameBytes(paramBytes(second.net), straightBytes),
      "resumed weights are bit-identical",
    );
  });

  // Controls: the comparison above can fail. Leaving out any piece of state changes the result.
  const controls: [string, (s: ReturnType<typeof setup>) => void][] = [
    ["engine RNG (dropout)", () => manualSeed(12345)],
    [
      "data position and shuffle RNG",
      (s) => s.data.setState(new ShuffledData(examples, 2, 3, 2).getState()),
    ],
    [
      "Adam moments",
      (s) =>
        s.optimizer.importState({
          ...s.optimizer.exportState(),
          m: s.optimizer.m.map((m) => new Float32Array(m.size)),
          v: s.optimizer.v.map((v) => new Float32Array(v.size)),
        }),
    ],
  ];
  for (const [what, spoil] of controls) {
    test(`control: not restoring the ${what} breaks bit-identity`, async () => {
      const s = setup(77, 99, 2 * N);
      s.trainer.resumeFrom(path.join(out, "last"));
      spoil(s);
      await s.trainer.run();
      assert.ok(!sameBytes(paramBytes(s.net), straightBytes));
    });
  }
});

describe("run: stop, time budget, eval, best, metrics file", () => {
  const examples = makeExamples(12, 3);

  function setup(
    dir: string,
    opts: { evals?: number[]; mode?: "min" | "max"; keepSteps?: number },
    overrides: Partial<TrainerOptions<TokenBatch>> = {},
  ) {
    manualSeed(4);
    const net = new TinyNet(0.1);
    const calls: number[] = [];
    let k = 0;
    const trainer = new Trainer({
      model: tinyModel(net),
      data: new ShuffledData(examples, 1, 4, 8),
      optimizer: new SGD(net.parameters(), 0.1),
      maxSteps: 5,
      evalEvery: 1,
      evaluate: ({ step }): Metrics => {
        calls.push(step);
        assert.equal(net.training, false, "evaluate runs in eval mode");
        return { loss: opts.evals?.[k++] ?? 1, bleu: 3 };
      },
      bestMetric: { name: "loss", mode: opts.mode ?? "min" },
      checkpoints: new CheckpointManager(dir, { keepSteps: opts.keepSteps ?? 0 }),
      checkpointEvery: 1,
      config: { x: 1 },
      tokenizer: { type: "char" },
      metricsFile: path.join(dir, "metrics.jsonl"),
      ...overrides,
    });
    return { net, trainer, calls };
  }
  const stepOf = (dir: string) => (loadCheckpoint(dir).trainerState as { step: number }).step;

  test("keeps last, best (lower is better) and the last N step checkpoints; writes metrics lines", async () => {
    const dir = path.join(tmp, "best-min");
    const { trainer, calls, net } = setup(dir, { evals: [5, 3, 4, 2, 6], keepSteps: 2 });
    const r = await trainer.run();
    assert.deepEqual(calls, [1, 2, 3, 4, 5]);
    assert.equal(net.training, true);
    assert.deepEqual(r.best, { metric: "loss", value: 2, step: 4 });
    assert.equal(stepOf(path.join(dir, "last")), 5);
    assert.equal(stepOf(path.join(dir, "best")), 4);
    assert.deepEqual(
      fs
        .readdirSync(dir)
        .filter((n) => n.startsWith("step-"))
        .sort(),
      ["step-4", "step-5"],
    );
    const lines = fs
      .readFileSync(path.join(dir, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(lines.filter((l) => l.type === "step").length, 5);
    const evals = lines.filter((l) => l.type === "eval");
    assert.deepEqual(
      evals.map((l) => [l.step, l.loss, l.bleu]),
      [
        [1, 5, 3],
        [2, 3, 3],
        [3, 4, 3],
        [4, 2, 3],
        [5, 6, 3],
      ],
    );
    const s = lines[0];
    for (const k of ["step", "loss", "lr", "tokens", "tokensPerSec", "gradNorm", "elapsedMs"]) {
      assert.equal(typeof s[k], "number", `step record has ${k}`);
    }
    const ck = loadCheckpoint(path.join(dir, "best"));
    assert.deepEqual(ck.tokenizer, { type: "char" });
    assert.equal((ck.trainerState as { history: unknown[] }).history.length, 8); // 4 steps + 4 evals
  });

  test("higher is better", async () => {
    const dir = path.join(tmp, "best-max");
    const { trainer } = setup(dir, { evals: [5, 3, 4, 2, 6], mode: "max" });
    await trainer.run();
    assert.equal(stepOf(path.join(dir, "best")), 5);
    assert.equal(fs.existsSync(path.join(dir, "step-5")), false, "no step dirs by default");
  });

  test("requestStop finishes the current step, saves, and returns", async () => {
    const dir = path.join(tmp, "stop");
    const { trainer } = setup(
      dir,
      {},
      {
        evalEvery: undefined,
        checkpointEvery: undefined,
        onStep: ({ step }) => {
          if (step === 3) trainer.requestStop();
        },
      },
    );
    const r = await trainer.run();
    assert.equal(r.reason, "stopped");
    assert.equal(r.step, 3);
    assert.equal(stepOf(path.join(dir, "last")), 3);
    assert.equal(fs.existsSync(path.join(dir, "best")), false);
  });

  test("requestStop from a SIGINT handler (the event loop runs between steps)", async () => {
    const dir = path.join(tmp, "sigint");
    const { trainer } = setup(
      dir,
      {},
      { maxSteps: 1000, evalEvery: undefined, checkpointEvery: undefined },
    );
    const onSigint = () => trainer.requestStop();
    process.once("SIGINT", onSigint);
    setTimeout(() => process.kill(process.pid, "SIGINT"), 20);
    const r = await trainer.run();
    process.removeListener("SIGINT", onSigint);
    assert.equal(r.reason, "stopped");
    assert.ok(r.step > 0 && r.step < 1000);
    assert.equal(stepOf(path.join(dir, "last")), r.step);
  });

  test("the time budget counts training only, and the schedule decays by its end", async () => {
    const dir = path.join(tmp, "time-horizon");
    const lrs: number[] = [];
    const progress: number[] = [];
    const { trainer } = setup(
      dir,
      {},
      {
        maxSteps: undefined,
        maxTimeMs: 150,
        checkpointEvery: undefined,
        // Each evaluation pauses 30 ms: that must not count against the budget.
        evaluate: () => {
          const end = performance.now() + 30;
          while (performance.now() < end);
          return { loss: 1 };
        },
        evalEvery: 1,
        schedule: cosineSchedule({ peakLr: 0.1, warmup: 2, minLr: 0.001 }),
        onStep: (info) => {
          lrs.push(info.lr);
          progress.push(info.progress);
        },
      },
    );
    const r = await trainer.run();
    assert.equal(r.reason, "time");
    assert.ok(r.elapsedMs >= 150, `trained ${r.elapsedMs} ms`);
    assert.ok(
      r.wallMs >= r.elapsedMs + 30 * (r.step - 1),
      `wall ${r.wallMs} ms for ${r.step} steps`,
    );
    assert.ok(r.step > 5, `${r.step} steps`);
    assert.ok(lrs[lrs.length - 1] < 0.01, `last lr ${lrs[lrs.length - 1]}`);
    assert.ok(progress[progress.length - 1] > 0.9);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i] >= progress[i - 1]);
  });

  test("averaging keeps the last N snapshots at the end of the horizon and they average", async () => {
    const dir = path.join(tmp, "average");
    const { trainer } = setup(
      dir,
      { keepSteps: 3 },
      { maxSteps: 20, checkpointEvery: 5, averageLast: { count: 3, every: 0.1 } },
    );
    const r = await trainer.run();
    assert.equal(r.step, 20);
    const m = new CheckpointManager(dir, { keepSteps: 3 });
    assert.deepEqual(
      m.stepDirs().map((s) => s.step),
      [16, 18, 20],
    );
    const avg = averageCheckpoints(m.stepDirs().map((s) => s.dir));
    const states = m.stepDirs().map((s) => loadCheckpoint(s.dir).state);
    for (const [name, t] of avg) {
      for (let i = 0; i < t.values.length; i++) {
        const mean = states.reduce((a, st) => a + st.get(name)!.values[i], 0) / 3;
        assert.ok(Math.abs(t.values[i] - mean) < 1e-6, name);
      }
    }
  });

  test("a time budget stops the run", async () => {
    const dir = path.join(tmp, "time");
    const { trainer } = setup(dir, {}, { maxSteps: undefined, maxTimeMs: 0 });
    const r = await trainer.run();
    assert.equal(r.reason, "time");
    assert.equal(r.step, 0);
    assert.equal(fs.existsSync(path.join(dir, "last")), false, "nothing to save at step 0");
  });
});
