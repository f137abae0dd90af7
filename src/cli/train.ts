/**
 * `attn train`: train on a shipped task, a parallel TSV or plain text; save checkpoints; report held-out quality.
 * Over 400 lines as one concern: every flag becomes a validated field of the run config here.
 */
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import {
  AttnError,
  buildModel,
  getBackend,
  GPT,
  manualSeed,
  type ModelConfig,
  presetConfig,
  presetNames,
  type Tokenizer,
  tokenizerFromJSON,
  type Transformer,
  translateAll,
} from "../index.js";
import { TASK_NAMES } from "../data/index.js";
import { makeDirectories } from "../io/index.js";
import {
  Adam,
  averageCheckpoints,
  buildTokenizer,
  CheckpointManager,
  checkVocab,
  constantSchedule,
  cosineSchedule,
  type DataSpec,
  decayMask,
  evaluateRun,
  heldOutPairs,
  isCheckpoint,
  linearSchedule,
  lmTrainable,
  loadCheckpoint,
  loadData,
  paperSchedule,
  type RunConfig,
  saveCheckpoint,
  seq2seqTrainable,
  type TokenizerKind,
  Trainer,
  trainingSource,
  type TrainSpec,
  validateRunConfig,
} from "../train/index.js";
import { Profiler } from "./bench-profile.js";
import { checkMemory } from "./load.js";
import { MachineLoad } from "./machine-load.js";
import { choiceFlag, floatFlag, intFlag } from "./options.js";
import { TrainProgress, parseDuration } from "./progress.js";
import { TASK_RECIPES, corpusRecipe, textRecipe } from "./recipes.js";

interface TrainFlags {
  task?: string;
  data?: string;
  columns?: string;
  src?: string;
  tgt?: string;
  dev?: string;
  onBadLine: "skip" | "error";
  out: string;
  model?: string;
  dModel?: number;
  heads?: number;
  dFf?: number;
  layers?: number;
  dropout?: number;
  positional?: ModelConfig["positional"];
  norm?: "post" | "pre";
  init?: ModelConfig["init"];
  tokenizer?: TokenizerKind;
  vocab?: number;
  steps?: number;
  time?: string;
  batchSize?: number;
  maxTokens?: number;
  lr?: number;
  warmup?: number;
  schedule?: TrainSpec["schedule"];
  labelSmoothing?: number;
  clip?: number;
  averageLast?: number;
  averageEvery?: number;
  seed: number;
  evalEvery?: number;
  evalSize?: number;
  resume?: boolean;
  json?: boolean;
  quiet?: boolean;
  profile?: number | boolean;
}

export function registerTrain(program: Command): void {
  program
    .command("train")
    .description(
      "train a model on a shipped task (--task) or your data (--data), saving checkpoints to --out",
    )
    .option("--task <name>", `a shipped task: ${TASK_NAMES.join(", ")}`)
    .option(
      "--data <file>",
      "a parallel corpus (.tsv: translation) or plain text (anything else: a GPT language model)",
    )
    .option(
      "--columns <names>",
      "names of a headerless TSV's columns, comma-separated (e.g. ref,es,en)",
    )
    .option("--src <column>", "source column of the TSV (name or 0-based index)", "0")
    .option("--tgt <column>", "target column of the TSV (name or 0-based index)", "1")
    .option("--dev <file>", "held-out TSV for BLEU (default: every 50th training pair is held out)")
    .option(
      "--on-bad-line <what>",
      "TSV lines with the wrong column count: skip or error",
      choiceFlag("on-bad-line", ["skip", "error"] as const),
      "error",
    )
    .requiredOption("--out <dir>", "run directory: checkpoints go to DIR/last and DIR/best")
    .option("--model <preset>", `model preset (${presetNames().join(", ")})`)
    .option("--d-model <n>", "model width", intFlag("d-model", 1, 1 << 16))
    .option("--heads <n>", "attention heads", intFlag("heads", 1, 1 << 12))
    .option("--d-ff <n>", "feed-forward width", intFlag("d-ff", 1, 1 << 18))
    .option("--layers <n>", "layers per stack", intFlag("layers", 1, 48))
    .option("--dropout <p>", "dropout", floatFlag("dropout", 0, 0.99))
    .option(
      "--positional <kind>",
      "sinusoidal, learned, rope, alibi or none",
      choiceFlag("positional", ["sinusoidal", "learned", "rope", "alibi", "none"] as const),
    )
    .option(
      "--norm <placement>",
      "post (the paper) or pre",
      choiceFlag("norm", ["post", "pre"] as const),
    )
    .option(
      "--init <kind>",
      "initial weights: paper, xavier-fused or gpt2",
      choiceFlag("init", ["paper", "xavier-fused", "gpt2"] as const),
    )
    .option(
      "--tokenizer <kind>",
      "char, byte, bpe or word (for --data; word is lossy: outputs are tokens joined by spaces)",
      choiceFlag("tokenizer", ["char", "byte", "bpe", "word"] as const),
    )
    .option("--vocab <n>", "BPE vocabulary size", intFlag("vocab", 260, 1 << 20))
    .option("--steps <n>", "optimizer steps", intFlag("steps"))
    .option(
      "--time <duration>",
      "training-time budget, e.g. 90s, 3m, 1h; evaluation pauses are not counted (with --steps too: whichever comes first; the schedule fits it)",
    )
    .option(
      "--batch-size <n>",
      "examples (tasks) or sequences (text) per step",
      intFlag("batch-size", 1, 1 << 16),
    )
    .option(
      "--max-tokens <n>",
      "padded tokens per batch (TSV corpora)",
      intFlag("max-tokens", 16, 1 << 22),
    )
    .option("--lr <x>", "peak learning rate", floatFlag("lr", 0, 10))
    .option("--warmup <n>", "warm-up steps", intFlag("warmup", 0))
    .option(
      "--schedule <kind>",
      "cosine or linear (decay to the end of --steps/--time), paper (warm-up, then 1/sqrt(step)) or constant",
      choiceFlag("schedule", ["cosine", "linear", "paper", "constant"] as const),
    )
    .option("--label-smoothing <eps>", "label smoothing", floatFlag("label-smoothing", 0, 0.99))
    .option("--clip <norm>", "gradient clipping by global norm (0 = off)", floatFlag("clip", 0))
    .option(
      "--average-last <n>",
      "average the weights of the last N checkpoints into DIR/average (the paper: 5; 0 = off)",
      intFlag("average-last", 0, 100),
    )
    .option(
      "--average-every <fraction>",
      "spacing of those checkpoints, as a fraction of the run (default 0.05)",
      floatFlag("average-every", 0.001, 0.5),
    )
    .option("--seed <n>", "seed for weights, data order and dropout", intFlag("seed", 0), 1)
    .option("--eval-every <n>", "held-out evaluation every N steps", intFlag("eval-every"))
    .option("--eval-size <n>", "held-out examples for the final evaluation", intFlag("eval-size"))
    .option("--resume", "continue the run in --out from its last checkpoint")
    .option("--json", "print a JSON summary on stdout at the end")
    .option("--quiet", "no progress output")
    .option(
      "--profile [steps]",
      "print where the time of N steps after the first goes: phases, kernels, GEMM GFLOP/s (stderr; default 20)",
      intFlag("profile"),
    )
    .action(async (flags: TrainFlags) => {
      await train(flags);
    });
}

function dataSpec(f: TrainFlags, evalSize: number | undefined): DataSpec {
  if (f.task && f.data) throw new AttnError("give either --task or --data, not both");
  if (f.task) {
    if (!TASK_NAMES.includes(f.task))
      throw new AttnError(`--task must be one of ${TASK_NAMES.join(", ")}, got "${f.task}"`);
    return {
      kind: "task",
      task: f.task,
      trainSeed: f.seed,
      evalSeed: 1_000_003 + f.seed,
      evalSize: evalSize ?? 1000,
    };
  }
  if (!f.data) throw new AttnError("nothing to train on: give --task NAME or --data FILE");
  if (!existsSync(f.data)) throw new AttnError(`data file not found: ${f.data}`);
  if (f.data.toLowerCase().endsWith(".tsv")) {
    const col = (v: string) => (/^\d+$/.test(v) ? Number(v) : v);
    return {
      kind: "tsv",
      path: path.resolve(f.data),
      columns: f.columns?.split(",").map((s) => s.trim()),
      src: col(f.src ?? "0"),
      tgt: col(f.tgt ?? "1"),
      dev: f.dev ? path.resolve(f.dev) : undefined,
      onBadLine: f.onBadLine,
      maxLen: 128,
      evalSize: evalSize ?? 500,
    };
  }
  return { kind: "text", path: path.resolve(f.data), holdout: 0.05, evalSize: evalSize ?? 50 };
}

function modelConfig(
  f: TrainFlags,
  recipeModel: { preset: string; overrides: Partial<ModelConfig> },
  vocabSize: number,
): ModelConfig {
  const preset = f.model ?? recipeModel.preset;
  const o: Record<string, unknown> = {
    ...(f.model ? {} : recipeModel.overrides),
    vocabSize,
    seed: f.seed,
  };
  if (f.dModel !== undefined) o.dModel = f.dModel;
  if (f.heads !== undefined) o.heads = f.heads;
  if (f.dFf !== undefined) o.dFF = f.dFf;
  if (f.dropout !== undefined) o.dropout = f.dropout;
  if (f.positional !== undefined) o.positional = f.positional;
  if (f.norm !== undefined) o.normPlacement = f.norm;
  if (f.init !== undefined) o.init = f.init;
  const cfg = presetConfig(preset, o as Partial<ModelConfig>);
  if (f.layers !== undefined) {
    if (cfg.kind === "gpt") cfg.layers = f.layers;
    else cfg.encoderLayers = cfg.decoderLayers = f.layers;
  }
  return cfg;
}

async function train(f: TrainFlags): Promise<void> {
  const timeMs = f.time !== undefined ? parseDuration(f.time) : undefined;
  if (timeMs !== undefined && !(timeMs > 0))
    throw new AttnError(`--time must be a duration like 90s, 3m or 1h, got "${f.time}"`);
  // Before any work: --out must be (or become) a directory.
  makeDirectories(f.out, "--out");
  const lastDir = path.join(f.out, "last");
  let cfg: RunConfig;
  let tokenizer: Tokenizer;
  const resuming = f.resume && isCheckpoint(lastDir);
  if (f.resume && !resuming)
    throw new AttnError(`--resume: no checkpoint in ${lastDir} to resume from`);
  if (
    !resuming &&
    existsSync(f.out) &&
    (isCheckpoint(lastDir) || isCheckpoint(path.join(f.out, "best")))
  ) {
    throw new AttnError(
      `${f.out} already holds a run; pass --resume to continue it, or choose another --out`,
    );
  }
  const progressOn = !f.quiet && !f.json;
  const say = (s: string) => {
    if (progressOn) process.stderr.write(`${s}\n`);
  };
  let data: ReturnType<typeof loadData>;
  const checkpoint = resuming ? loadCheckpoint(lastDir) : null;
  if (checkpoint) {
    cfg = validateRunConfig(checkpoint.config, `checkpoint ${lastDir}`);
    if (!checkpoint.tokenizer)
      throw new AttnError(`checkpoint ${lastDir}: tokenizer.json is missing`);
    tokenizer = tokenizerFromJSON(checkpoint.tokenizer);
    checkVocab(cfg.model, tokenizer, `checkpoint ${lastDir}`);
    // The horizon is stored: --resume alone continues the same schedule; new limits re-plan it.
    if (f.steps !== undefined || timeMs !== undefined) {
      const before = horizonText(cfg.train);
      if (f.steps !== undefined) cfg.train.steps = f.steps;
      if (timeMs !== undefined) cfg.train.timeMs = timeMs;
      const after = horizonText(cfg.train);
      if (after !== before) say(`re-planning the schedule: horizon ${before} -> ${after}`);
    }
    data = loadData(cfg.data, { needTrain: true });
  } else {
    const spec = dataSpec(f, f.evalSize);
    const recipe =
      spec.kind === "task"
        ? TASK_RECIPES[spec.task]
        : spec.kind === "tsv"
          ? corpusRecipe(f.steps === undefined ? timeMs : undefined)
          : textRecipe();
    data = loadData(spec, { needTrain: true });
    const tokKind = f.tokenizer ?? recipe.tokenizer;
    say(spec.kind === "task" ? `task: ${spec.task}` : `data: ${spec.path}`);
    tokenizer = buildTokenizer(spec, data, tokKind, f.vocab ?? recipe.vocab);
    const model = modelConfig(f, recipe.model, tokenizer.vocabSize);
    if (spec.kind === "text" && model.kind !== "gpt")
      throw new AttnError("plain-text data trains a GPT: use --model gpt-tiny or gpt-small");
    if (spec.kind !== "text" && model.kind === "gpt")
      throw new AttnError(
        "translation data trains an encoder-decoder: use an s2s-* or paper-* model",
      );
    const t = recipe.train;
    cfg = {
      format: "attention-lab-run",
      version: 1,
      model,
      data: spec,
      train: {
        batchSize: f.batchSize ?? t.batchSize,
        maxTokens: f.maxTokens ?? t.maxTokens,
        // A time budget alone is the horizon (steps 0 = no step limit).
        steps: f.steps ?? (timeMs !== undefined ? 0 : t.steps),
        ...(timeMs !== undefined ? { timeMs } : {}),
        lr: f.lr ?? t.lr,
        warmup: f.warmup ?? t.warmup,
        schedule: f.schedule ?? t.schedule,
        labelSmoothing: f.labelSmoothing ?? t.labelSmoothing,
        clipNorm: f.clip ?? t.clipNorm,
        weightDecay: t.weightDecay,
        averageLast: f.averageLast ?? t.averageLast ?? 0,
        averageEvery: f.averageEvery ?? t.averageEvery ?? 0.05,
        seed: f.seed,
        evalEvery: f.evalEvery ?? t.evalEvery,
      },
    };
  }
  for (const w of data.warnings) say(`warning: ${w}`);
  const t = cfg.train;
  manualSeed(t.seed);
  checkMemory(cfg.model, "model config");
  const model = buildModel(cfg.model);
  model.train();
  const named = model.namedParameters();
  const optimizer = new Adam(
    named.map(([, p]) => p),
    { lr: t.lr, beta1: 0.9, beta2: 0.98, eps: 1e-9, weightDecay: t.weightDecay },
    decayMask(named, { excludeBias: true, excludeNorm: true, excludeEmbedding: true }),
  );
  // A short run gets a proportionally short warm-up (unless --warmup says otherwise).
  const warmup =
    f.warmup !== undefined || !t.steps ? t.warmup : Math.min(t.warmup, Math.floor(t.steps / 5));
  const decay = {
    peakLr: t.lr,
    warmup,
    totalSteps: t.steps || undefined,
    minLr: t.lr * (t.minLrFraction ?? 0.05),
  };
  const schedule =
    t.schedule === "paper"
      ? paperSchedule({ dModel: cfg.model.dModel, warmup: Math.max(1, warmup) })
      : t.schedule === "cosine"
        ? cosineSchedule(decay)
        : t.schedule === "linear"
          ? linearSchedule(decay)
          : constantSchedule(t.lr, warmup);
  const source = trainingSource(cfg, data, tokenizer);
  const trainable =
    model instanceof GPT
      ? lmTrainable(model, t.labelSmoothing)
      : seq2seqTrainable(model as Transformer, t.labelSmoothing);
  makeDirectories(f.out, "--out");
  // A resumed run writes its own average at the end; an older one would no longer be the final model.
  if (resuming) rmSync(path.join(f.out, "average"), { recursive: true, force: true });
  const quickEval = Math.min(200, cfg.data.evalSize);
  const bestMetric =
    cfg.data.kind === "task" ? "exact_match" : cfg.data.kind === "tsv" ? "bleu" : "perplexity";
  const byTime = t.timeMs !== undefined && !t.steps;
  const progress = new TrainProgress(
    byTime ? Math.round(t.timeMs! / 1000) : t.steps,
    byTime ? "seconds" : "steps",
    progressOn,
  );
  const averaging = t.averageLast && t.averageLast > 1 ? t.averageLast : 0;
  const load = new MachineLoad();
  let lastLoss = Number.NaN;
  const profile = profileSteps(f.profile);
  const profiler = profile ? new Profiler() : null;
  const trainer = new Trainer({
    model: trainable as never,
    data: source as never,
    optimizer,
    schedule,
    clipNorm: t.clipNorm > 0 ? t.clipNorm : undefined,
    maxSteps: t.steps || undefined,
    maxTimeMs: t.timeMs,
    averageLast: averaging ? { count: averaging, every: t.averageEvery ?? 0.05 } : undefined,
    evalEvery: t.evalEvery,
    evaluate: () => evaluateRun(cfg, model, tokenizer, data, { limit: quickEval }),
    bestMetric: { name: bestMetric, mode: bestMetric === "perplexity" ? "min" : "max" },
    checkpoints: new CheckpointManager(f.out, { keepSteps: averaging }),
    checkpointEvery: t.evalEvery,
    config: cfg,
    tokenizer: tokenizer.toJSON(),
    metricsFile: path.join(f.out, "metrics.jsonl"),
    phase: profiler?.phase,
    onStep: (info) => {
      lastLoss = info.loss;
      progress.update(info.step, info);
      // The profile covers `profile` steps after the first (which allocates and warms caches).
      if (profiler && info.step === 1) profiler.start();
      if (profiler && info.step === 1 + profile) {
        profiler.stop();
        profiler.report(`attn train (steps 2-${info.step})`, profile);
      }
    },
    onEval: (info) => {
      const m = Object.entries(info.metrics)
        .filter(([k]) => k !== "n")
        .map(([k, v]) => `${k} ${v.toFixed(k === "exact_match" ? 3 : 2)}`)
        .join(", ");
      progress.log(`step ${info.step}: held-out ${m}${info.isBest ? " (best so far)" : ""}`);
    },
  });
  if (checkpoint) trainer.restore(checkpoint);
  say(
    `model: ${cfg.model.kind === "gpt" ? "GPT" : "encoder-decoder"}, ${model.numParameters().toLocaleString("en-US")} parameters, vocabulary ${tokenizer.vocabSize}, backend ${getBackend().name}`,
  );
  let stopping = false;
  const onSigint = () => {
    if (stopping) process.exit(130);
    stopping = true;
    progress.log(
      "stopping: finishing this step and saving a checkpoint (Ctrl-C again to quit at once)",
    );
    trainer.requestStop();
  };
  process.on("SIGINT", onSigint);
  const result = await trainer.run().finally(() => {
    progress.stop();
    process.off("SIGINT", onSigint);
  });
  const otherCores = load.otherCores();
  say(
    `trained ${result.step} steps in ${(result.elapsedMs / 1000).toFixed(1)} s of training (${(result.wallMs / 1000).toFixed(1)} s with evaluations; ${result.reason}; final lr ${trainer.lastLr.toExponential(2)}${otherCores === null ? "" : `; other processes used ${otherCores.toFixed(2)} cores`})`,
  );
  // The paper's checkpoint averaging: the final model is the mean of the last N.
  const averaged =
    averaging && result.reason !== "stopped"
      ? writeAverage(f.out, averaging, model, cfg, tokenizer)
      : null;
  if (averaged)
    say(
      `averaged ${averaged.count} checkpoints (${averaged.steps.join(", ")}) into ${averaged.dir}`,
    );
  // Final held-out evaluation with the final weights (averaged if so), on the full evaluation set.
  say("evaluating...");
  model.eval();
  const metrics = evaluateRun(cfg, model, tokenizer, data);
  const summary: Record<string, unknown> = {
    out: path.resolve(f.out),
    steps: result.step,
    seconds: Math.round(result.elapsedMs) / 1000,
    wall_seconds: Math.round(result.wallMs) / 1000,
    stopped: result.reason,
    final_loss: lastLoss,
    final_lr: trainer.lastLr,
    other_processes_cores: otherCores === null ? null : Math.round(otherCores * 100) / 100,
    parameters: model.numParameters(),
    ...(averaged ? { averaged: averaged.count } : {}),
    ...metrics,
  };
  if (f.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  if (cfg.data.kind !== "text") {
    const samples = heldOutPairs(cfg, data, 6);
    const hyps = translateAll(
      model as Transformer,
      tokenizer,
      samples.map((p) => p.src),
    );
    process.stdout.write("\nsample translations (held out):\n");
    samples.forEach((p, i) => {
      process.stdout.write(
        `  ${hyps[i] === p.tgt ? "✓" : "✗"} ${p.src}  →  ${hyps[i]}${hyps[i] === p.tgt ? "" : `   (expected ${p.tgt})`}\n`,
      );
    });
  }
  const shown = Object.entries(metrics)
    .map(
      ([k, v]) =>
        `${k} ${k === "exact_match" ? `${(v * 100).toFixed(1)}%` : Number.isInteger(v) ? v : v.toFixed(2)}`,
    )
    .join(", ");
  process.stdout.write(`\nheld-out: ${shown}\n`);
  process.stdout.write(
    averaged
      ? `checkpoint: ${averaged.dir} (the average; last: ${path.join(f.out, "last")})\n`
      : `checkpoint: ${path.join(f.out, "last")} (best: ${path.join(f.out, "best")})\n`,
  );
  if (cfg.data.kind === "text") {
    process.stdout.write(
      `next: npx attn generate --checkpoint ${f.out} --prompt "..." --temperature 0.8\n`,
    );
  } else {
    process.stdout.write(
      `next: npx attn translate --checkpoint ${f.out} "some input"   |   npx attn eval --checkpoint ${f.out} --json\n`,
    );
  }
}

function horizonText(t: TrainSpec): string {
  const parts: string[] = [];
  if (t.steps) parts.push(`${t.steps} steps`);
  if (t.timeMs !== undefined) parts.push(`${t.timeMs / 1000} s`);
  return parts.join(" or ") || "none";
}

/** Averages the kept step-<n> checkpoints into OUT/average and loads the result into `model`. */
function writeAverage(
  out: string,
  count: number,
  model: Transformer | GPT,
  cfg: RunConfig,
  tokenizer: Tokenizer,
): { dir: string; count: number; steps: number[] } | null {
  const manager = new CheckpointManager(out, { keepSteps: count });
  const kept = manager.stepDirs().slice(-count);
  if (kept.length < 2) return null;
  const state = averageCheckpoints(kept.map((k) => k.dir));
  model.loadStateDict(state);
  const dir = path.join(out, "average");
  saveCheckpoint(dir, { config: cfg, model, tokenizer: tokenizer.toJSON() });
  return { dir, count: kept.length, steps: kept.map((k) => k.step) };
}

/** --profile's step count: the flag alone means 20. */
function profileSteps(v: number | boolean | undefined): number {
  if (v === undefined || v === false) return 0;
  return v === true ? 20 : v;
}
