/** What every chapter view gets from the app, and helpers shared by the views. */
import type { ChapterId } from "./guide.js";
import type { AttentionBlock, StackName } from "../../../src/browser.js";
import type {
  Analysis,
  DecodeStepInfo,
  Interventions,
  ManifestEntry,
  ModelInfo,
  PositionsSide,
  Sample,
  SamplingSettings,
  TrainPoint,
  TrainSettings,
} from "../protocol.js";
import { GEN_TOKENS } from "../protocol.js";

/** enc / dec / cross: the encoder-decoder's attentions; self: a GPT's causal self-attention. */
export type Block = AttentionBlock;
export type { StackName };

/** Selections shared between chapters (the attention chapter and the multi-head grid pick the same head). */
export interface UiState {
  block: Block;
  layer: number;
  head: number;
  /** Query/key cell of the attention heatmap. */
  cell: [number, number] | null;
  /** How Decoding chooses a GPT's tokens (temperature 0: greedy); the sidebar says which it shows. */
  sampling: SamplingSettings;
}

export const GREEDY: SamplingSettings = {
  temperature: 0,
  topK: 0,
  topP: 1,
  seed: 0,
  length: GEN_TOKENS,
};

/** How a padded position is labelled everywhere (the pad token's own spelling). */
export const PAD_LABEL = "<pad>";

/** Layers and heads count from 1 on the page (tap names keep 0-based indices). */
export function nth(i: number): number {
  return i + 1;
}

export interface TrainingState {
  running: boolean;
  points: TrainPoint[];
  samples: Sample[] | null;
  /** Steps being replayed from the URL (0 when none). */
  replaying: number;
}

export interface Actions {
  setUi(patch: Partial<UiState>): void;
  setInterventions(iv: Interventions): void;
  train(action: "start" | "pause" | "step", steps?: number): void;
  setSettings(s: TrainSettings): void;
  go(chapter: ChapterId): void;
  /** Opens a model: "served", "fresh", or "shipped:<name>". */
  pick(choice: string): void;
  /** GPT: the continuation of the current prompt with this sampling. */
  generate(
    src: string,
    sampling: SamplingSettings,
  ): Promise<{ ids: number[]; steps: DecodeStepInfo[] }>;
  /** The shipped models of the positions comparison, for this input. */
  positions(models: ManifestEntry[], src: string): Promise<PositionsSide[]>;
}

export interface ChapterProps {
  a: Analysis;
  info: ModelInfo;
  ui: UiState;
  training: TrainingState;
  settings: TrainSettings;
  act: Actions;
  /** The shipped checkpoints that are present. */
  shipped: ManifestEntry[];
}

export function isGpt(info: ModelInfo): boolean {
  return info.kind === "gpt";
}

export const BLOCK_NAMES: Record<Block, string> = {
  enc: "Encoder self-attention",
  dec: "Decoder self-attention (masked)",
  cross: "Cross-attention (decoder → encoder)",
  self: "Causal self-attention",
};

/** The attention blocks a model has. */
export function blocksOf(info: ModelInfo): Block[] {
  return isGpt(info) ? ["self"] : ["enc", "dec", "cross"];
}

/** The block to show: the selected one if the model has it, else its first. */
export function blockFor(info: ModelInfo, b: Block): Block {
  const all = blocksOf(info);
  return all.includes(b) ? b : all[all.length - 1];
}

/** Display labels of the query and key tokens of a block. */
export function blockTokens(a: Analysis, info: ModelInfo, b: Block): { q: string[]; k: string[] } {
  const label = (ids: number[]) => ids.map((id) => tok(info, id));
  const src = label(a.srcIds);
  const tgt = label(a.tgtIn);
  return b === "enc" || b === "self"
    ? { q: src, k: src }
    : b === "dec"
      ? { q: tgt, k: tgt }
      : { q: tgt, k: src };
}

export function tok(info: ModelInfo, id: number): string {
  const t = info.vocab[id] ?? `#${id}`;
  return t === " " ? "␣" : t === "\n" ? "⏎" : t;
}

export function layersOf(info: ModelInfo, b: Block): number {
  const c = info.config;
  if (c.kind === "gpt") return c.layers;
  return b === "enc" ? c.encoderLayers : c.decoderLayers;
}

/** The stack that reads the input tokens (embedding, positions). */
export function inputStack(info: ModelInfo): StackName {
  return isGpt(info) ? "gpt" : "encoder";
}
