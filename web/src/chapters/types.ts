/** What every chapter view gets from the app. */
import type {
  Analysis,
  Interventions,
  ModelInfo,
  Sample,
  TrainPoint,
  TrainSettings,
} from "../protocol.js";

export type Block = "enc" | "dec" | "cross";

/** Selections shared between chapters (the attention chapter and the multi-head grid pick the same head). */
export interface UiState {
  block: Block;
  layer: number;
  head: number;
  /** Query/key cell of the attention heatmap. */
  cell: [number, number] | null;
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
  go(chapter: string): void;
}

export interface ChapterProps {
  a: Analysis;
  info: ModelInfo;
  ui: UiState;
  training: TrainingState;
  settings: TrainSettings;
  act: Actions;
}

/** Tap-name prefix of an attention block. */
export function blockPath(b: Block, layer: number): string {
  return b === "enc"
    ? `encoder.layers.${layer}.self_attn`
    : b === "dec"
      ? `decoder.layers.${layer}.self_attn`
      : `decoder.layers.${layer}.cross_attn`;
}

export const BLOCK_NAMES: Record<Block, string> = {
  enc: "Encoder self-attention",
  dec: "Decoder self-attention (masked)",
  cross: "Cross-attention (decoder → encoder)",
};

/** Display labels of the query and key tokens of a block. */
export function blockTokens(a: Analysis, info: ModelInfo, b: Block): { q: string[]; k: string[] } {
  const label = (ids: number[]) => ids.map((id) => tok(info, id));
  const src = label(a.srcIds);
  const tgt = label(a.tgtIn);
  return b === "enc" ? { q: src, k: src } : b === "dec" ? { q: tgt, k: tgt } : { q: tgt, k: src };
}

export function tok(info: ModelInfo, id: number): string {
  const t = info.vocab[id] ?? `#${id}`;
  return t === " " ? "␣" : t;
}

export function layersOf(info: ModelInfo, b: Block): number {
  return b === "enc" ? info.config.encoderLayers : info.config.decoderLayers;
}
