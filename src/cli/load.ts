/** Finding and loading a trained run for eval, translate, generate and explore. */
import { existsSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  AttnError,
  buildModel,
  type Model,
  type ModelConfig,
  parameterCount,
  type Tokenizer,
  tokenizerFromJSON,
} from "../index.js";
import {
  checkVocab,
  isCheckpoint,
  loadCheckpoint,
  type LoadedCheckpoint,
  MODEL_FILE,
  type RunConfig,
  validateRunConfig,
} from "../train/index.js";

/**
 * A checkpoint directory itself, or a run directory (`--out` of train): its average (the final
 * model of a run with --average-last), else its best, else its last.
 */
export function resolveCheckpoint(dir: string): string {
  // A checkpoint that an interrupted save moved aside (D/.last.old-*) loads as D/last.
  if (!existsSync(dir) && isCheckpoint(dir)) return dir;
  if (!existsSync(dir)) throw new AttnError(`checkpoint not found: ${dir}`);
  if (!statSync(dir).isDirectory()) throw new AttnError(`checkpoint ${dir} is not a directory`);
  if (isCheckpoint(dir)) return dir;
  for (const sub of ["average", "best", "last"]) {
    const d = path.join(dir, sub);
    if (isCheckpoint(d)) return d;
  }
  throw new AttnError(
    `${dir} holds no checkpoint (expected model.safetensors and config.json, or a run's average/, best/ or last/)`,
  );
}

/**
 * Refuses a model whose float32 weights alone would take more than half of this machine's
 * memory (training needs about four times the weights: gradients and Adam's two moments).
 */
export function checkMemory(model: ModelConfig, where: string): void {
  const bytes = parameterCount(model) * 4;
  if (bytes > os.totalmem() / 2) {
    const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
    throw new AttnError(
      `${where}: the model has ${parameterCount(model).toLocaleString("en-US")} parameters (${gib(bytes)} of float32 weights), more than half of this machine's ${gib(os.totalmem())}`,
    );
  }
}

export interface LoadedRun {
  dir: string;
  config: RunConfig;
  model: Model;
  tokenizer: Tokenizer;
  checkpoint: LoadedCheckpoint;
}

export function loadRun(dirArg: string, opts: { optimizer?: boolean } = {}): LoadedRun {
  const dir = resolveCheckpoint(dirArg);
  const checkpoint = loadCheckpoint(dir, { optimizer: opts.optimizer ?? false });
  const config = validateRunConfig(checkpoint.config, `checkpoint ${dir}`);
  if (checkpoint.tokenizer === undefined)
    throw new AttnError(`checkpoint ${dir}: tokenizer.json is missing`);
  let tokenizer: Tokenizer;
  try {
    tokenizer = tokenizerFromJSON(checkpoint.tokenizer);
  } catch (e) {
    if (e instanceof AttnError) throw new AttnError(`checkpoint ${dir}: ${e.message}`);
    throw e;
  }
  checkVocab(config.model, tokenizer, `checkpoint ${dir}`);
  checkMemory(config.model, `checkpoint ${dir}: config.json`);
  // Before building: the file must hold as many values as the config's model has parameters
  // (an edited config would otherwise allocate a model the weights never fit).
  let stored = 0;
  for (const t of checkpoint.state.values()) stored += t.values.length;
  const expected = parameterCount(config.model);
  if (stored !== expected)
    throw new AttnError(
      `checkpoint ${dir}: ${MODEL_FILE} holds ${stored.toLocaleString("en-US")} values, config.json's model has ${expected.toLocaleString("en-US")} parameters (was it made by another model?)`,
    );
  const model = buildModel(config.model);
  try {
    model.loadStateDict(checkpoint.state);
  } catch (e) {
    if (e instanceof AttnError && /non-finite/.test(e.message))
      throw new AttnError(
        `checkpoint ${dir}: ${MODEL_FILE}: ${e.message.replace(/^loadStateDict: /, "")}`,
      );
    if (e instanceof AttnError)
      throw new AttnError(`checkpoint ${dir}: ${e.message} (was it made by another model?)`);
    throw e;
  }
  model.eval();
  return { dir, config, model, tokenizer, checkpoint };
}
