/**
 * Checkpoints: a checkpoint is a directory holding
 *
 *   config.json            any JSON (model config + training config)
 *   model.safetensors      the module's state dict, float32, PyTorch-style names, metadata {"format": "pt"}
 *   optimizer.safetensors  optional: Adam's moments as "m.<param name>" / "v.<param name>" (float32),
 *                          metadata {"type": "adam", "step", "lr", "beta1", "beta2", "eps"}
 *   tokenizer.json         optional, any JSON (a tokenizer's toJSON())
 *   trainer.json           optional, any JSON (the Trainer's state: step, RNG, data position, ...)
 *
 * ATOMICITY. A save writes a new directory and swaps it in by renames
 * (src/io/atomic-dir.ts), so after a crash at any moment (SIGKILL included)
 * the target is the previous checkpoint or the new one; a load reads the
 * target or, when a save was interrupted between its renames, the previous
 * checkpoint it moved aside. A load that sees the directory swapped while
 * reading starts over. One writer per checkpoint directory at a time.
 *
 * Over 400 lines as one concern: the checkpoint format, its validation on load, and the run-directory manager that names versions.
 */
import fs from "node:fs";
import path from "node:path";
import { AttnError } from "../errors.js";
import {
  directoryIdentity,
  listDir,
  locateDirectory,
  removeDirectoryAtomic,
  statOrNull,
  writeDirectoryAtomic,
} from "../io/atomic-dir.js";
import { errorReason } from "../io/atomic.js";
import {
  parseSafetensors,
  type SafetensorsFile,
  serializeSafetensors,
  type TensorToWrite,
  weightValues,
} from "../io/safetensors.js";
import { Module } from "../nn/module.js";
import type { Tensor } from "../tensor/index.js";
import { Adam, type Optimizer, SGD } from "./optim.js";

export const CONFIG_FILE = "config.json";
export const MODEL_FILE = "model.safetensors";
export const OPTIMIZER_FILE = "optimizer.safetensors";
export const TOKENIZER_FILE = "tokenizer.json";
export const TRAINER_FILE = "trainer.json";

/** Values of one named tensor, as Module.loadStateDict takes them. */
export interface StateValues {
  shape: readonly number[];
  values: ArrayLike<number>;
}

/** A model's weights: a Module, or a map from names to tensors / values (e.g. averageCheckpoints' result). */
export type ModelWeights = Module | ReadonlyMap<string, Tensor | StateValues>;

export interface CheckpointData {
  /** Written to config.json: any JSON value. */
  config: unknown;
  model: ModelWeights;
  /** Adam: step and moments are saved; SGD: only its type and lr. */
  optimizer?: Optimizer;
  /** Written to tokenizer.json: any JSON value (e.g. tokenizer.toJSON()). */
  tokenizer?: unknown;
  /** Written to trainer.json: any JSON value. */
  trainerState?: unknown;
}

/** optimizer.safetensors as loaded; restore it with restoreOptimizer. */
export interface OptimizerCheckpoint {
  /** "adam", "sgd", or another optimizer's class name in lower case. */
  type: string;
  step: number;
  metadata: Record<string, string>;
  /** First moments by parameter name (empty for SGD). */
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export interface LoadedCheckpoint {
  /** The directory actually read: the one asked for, or its recovered `.old-*` sibling. */
  dir: string;
  config: unknown;
  /** The model's weights by name, ready for Module.loadStateDict. */
  state: Map<string, { shape: number[]; values: Float32Array }>;
  optimizerState?: OptimizerCheckpoint;
  tokenizer?: unknown;
  trainerState?: unknown;
}

export interface LoadOptions {
  /** Read optimizer.safetensors (default true). */
  optimizer?: boolean;
}

/** For tests only: called at each stage of a save (to simulate crashes there). */
export const checkpointTestHooks: {
  onStage?: (stage: "files-written" | "moved-aside" | "swapped" | "done") => void;
} = {};

// ---------------------------------------------------------------------------
// Encoding

function toF32(values: ArrayLike<number>): Float32Array {
  return values instanceof Float32Array ? values : Float32Array.from(values);
}

function isTensor(x: unknown): x is Tensor {
  return (x as { isTensor?: boolean }).isTensor === true;
}

/** (name, tensor-or-values) pairs of the model, in order. */
function weightEntries(model: ModelWeights): [string, Tensor | StateValues][] {
  return model instanceof Module ? model.namedParameters() : [...model.entries()];
}

function modelTensors(model: ModelWeights): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>();
  for (const [name, w] of weightEntries(model)) {
    const values = isTensor(w) ? toF32(w.readSync()) : toF32(w.values);
    out.set(name, { dtype: "F32", shape: [...w.shape], data: values });
  }
  return out;
}

/** Names for the optimizer's parameters: the model's names where the tensors are the model's, else "param.<i>". */
function optimizerParamNames(opt: Optimizer, model: ModelWeights): string[] {
  const byTensor = new Map<Tensor, string>();
  for (const [name, w] of weightEntries(model)) if (isTensor(w)) byTensor.set(w, name);
  return opt.params.map((p, i) => byTensor.get(p) ?? `param.${i}`);
}

function optimizerFile(opt: Optimizer, model: ModelWeights): Uint8Array {
  const tensors = new Map<string, TensorToWrite>();
  const meta: Record<string, string> = { format: "attention-lab-optimizer", lr: String(opt.lr) };
  if (opt instanceof Adam) {
    const names = optimizerParamNames(opt, model);
    const s = opt.exportState();
    names.forEach((name, i) => {
      const shape = [...opt.params[i].shape];
      tensors.set(`m.${name}`, { dtype: "F32", shape, data: s.m[i] });
      tensors.set(`v.${name}`, { dtype: "F32", shape, data: s.v[i] });
    });
    Object.assign(meta, {
      type: "adam",
      step: String(s.step),
      beta1: String(opt.beta1),
      beta2: String(opt.beta2),
      eps: String(opt.eps),
    });
  } else {
    meta.type = opt instanceof SGD ? "sgd" : opt.constructor.name.toLowerCase();
    meta.step = "0";
  }
  return serializeSafetensors(tensors, meta);
}

function jsonFile(what: string, value: unknown): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, 2);
  } catch (e) {
    throw new AttnError(`${what}: cannot be written as JSON: ${errorReason(e)}`);
  }
  if (text === undefined) throw new AttnError(`${what}: cannot be written as JSON`);
  return new TextEncoder().encode(`${text}\n`);
}

/** The files of a checkpoint, serialized (name -> bytes). */
export function encodeCheckpoint(data: CheckpointData): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  files.set(CONFIG_FILE, jsonFile(CONFIG_FILE, data.config));
  files.set(MODEL_FILE, serializeSafetensors(modelTensors(data.model), { format: "pt" }));
  if (data.optimizer) files.set(OPTIMIZER_FILE, optimizerFile(data.optimizer, data.model));
  if (data.tokenizer !== undefined)
    files.set(TOKENIZER_FILE, jsonFile(TOKENIZER_FILE, data.tokenizer));
  if (data.trainerState !== undefined)
    files.set(TRAINER_FILE, jsonFile(TRAINER_FILE, data.trainerState));
  return files;
}

// ---------------------------------------------------------------------------
// Atomic directory writes (src/io/atomic-dir.ts)

function looksLikeCheckpoint(dir: string): boolean {
  return (
    statOrNull(path.join(dir, CONFIG_FILE))?.isFile() === true &&
    statOrNull(path.join(dir, MODEL_FILE))?.isFile() === true
  );
}

/** Writes `files` as the checkpoint directory `dir`, atomically (see the module comment). */
export function writeCheckpointFiles(dir: string, files: ReadonlyMap<string, Uint8Array>): void {
  writeDirectoryAtomic(dir, files, {
    replaceable: looksLikeCheckpoint,
    refusal: `it exists and is not a checkpoint (no ${CONFIG_FILE} and ${MODEL_FILE}); refusing to replace it`,
    onStage: (stage) => checkpointTestHooks.onStage?.(stage),
    what: "checkpoint",
  });
}

/** Saves a checkpoint directory atomically: afterwards `dir` is the new checkpoint; after a crash, the old or the new one. */
export function saveCheckpoint(dir: string, data: CheckpointData): void {
  let files: Map<string, Uint8Array>;
  try {
    files = encodeCheckpoint(data);
  } catch (e) {
    if (e instanceof AttnError) throw new AttnError(`checkpoint ${dir}: ${e.message}`);
    throw e;
  }
  writeCheckpointFiles(dir, files);
}

/** Deletes a checkpoint directory so that a crash midway leaves nothing loadable-but-partial behind. */
export function removeCheckpoint(dir: string): void {
  removeDirectoryAtomic(dir);
}

// ---------------------------------------------------------------------------
// Loading

/** Whether `dir` (or the checkpoint an interrupted save moved aside) has config.json and model.safetensors. */
export function isCheckpoint(dir: string): boolean {
  const where = locateDirectory(path.resolve(dir));
  return where !== null && looksLikeCheckpoint(where);
}

function readBytes(where: string, file: string, dir: string, required: true): Uint8Array;
function readBytes(
  where: string,
  file: string,
  dir: string,
  required: false,
): Uint8Array | undefined;
function readBytes(
  where: string,
  file: string,
  dir: string,
  required: boolean,
): Uint8Array | undefined {
  try {
    return fs.readFileSync(path.join(where, file));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      if (!required) return undefined;
      throw new AttnError(`checkpoint ${dir}: ${file} is missing`);
    }
    throw new AttnError(`checkpoint ${dir}: cannot read ${file}: ${errorReason(e)}`);
  }
}

function parseJSON(bytes: Uint8Array, file: string, dir: string): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new AttnError(`checkpoint ${dir}: ${file} is not valid JSON (${errorReason(e)})`);
  }
}

function parseTensors(bytes: Uint8Array, file: string, dir: string): SafetensorsFile {
  return parseSafetensors(bytes, { source: `checkpoint ${dir}: ${file}` });
}

function parseOptimizer(bytes: Uint8Array, dir: string): OptimizerCheckpoint {
  const f = parseTensors(bytes, OPTIMIZER_FILE, dir);
  const type = f.metadata.type ?? "";
  const step = Number(f.metadata.step ?? "0");
  if (!type || !Number.isSafeInteger(step) || step < 0) {
    throw new AttnError(
      `checkpoint ${dir}: ${OPTIMIZER_FILE} has no valid "type" and "step" in its metadata`,
    );
  }
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const [name, t] of f.tensors) {
    const which = name.startsWith("m.") ? m : name.startsWith("v.") ? v : null;
    if (!which) {
      throw new AttnError(
        `checkpoint ${dir}: ${OPTIMIZER_FILE} has tensor ${JSON.stringify(name)}, expected m.<name> or v.<name>`,
      );
    }
    which.set(name.slice(2), weightValues(t, name, `checkpoint ${dir}: ${OPTIMIZER_FILE}`));
  }
  return { type, step, metadata: f.metadata, m, v };
}

function readFrom(where: string, dir: string, opts: LoadOptions): LoadedCheckpoint {
  const st = statOrNull(where);
  if (!st) throw new AttnError(`checkpoint ${dir}: not found`);
  if (!st.isDirectory()) throw new AttnError(`checkpoint ${dir}: not a directory`);
  const config = parseJSON(readBytes(where, CONFIG_FILE, dir, true), CONFIG_FILE, dir);
  const model = parseTensors(readBytes(where, MODEL_FILE, dir, true), MODEL_FILE, dir);
  const state = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [name, t] of model.tensors) {
    state.set(name, {
      shape: t.shape.slice(),
      values: weightValues(t, name, `checkpoint ${dir}: ${MODEL_FILE}`),
    });
  }
  const out: LoadedCheckpoint = { dir: where, config, state };
  if (opts.optimizer !== false) {
    const ob = readBytes(where, OPTIMIZER_FILE, dir, false);
    if (ob) out.optimizerState = parseOptimizer(ob, dir);
  }
  const tb = readBytes(where, TOKENIZER_FILE, dir, false);
  if (tb) out.tokenizer = parseJSON(tb, TOKENIZER_FILE, dir);
  const rb = readBytes(where, TRAINER_FILE, dir, false);
  if (rb) out.trainerState = parseJSON(rb, TRAINER_FILE, dir);
  return out;
}

/**
 * Loads a checkpoint directory (or, if `dir` is missing, the checkpoint an
 * interrupted save moved aside: see the recovery rule above). Errors are
 * AttnErrors naming `dir` and the file.
 */
export function loadCheckpoint(dir: string, opts: LoadOptions = {}): LoadedCheckpoint {
  const target = path.resolve(dir);
  for (let attempt = 0; attempt < 5; attempt++) {
    const where = locateDirectory(target);
    if (!where) throw new AttnError(`checkpoint ${dir}: not found`);
    const id = directoryIdentity(where);
    let result: LoadedCheckpoint | null = null;
    let error: unknown = null;
    try {
      result = readFrom(where, dir, opts);
    } catch (e) {
      error = e;
    }
    // A save swapped the directory while we read it: the files may mix versions. Read again.
    if (directoryIdentity(where) !== id) continue;
    if (error) throw error;
    return result!;
  }
  throw new AttnError(`checkpoint ${dir}: it kept changing while being read`);
}

/** Restores an optimizer from a loaded checkpoint; `model` names its parameters as when saved. */
export function restoreOptimizer(
  opt: Optimizer,
  model: ModelWeights,
  saved: OptimizerCheckpoint,
): void {
  if (opt instanceof Adam) {
    if (saved.type !== "adam") {
      throw new AttnError(
        `optimizer state: the checkpoint holds a "${saved.type}" optimizer, not "adam"`,
      );
    }
    const names = optimizerParamNames(opt, model);
    const get = (map: Map<string, Float32Array>, which: string, name: string, size: number) => {
      const a = map.get(name);
      if (!a) throw new AttnError(`optimizer state: no ${which}.${name} in the checkpoint`);
      if (a.length !== size) {
        throw new AttnError(
          `optimizer state: ${which}.${name} has ${a.length} values, the parameter has ${size}`,
        );
      }
      return a;
    };
    opt.importState({
      step: saved.step,
      m: names.map((n, i) => get(saved.m, "m", n, opt.params[i].size)),
      v: names.map((n, i) => get(saved.v, "v", n, opt.params[i].size)),
    });
  }
  // SGD and other stateless optimizers: nothing to restore (the lr comes from the schedule/config).
}

// ---------------------------------------------------------------------------
// Averaging and a run directory's checkpoints

/**
 * The elementwise mean of the model weights of several checkpoints (the paper
 * averages the last 5), computed in float64. All must have the same names and shapes.
 */
export function averageCheckpoints(
  dirs: readonly string[],
): Map<string, { shape: number[]; values: Float32Array }> {
  if (dirs.length === 0) throw new AttnError("averageCheckpoints: no checkpoints given");
  let sums: Map<string, { shape: number[]; sum: Float64Array }> | null = null;
  for (const dir of dirs) {
    const { state } = loadCheckpoint(dir, { optimizer: false });
    if (!sums) {
      sums = new Map();
      for (const [name, t] of state) {
        sums.set(name, { shape: t.shape, sum: Float64Array.from(t.values) });
      }
      continue;
    }
    if (state.size !== sums.size || [...sums.keys()].some((k) => !state.has(k))) {
      throw new AttnError(
        `averageCheckpoints: checkpoint ${dir} has different tensors than ${dirs[0]}`,
      );
    }
    for (const [name, acc] of sums) {
      const t = state.get(name)!;
      if (t.shape.length !== acc.shape.length || t.shape.some((d, i) => d !== acc.shape[i])) {
        throw new AttnError(
          `averageCheckpoints: ${name} has shape [${t.shape}] in ${dir}, [${acc.shape}] in ${dirs[0]}`,
        );
      }
      for (let i = 0; i < acc.sum.length; i++) acc.sum[i] += t.values[i];
    }
  }
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [name, acc] of sums!) {
    const values = new Float32Array(acc.sum.length);
    for (let i = 0; i < values.length; i++) values[i] = acc.sum[i] / dirs.length;
    out.set(name, { shape: acc.shape, values });
  }
  return out;
}

export interface CheckpointManagerOptions {
  /** Also keep `step-<n>` checkpoints of the last `keepSteps` saves (default 0: none). */
  keepSteps?: number;
}

/**
 * A run directory's checkpoints: `out/last` (every save), `out/best` (saves
 * marked best) and, with keepSteps > 0, `out/step-<n>` for the last keepSteps saves.
 * Each is written atomically; `last` is written after the others, so it is the commit point.
 */
export class CheckpointManager {
  readonly lastDir: string;
  readonly bestDir: string;
  readonly keepSteps: number;

  constructor(
    readonly outDir: string,
    opts: CheckpointManagerOptions = {},
  ) {
    this.lastDir = path.join(outDir, "last");
    this.bestDir = path.join(outDir, "best");
    this.keepSteps = opts.keepSteps ?? 0;
    if (!Number.isSafeInteger(this.keepSteps) || this.keepSteps < 0) {
      throw new AttnError(
        `checkpoints: keepSteps must be a non-negative integer, got ${this.keepSteps}`,
      );
    }
  }

  stepDir(step: number): string {
    return path.join(this.outDir, `step-${step}`);
  }

  /** The `step-<n>` checkpoints present, oldest first. */
  stepDirs(): { step: number; dir: string }[] {
    const out: { step: number; dir: string }[] = [];
    for (const name of listDir(this.outDir)) {
      const m = /^step-(\d+)$/.exec(name);
      if (m && isCheckpoint(path.join(this.outDir, name))) {
        out.push({ step: Number(m[1]), dir: path.join(this.outDir, name) });
      }
    }
    return out.sort((a, b) => a.step - b.step);
  }

  /**
   * Saves `data` (serialized once) to step-<step> (when keepSteps > 0, unless keepStep is false),
   * best (if isBest), then last. Returns the dirs written.
   */
  save(
    data: CheckpointData,
    info: { step: number; isBest?: boolean; keepStep?: boolean },
  ): string[] {
    let files: Map<string, Uint8Array>;
    try {
      files = encodeCheckpoint(data);
    } catch (e) {
      if (e instanceof AttnError) throw new AttnError(`checkpoint ${this.lastDir}: ${e.message}`);
      throw e;
    }
    // Deletions that a crash interrupted (see removeCheckpoint).
    for (const name of listDir(this.outDir)) {
      if (/^\..+\.del-\d+-[0-9a-f]{8}$/.test(name)) {
        fs.rmSync(path.join(this.outDir, name), { recursive: true, force: true });
      }
    }
    const written: string[] = [];
    if (this.keepSteps > 0 && info.keepStep !== false) {
      const dir = this.stepDir(info.step);
      writeCheckpointFiles(dir, files);
      written.push(dir);
      const steps = this.stepDirs();
      for (const s of steps.slice(0, Math.max(0, steps.length - this.keepSteps))) {
        removeCheckpoint(s.dir);
      }
    }
    if (info.isBest) {
      writeCheckpointFiles(this.bestDir, files);
      written.push(this.bestDir);
    }
    writeCheckpointFiles(this.lastDir, files);
    written.push(this.lastDir);
    return written;
  }

  /** The mean weights of the last n kept step checkpoints (fewer if fewer exist). */
  averageLast(n: number): Map<string, { shape: number[]; values: Float32Array }> {
    const dirs = this.stepDirs()
      .slice(-n)
      .map((s) => s.dir);
    if (dirs.length === 0) {
      throw new AttnError(`checkpoints ${this.outDir}: no step-<n> checkpoints to average`);
    }
    return averageCheckpoints(dirs);
  }
}
