import type { ExperimentResult, ModelConfig } from "../../src/browser.js";
/**
 * The typed messages between the page and the model worker. The page never
 * touches a tensor: it sends requests, and the worker answers with plain data
 * (typed arrays are transferred, not copied).
 */

export type TaskName = "dates" | "reverse" | "sort" | "copy";
export type SizeName = "xs" | "s" | "m";
export type PositionalChoice = "sinusoidal" | "learned" | "rope";

export const TASKS: readonly TaskName[] = ["dates", "reverse", "sort", "copy"];
export const POSITIONALS: readonly PositionalChoice[] = ["sinusoidal", "learned", "rope"];

/** Model sizes the page offers; "m" is exactly the s2s-tiny preset (d_ff 256). */
export const SIZES: Record<
  SizeName,
  { dModel: number; heads: number; dFF: number; layers: number }
> = {
  xs: { dModel: 32, heads: 2, dFF: 64, layers: 1 },
  s: { dModel: 64, heads: 4, dFF: 128, layers: 2 },
  m: { dModel: 64, heads: 4, dFF: 256, layers: 2 },
};

/** A freshly initialised model: all of it follows from these four settings. */
export interface FreshSpec {
  task: TaskName;
  size: SizeName;
  seed: number;
  positional: PositionalChoice;
}

export type ModelSource =
  | { kind: "fresh"; spec: FreshSpec }
  /** A checkpoint directory served as static files: `${url}config.json`, model.safetensors, tokenizer.json. */
  | { kind: "checkpoint"; url: string; name?: string };

/** encdec: the paper's encoder-decoder; gpt: a decoder-only language model. */
export type ModelKind = "encdec" | "gpt";

/** One shipped checkpoint, as listed in public/checkpoints/manifest.json. */
export interface ManifestEntry {
  name: string;
  title: string;
  description: string;
  kind: ModelKind;
  /** The checkpoint directory, relative to the manifest (e.g. "dates/"). */
  path: string;
  /** The shipped task of an encoder-decoder checkpoint. */
  task?: string;
  /** "positions": one of the models the Positions chapter compares side by side. */
  compare?: string;
  /** How it was made (shown on the page). */
  command?: string;
}

export interface Manifest {
  /** The checkpoint the page opens when no other is chosen. */
  default?: string;
  checkpoints: ManifestEntry[];
}

/** Experiment switches; they act on every forward pass (analysis, decoding and training). */
export interface Interventions {
  noPositional: boolean;
  noCausalMask: boolean;
  noScale: boolean;
  /** Zeroed heads as "<attention module path>:<head>", e.g. "decoder.layers.0.cross_attn:1". */
  zeroHeads: string[];
}

export const NO_INTERVENTIONS: Interventions = {
  noPositional: false,
  noCausalMask: false,
  noScale: false,
  zeroHeads: [],
};

export interface TrainSettings {
  lr: number;
  batch: number;
  /** ε of label smoothing in the training loss. */
  labelSmoothing: number;
}

/** One recorded tensor: row-major float32 values. */
export interface Rec {
  shape: number[];
  values: Float32Array;
}

export interface ModelInfo {
  origin: string;
  kind: ModelKind;
  config: ModelConfig;
  /** The task of an encoder-decoder (null for a GPT). */
  task: string | null;
  /** Live training needs a task to draw batches from (a GPT's text is not shipped). */
  trainable: boolean;
  /** Display form of every token, by id. */
  vocab: string[];
  parameters: number;
  /** The compute backend in the worker, e.g. "wasm · 2 threads". */
  engine: string;
  /** A few (source, target) pairs of the task (GPT: prompts, with an empty target), for the input box. */
  examples: { src: string; tgt: string }[];
  /** Training steps this model has had in the page. */
  step: number;
}

export interface DecodeStepInfo {
  /** The token chosen (greedy: the argmax). */
  token: number;
  /** The five most likely next tokens. */
  top: { id: number; p: number }[];
  /**
   * Where this step looked, last layer, [heads, keys]: the cross-attention
   * over the source (encoder-decoder), or the causal self-attention over the
   * text so far (GPT).
   */
  cross: Rec;
  /** Sampling only: the filtered distribution the token was drawn from (most likely first, at most 10). */
  sampled?: { id: number; p: number }[];
}

/** New tokens a GPT continuation has by default (the Decoding chapter's length control changes it). */
export const GEN_TOKENS = 40;
/** The longest continuation the length control allows. */
export const MAX_GEN_TOKENS = 400;

/** How a GPT's continuation is chosen. temperature 0 = greedy. */
export interface SamplingSettings {
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  /** New tokens to generate (past the context, the model reads its last maxLen tokens). */
  length: number;
}

/** A beam after a step: a live prefix, or an ended hypothesis (done) with its normalised score. */
export interface Beam {
  ids: number[];
  /** log P of the tokens (and of EOS, when done). */
  logp: number;
  /** done: logp / lp(|ids| + 1), the GNMT length penalty the search ranks ended hypotheses by. */
  score?: number;
  done: boolean;
}

/** The padding and causal masks of a small batch (the user's input and two task examples). */
export interface MaskBatch {
  srcIds: number[][];
  tgtIn: number[][];
  /** [rows][source length]: 1 where the source is padding. */
  srcPad: number[][];
  tgtPad: number[][];
  /** The task's answers all had one length, so the examples' targets were cut short to show padding. */
  tgtCut: boolean;
  /** Layer 0 self-attention of encoder and decoder: scores, masked_scores, weights [B, H, T, T]. */
  enc: { scores: Rec; masked: Rec; weights: Rec };
  dec: { scores: Rec; masked: Rec; weights: Rec };
}

/** One shipped model of the positions comparison, for the learner's input. */
export interface PositionsSide {
  name: string;
  title: string;
  positional: string;
  /** The first rows of its positional table (null: RoPE, ALiBi or none). */
  table: Rec | null;
  src: string;
  tgt: string;
  output: string;
  loss: number;
  /** The same with the positional encoding removed. */
  outputNoPos: string;
  lossNoPos: number;
}

/** What the learner compares when an intervention is on. */
export interface Outcome {
  /** Greedy decoding of the source (GPT: the greedy continuation of the prompt). */
  output: string;
  /** Teacher-forced cross-entropy against the reference (no smoothing), mean per token (GPT: over the prompt's next tokens). */
  loss: number;
  /** Teacher-forced argmax at each target position (GPT: the guessed next token after each prefix). */
  prediction: string;
}

/**
 * What the loss is measured against, so that an intact and a changed model are
 * scored on the same answer: the target the learner typed; else the task's
 * true answer when the page can compute it (web/src/engine/truth.ts); else the
 * intact model's own greedy output. A GPT is scored on its prompt's own next
 * characters.
 */
export interface Reference {
  kind: "typed" | "truth" | "intact" | "prompt";
  text: string;
}

/**
 * For a GPT, srcIds and tgtIn are both the prompt's ids (what the one stack
 * reads), labels the next token at each position (-1 at the last: the next
 * token is not in the prompt), greedy the continuation, beams empty and
 * maskBatch null (its causal mask is in the tensors).
 */
export interface Analysis {
  kind: ModelKind;
  src: string;
  tgt: string;
  srcIds: number[];
  tgtIn: number[];
  labels: number[];
  /** Every tapped intermediate of the teacher-forced pass, by dotted name. */
  tensors: Record<string, Rec>;
  greedy: { ids: number[]; steps: DecodeStepInfo[] };
  beams: Beam[][];
  embedTable: Rec;
  /** 2-D PCA of the embedding table: x, y per token; fraction of variance of each axis. */
  pca: { x: Float32Array; y: Float32Array; explained: [number, number] };
  /** The first rows of the positional table (sinusoidal or learned), or null (RoPE). */
  posTable: Rec | null;
  maskBatch: MaskBatch | null;
  outcome: Outcome;
  /** What outcome.loss and baseline.loss are measured against. */
  reference: Reference;
  /** The same without interventions (only when some are on). */
  baseline: Outcome | null;
  interventions: Interventions;
  labelSmoothing: number;
  step: number;
}

export interface TrainPoint {
  step: number;
  loss: number;
  acc: number;
  valLoss?: number;
  valAcc?: number;
  valExact?: number;
}

export interface Sample {
  src: string;
  tgt: string;
  out: string;
}

export type Request =
  | { type: "load"; source: ModelSource }
  | { type: "analyze"; src: string; tgt: string | null }
  | { type: "interventions"; value: Interventions }
  /** GPT: step-by-step generation of the continuation with the given sampling. */
  | { type: "generate"; src: string; sampling: SamplingSettings }
  /** The positions comparison: the shipped models, each with and without its positions. */
  | { type: "positions"; models: { name: string; title: string; url: string }[]; src: string }
  | { type: "train"; action: "start" | "pause" | "step"; steps?: number; settings: TrainSettings };

export type ToWorker = Request & { id: number };

export type FromWorker =
  | { type: "reply"; id: number; ok: true; value: unknown }
  | { type: "reply"; id: number; ok: false; error: string }
  /** Pushed while training: a fresh analysis of the last input. */
  | { type: "analysis"; value: Analysis }
  | { type: "progress"; points: TrainPoint[]; running: boolean; samples: Sample[] | null };

/** An experiment of the registry (src/experiments), as the Experiments view lists it. */
export interface ExperimentInfo {
  name: string;
  title: string;
  question: string;
  arms: string;
  /** The docs chapter that explains the concept. */
  chapter: string;
  paper: string;
}

/**
 * The experiments worker (web/src/experiments/worker.ts), apart from the model
 * worker: a run is one long synchronous loop, so cancelling terminates it.
 */
export type ExperimentRequest =
  | { type: "list" }
  /** The --quick version, on these seeds. */
  | { type: "run"; name: string; seeds: number[] };

export type FromExperimentWorker =
  /** hidden: runnable but not listed (the browser test's short run). */
  | { type: "list"; experiments: ExperimentInfo[]; hidden: ExperimentInfo[] }
  /** A progress line of the run ("positional: none on bag, seed 3 (30/30)"). */
  | { type: "log"; line: string }
  | { type: "done"; result: ExperimentResult; engine: string }
  | { type: "failed"; error: string };
