/**
 * A generic training loop around `trainStep` (./step.ts: zero the grads,
 * forward + backward per micro-batch weighted by its tokens, optional clip,
 * optimizer step at the schedule's lr), with the horizon, evaluations,
 * checkpoints, averaging and exact resume.
 *
 * The horizon: maxSteps and/or maxTimeMs, whichever comes first. maxTimeMs
 * counts training time only (data, forward, backward, update), summed over
 * every run of the training: evaluation and checkpoint pauses are not in it,
 * as in ../shared/bench/peer_translate.py. The schedule sees the fraction of
 * the horizon done, so a time-budgeted run decays its learning rate by the
 * end of the budget.
 *
 * Determinism: everything random must come from seeded generators: the
 * engine RNG (manualSeed; dropout) and the data source's own. Both are saved
 * in trainer.json, so a resumed run is bit-identical to an uninterrupted one.
 *
 * Over 400 lines as one concern: the loop and the state it must save and restore for an exact resume.
 */
import fs from "node:fs";
import path from "node:path";
import { AttnError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import type { Module } from "../nn/module.js";
import { type Tensor, getRng } from "../tensor/index.js";
import {
  type CheckpointManager,
  type LoadedCheckpoint,
  loadCheckpoint,
  restoreOptimizer,
  saveCheckpoint,
} from "./checkpoint.js";
import type { Optimizer } from "./optim.js";
import type { Schedule } from "./schedules.js";
import { trainStep } from "./step.js";

/** The model side: a module and a loss over one micro-batch. */
export interface TrainableModel<B> {
  module: Module;
  /** The mean loss over the micro-batch's `tokens` (a one-element tensor), and that count. */
  loss(batch: B): { loss: Tensor; tokens: number };
}

/** The data side: the micro-batches of each step, and an exact position for resume. */
export interface DataSource<B> {
  /** The micro-batches of the next optimizer step (at least one). */
  next(): B[];
  /** A JSON-serializable snapshot of the position (including its RNG state). */
  getState(): unknown;
  setState(state: unknown): void;
  /** Optional: the current epoch, recorded in trainer.json. */
  readonly epoch?: number;
}

export type Metrics = Record<string, number>;

export interface StepInfo {
  step: number;
  /** Mean loss over the step's tokens. */
  loss: number;
  lr: number;
  tokens: number;
  tokensPerSec: number;
  /** Global grad L2 norm before clipping. */
  gradNorm: number;
  /** Training time so far (steps only, no eval/checkpoint pauses), all runs together. */
  elapsedMs: number;
  /** Fraction of the horizon (maxSteps, maxTimeMs) done after this step, in [0, 1]. */
  progress: number;
  stepMs: number;
  microBatches: number;
  /** True when the update was skipped for a non-finite loss/grad (nonFinite: "skip"). */
  skipped: boolean;
}

export interface EvalInfo {
  step: number;
  metrics: Metrics;
  elapsedMs: number;
  /** Whether this eval improved the best metric. */
  isBest: boolean;
}

export interface CheckpointInfo {
  step: number;
  dirs: string[];
  isBest: boolean;
}

/** One line of the metrics file (JSON lines). */
export type MetricsRecord =
  | ({ type: "step" } & Omit<StepInfo, "microBatches" | "skipped"> & { skipped?: true })
  | { type: "eval"; step: number; elapsedMs: number; [metric: string]: number | string };

export interface TrainerOptions<B> {
  model: TrainableModel<B>;
  data: DataSource<B>;
  optimizer: Optimizer;
  /** The lr of step n (from 1) at a fraction of the horizon; without one, optimizer.lr is left as it is. */
  schedule?: Schedule;
  /** Clip the global grad norm to this (PyTorch clip_grad_norm_ semantics). */
  clipNorm?: number;
  /** Stop when the step count (all runs together) reaches this. */
  maxSteps?: number;
  /** Stop when the training time (all runs together, pauses excluded) reaches this. */
  maxTimeMs?: number;
  /**
   * Checkpoint averaging (Vaswani et al. 2017 average the last 5): keep `count` step-<n>
   * checkpoints written at intervals of `every` (a fraction of the horizon) before its end,
   * the last at the end. Needs `checkpoints` with keepSteps >= count.
   */
  averageLast?: { count: number; every: number };
  /** Call evaluate every evalEvery steps. */
  evalEvery?: number;
  /** Called in eval mode (module.eval()); use noGrad/tidy inside. */
  evaluate?: (ctx: { step: number }) => Metrics | Promise<Metrics>;
  /** Which eval metric picks out/best, and whether lower ("min") or higher ("max") is better. */
  bestMetric?: { name: string; mode: "min" | "max" };
  /** Where checkpoints go; without one, nothing is saved. */
  checkpoints?: CheckpointManager;
  /** Save every checkpointEvery steps (and always when run() ends). */
  checkpointEvery?: number;
  /** config.json of the checkpoints (any JSON). */
  config?: unknown;
  /** tokenizer.json of the checkpoints (any JSON, e.g. tokenizer.toJSON()). */
  tokenizer?: unknown;
  /** Append one JSON object per step and per eval to this file. */
  metricsFile?: string;
  /** How many recent metric records trainer.json keeps (default 100). */
  historySize?: number;
  /** On a non-finite loss or grad norm: throw an AttnError (default) or skip the update. */
  nonFinite?: "error" | "skip";
  /** Runs each phase of a step (trainStep's hook; a profiler times them). */
  phase?: <T>(name: string, fn: () => T) => T;
  onStep?: (info: StepInfo) => void | Promise<void>;
  onEval?: (info: EvalInfo) => void | Promise<void>;
  onCheckpoint?: (info: CheckpointInfo) => void | Promise<void>;
}

/** trainer.json. */
export interface TrainerState {
  format: "attention-lab-trainer";
  version: 1;
  step: number;
  epoch: number | null;
  tokens: number;
  /** Training time (ms), pauses excluded. */
  elapsedMs: number;
  stepMsAvg?: number;
  /** Averaging snapshots written so far. */
  nextSnapshot?: number;
  best: { metric: string; value: number; step: number } | null;
  /** The engine RNG (getRng().getState()). */
  rng: { a: number; spare: number | null };
  /** The data source's getState(). */
  data: unknown;
  history: MetricsRecord[];
}

export interface RunResult {
  reason: "maxSteps" | "time" | "stopped";
  step: number;
  /** Training time, all runs together (pauses excluded). */
  elapsedMs: number;
  /** Wall time of this run() call, pauses included. */
  wallMs: number;
  best: TrainerState["best"];
}

function now(): number {
  return performance.now();
}

function positiveIntOpt(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) {
    throw new AttnError(`trainer: ${name} must be a positive integer, got ${v}`);
  }
}

export class Trainer<B> {
  private readonly opts: TrainerOptions<B>;
  private readonly params: Tensor[];
  private stepCount = 0;
  private tokensSeen = 0;
  /** Training time of all steps so far (ms). */
  private trainMs = 0;
  /** Recent step time (ms), to forecast where the next step ends. */
  private stepMsAvg = 0;
  /** Index of the next averaging snapshot (0 = the earliest). */
  private nextSnapshot = 0;
  private bestValue: TrainerState["best"] = null;
  /** The step of the latest evaluation (-1: none in this process). */
  private lastEvalStep = -1;
  private history: MetricsRecord[] = [];
  private stopRequested = false;
  /** The learning rate of the last step. */
  lastLr = Number.NaN;

  constructor(opts: TrainerOptions<B>) {
    positiveIntOpt("maxSteps", opts.maxSteps);
    positiveIntOpt("evalEvery", opts.evalEvery);
    positiveIntOpt("checkpointEvery", opts.checkpointEvery);
    if (opts.clipNorm !== undefined && !(opts.clipNorm > 0)) {
      throw new AttnError(`trainer: clipNorm must be > 0, got ${opts.clipNorm}`);
    }
    if (opts.maxTimeMs !== undefined && !(opts.maxTimeMs >= 0)) {
      throw new AttnError(`trainer: maxTimeMs must be >= 0, got ${opts.maxTimeMs}`);
    }
    this.opts = opts;
    this.params = opts.model.module.parameters();
  }

  /** Optimizer steps taken so far (all runs together). */
  get step(): number {
    return this.stepCount;
  }

  get best(): TrainerState["best"] {
    return this.bestValue;
  }

  /** Training time so far (steps only), all runs together. */
  get elapsedMs(): number {
    return this.trainMs;
  }

  /**
   * Fraction of the horizon done once the next step ends: max(steps / maxSteps, time / maxTimeMs),
   * with the next step's time forecast from the recent ones. 0 without a horizon.
   */
  progress(afterSteps = this.stepCount + 1): number {
    const o = this.opts;
    let p = 0;
    if (o.maxSteps !== undefined) p = afterSteps / o.maxSteps;
    if (o.maxTimeMs !== undefined && o.maxTimeMs > 0) {
      const ahead = afterSteps > this.stepCount ? this.stepMsAvg : 0;
      p = Math.max(p, (this.trainMs + ahead) / o.maxTimeMs);
    }
    return Math.min(1, p);
  }

  /** Ask run() to stop after the current step (it then saves a checkpoint and returns). Safe from a signal handler. */
  requestStop(): void {
    this.stopRequested = true;
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  /** One optimizer step over the data source's next micro-batches. */
  trainStep(): StepInfo {
    const o = this.opts;
    const t0 = now();
    const batches = o.data.next();
    const n = this.stepCount + 1;
    const lr = o.schedule ? o.schedule(n, this.progress(n)) : o.optimizer.lr;
    this.lastLr = lr;
    const r = trainStep(batches, {
      parameters: this.params,
      optimizer: o.optimizer,
      loss: (batch) => o.model.loss(batch),
      lr,
      clipNorm: o.clipNorm,
      nonFinite: o.nonFinite,
      caller: "trainer",
      step: n,
      phase: o.phase,
    });
    this.stepCount = n;
    this.tokensSeen += r.tokens;
    const stepMs = now() - t0;
    this.trainMs += stepMs;
    this.stepMsAvg = this.stepMsAvg === 0 ? stepMs : 0.9 * this.stepMsAvg + 0.1 * stepMs;
    const info: StepInfo = {
      step: n,
      loss: r.loss,
      lr,
      tokens: r.tokens,
      tokensPerSec: stepMs > 0 ? (r.tokens * 1000) / stepMs : 0,
      gradNorm: r.gradNorm,
      elapsedMs: this.elapsedMs,
      progress: this.progress(n),
      stepMs,
      microBatches: batches.length,
      skipped: r.skipped,
    };
    const { microBatches: _m, skipped: _s, ...rest } = info;
    this.record({ type: "step", ...rest, ...(r.skipped ? { skipped: true as const } : {}) });
    return info;
  }

  private record(rec: MetricsRecord): void {
    this.history.push(rec);
    const keep = this.opts.historySize ?? 100;
    if (this.history.length > keep) this.history.splice(0, this.history.length - keep);
    const file = this.opts.metricsFile;
    if (file) {
      try {
        fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
        fs.appendFileSync(file, `${JSON.stringify(rec)}\n`);
      } catch (e) {
        throw new AttnError(
          `${file}: cannot write metrics: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
  }

  private isImprovement(value: number): boolean {
    const b = this.opts.bestMetric;
    if (!b || !Number.isFinite(value)) return false;
    if (!this.bestValue || this.bestValue.metric !== b.name) return true;
    return b.mode === "max" ? value > this.bestValue.value : value < this.bestValue.value;
  }

  /** Runs evaluate now (in eval mode), records the metrics, and saves out/best if the best metric improved. */
  async evaluateNow(): Promise<EvalInfo> {
    const o = this.opts;
    if (!o.evaluate) throw new AttnError("trainer: no evaluate function was given");
    const module = o.model.module;
    module.eval();
    let metrics: Metrics;
    try {
      metrics = await o.evaluate({ step: this.stepCount });
    } finally {
      module.train();
    }
    const name = o.bestMetric?.name;
    if (name !== undefined && typeof metrics[name] !== "number") {
      throw new AttnError(
        `trainer: evaluate() gave no metric "${name}" (it gave ${Object.keys(metrics).join(", ") || "none"})`,
      );
    }
    this.lastEvalStep = this.stepCount;
    const isBest = name !== undefined && this.isImprovement(metrics[name]);
    if (isBest) this.bestValue = { metric: name!, value: metrics[name!], step: this.stepCount };
    const info: EvalInfo = { step: this.stepCount, metrics, elapsedMs: this.elapsedMs, isBest };
    this.record({ ...metrics, type: "eval", step: info.step, elapsedMs: info.elapsedMs });
    await o.onEval?.(info);
    if (isBest && o.checkpoints) await this.saveCheckpoint(true);
    return info;
  }

  /** Saves out/last (and out/best when isBest, out/step-<n> when kept) through the checkpoint manager. */
  async saveCheckpoint(isBest = false, keepStep?: boolean): Promise<CheckpointInfo> {
    const o = this.opts;
    if (!o.checkpoints) throw new AttnError("trainer: no checkpoint manager was given");
    const dirs = o.checkpoints.save(this.checkpointData(), {
      step: this.stepCount,
      isBest,
      keepStep: keepStep ?? (o.averageLast ? false : undefined),
    });
    this.lastSavedStep = this.stepCount;
    const info: CheckpointInfo = { step: this.stepCount, dirs, isBest };
    await o.onCheckpoint?.(info);
    return info;
  }

  private lastSavedStep = -1;

  /** Saves a checkpoint of the current state to `dir` (no manager needed). */
  saveTo(dir: string): void {
    saveCheckpoint(dir, this.checkpointData());
  }

  private checkpointData() {
    const o = this.opts;
    return {
      config: o.config ?? {},
      model: o.model.module,
      optimizer: o.optimizer,
      tokenizer: o.tokenizer,
      trainerState: this.getState(),
    };
  }

  /** The trainer's state (as trainer.json holds it); a deep copy. */
  getState(): TrainerState {
    const state: TrainerState = {
      format: "attention-lab-trainer",
      version: 1,
      step: this.stepCount,
      epoch: this.opts.data.epoch ?? null,
      tokens: this.tokensSeen,
      elapsedMs: this.elapsedMs,
      stepMsAvg: this.stepMsAvg,
      nextSnapshot: this.nextSnapshot,
      best: this.bestValue,
      rng: getRng().getState(),
      data: this.opts.data.getState(),
      history: this.history,
    };
    return JSON.parse(JSON.stringify(state)) as TrainerState;
  }

  /** Restores getState()'s result: counters, best metric, history, the engine RNG and the data position. */
  setState(state: unknown): void {
    const s = state as TrainerState;
    if (
      s === null ||
      typeof s !== "object" ||
      s.format !== "attention-lab-trainer" ||
      !Number.isSafeInteger(s.step) ||
      s.step < 0 ||
      typeof s.rng?.a !== "number"
    ) {
      throw new AttnError("trainer state: not a trainer.json written by this trainer");
    }
    if (s.version !== 1) throw new AttnError(`trainer state: unsupported version ${s.version}`);
    this.stepCount = s.step;
    this.tokensSeen = s.tokens ?? 0;
    this.trainMs = s.elapsedMs ?? 0;
    this.stepMsAvg = s.stepMsAvg ?? 0;
    this.nextSnapshot = s.nextSnapshot ?? 0;
    this.bestValue = s.best ?? null;
    this.history = Array.isArray(s.history) ? s.history.slice() : [];
    this.lastSavedStep = s.step;
    getRng().setState(s.rng);
    this.opts.data.setState(s.data);
  }

  /** Restores weights, optimizer moments and trainer state from a loaded checkpoint. */
  restore(ckpt: LoadedCheckpoint): void {
    const module = this.opts.model.module;
    module.loadStateDict(ckpt.state);
    if (ckpt.optimizerState) restoreOptimizer(this.opts.optimizer, module, ckpt.optimizerState);
    if (ckpt.trainerState !== undefined) this.setState(ckpt.trainerState);
    this.truncateMetrics();
  }

  /**
   * On resume, metrics.jsonl keeps only whole records up to the checkpoint's step: a kill
   * after the last save leaves later steps (and maybe a torn line) that the resumed run
   * will write again.
   */
  private truncateMetrics(): void {
    const file = this.opts.metricsFile;
    if (!file || !fs.existsSync(file)) return;
    const kept: string[] = [];
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
      let rec: { step?: unknown };
      try {
        rec = JSON.parse(line);
      } catch {
        continue; // a torn or empty line
      }
      if (typeof rec?.step === "number" && rec.step <= this.stepCount) kept.push(line);
    }
    writeFileAtomic(file, new TextEncoder().encode(kept.length ? `${kept.join("\n")}\n` : ""));
  }

  /** loadCheckpoint(dir) + restore. */
  resumeFrom(dir: string): LoadedCheckpoint {
    const ckpt = loadCheckpoint(dir);
    this.restore(ckpt);
    return ckpt;
  }

  /**
   * Trains until maxSteps, maxTimeMs or requestStop(); evaluates every
   * evalEvery steps and at the end of the horizon (not on requestStop), saves
   * every checkpointEvery steps and once more at the end
   * (if a checkpoint manager was given and the last step is not saved yet).
   * Yields to the event loop between steps, so signal handlers can run.
   */
  async run(): Promise<RunResult> {
    const o = this.opts;
    const module = o.model.module;
    const wallStart = now();
    if (this.lastSavedStep < 0) this.lastSavedStep = this.stepCount;
    const avg = o.averageLast;
    if (avg && !(Number.isInteger(avg.count) && avg.count >= 1 && avg.every > 0 && avg.every < 1)) {
      throw new AttnError(
        `trainer: averageLast needs a count >= 1 and 0 < every < 1, got ${JSON.stringify(avg)}`,
      );
    }
    let reason: RunResult["reason"];
    module.train();
    try {
      for (;;) {
        if (this.stopRequested) {
          reason = "stopped";
          break;
        }
        if (o.maxSteps !== undefined && this.stepCount >= o.maxSteps) {
          reason = "maxSteps";
          break;
        }
        if (o.maxTimeMs !== undefined && this.trainMs >= o.maxTimeMs) {
          reason = "time";
          break;
        }
        const info = this.trainStep();
        await o.onStep?.(info);
        // Averaging snapshots at 1 - (count-1)·every, ..., 1 - every of the horizon; the
        // last one is the final save (below).
        if (avg && o.checkpoints) {
          const at = 1 - (avg.count - 1 - this.nextSnapshot) * avg.every;
          if (this.nextSnapshot < avg.count - 1 && info.progress >= at) {
            this.nextSnapshot++;
            await this.saveCheckpoint(false, true);
          }
        }
        if (o.evaluate && o.evalEvery && this.stepCount % o.evalEvery === 0) {
          await this.evaluateNow();
        }
        if (
          o.checkpoints &&
          o.checkpointEvery &&
          this.stepCount % o.checkpointEvery === 0 &&
          this.lastSavedStep !== this.stepCount
        ) {
          await this.saveCheckpoint();
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      // The final weights are evaluated too, so out/best is never older than a better last
      // step (with a decaying schedule the last step is usually the best).
      if (
        o.evaluate &&
        o.evalEvery &&
        reason !== "stopped" &&
        this.lastEvalStep !== this.stepCount &&
        this.stepCount > 0
      ) {
        await this.evaluateNow();
      }
      if (o.checkpoints) {
        // The end of the horizon is the last averaging snapshot.
        const final = avg !== undefined && reason !== "stopped";
        if (this.lastSavedStep !== this.stepCount || final)
          await this.saveCheckpoint(false, final ? true : undefined);
      }
    } finally {
      this.stopRequested = false;
    }
    return {
      reason,
      step: this.stepCount,
      elapsedMs: this.trainMs,
      wallMs: now() - wallStart,
      best: this.bestValue,
    };
  }
}
