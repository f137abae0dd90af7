/**
 * Loading a checkpoint directory served as static files (what `attn explore
 * --checkpoint DIR` serves under /checkpoint/, and the shipped checkpoints
 * under /checkpoints/<name>/): config.json, model.safetensors and
 * tokenizer.json. Uses only fetch and the pure safetensors parser.
 *
 * config.json may be the model config itself (it has "kind") or an object
 * with the model config under "model" (the run config `attn train` writes).
 * An encoder-decoder's task ("task", or "data": {"task": …}: copy, reverse,
 * sort, dates) names the task whose examples the page offers (default
 * dates); a GPT ("kind": "gpt") needs none.
 */
import {
  AttnError,
  GPT,
  parseSafetensors,
  toFloat32,
  tokenizerFromJSON,
  Transformer,
  validateConfig,
  type EncoderDecoderConfig,
  type GPTConfig,
  type ModelConfig,
} from "../../../src/browser.js";
import type { TaskName } from "../protocol.js";
import { type LoadedModel, TASKS, taskFor } from "./models.js";

async function get(url: string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new AttnError(`cannot load ${url}: HTTP ${res.status}`);
  return res;
}

/** The model config and (encoder-decoder only) task named by a parsed config.json. */
export function readCheckpointConfig(json: unknown): {
  config: ModelConfig;
  task: TaskName | null;
} {
  if (json === null || typeof json !== "object") throw new AttnError("config.json: not an object");
  const obj = json as Record<string, unknown>;
  const cfg = ("kind" in obj ? obj : obj.model) as ModelConfig | undefined;
  if (!cfg || typeof cfg !== "object")
    throw new AttnError('config.json: no model config (expected "kind" or "model")');
  const config = validateConfig(cfg);
  if (config.kind === "gpt") return { config, task: null };
  const rawTask = obj.task ?? (obj.data as Record<string, unknown> | undefined)?.task;
  const task = TASKS.includes(rawTask as TaskName) ? (rawTask as TaskName) : "dates";
  return { config, task };
}

export async function loadCheckpoint(base: string, name?: string): Promise<LoadedModel> {
  const dir = base.endsWith("/") ? base : `${base}/`;
  const [cfgRes, modelRes, tokRes] = await Promise.all(
    ["config.json", "model.safetensors", "tokenizer.json"].map((f) => get(dir + f)),
  );
  const { config, task } = readCheckpointConfig(await cfgRes.json());
  const tokenizer = tokenizerFromJSON(await tokRes.json());
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new AttnError(
      `checkpoint: tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${config.vocabSize}`,
    );
  }
  const file = parseSafetensors(new Uint8Array(await modelRes.arrayBuffer()), {
    source: "model.safetensors",
  });
  const state = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [n, raw] of file.tensors)
    state.set(n, { shape: raw.shape, values: toFloat32(raw, n) });
  const label = name ?? dir;
  if (config.kind === "gpt") {
    const model = new GPT(config as GPTConfig);
    model.loadStateDict(state);
    model.eval();
    return {
      kind: "gpt",
      model,
      tokenizer,
      task: null,
      config: config as GPTConfig,
      origin: `checkpoint “${label}”, GPT language model`,
    };
  }
  const model = new Transformer(config as EncoderDecoderConfig);
  model.loadStateDict(state);
  model.eval();
  return {
    kind: "encdec",
    model,
    tokenizer,
    task: taskFor(task ?? "dates"),
    config: config as EncoderDecoderConfig,
    origin: `checkpoint “${label}”, ${task} task`,
  };
}
