/**
 * The workloads of ../shared/bench/README.md as the PyTorch peer defines them
 * (peer_pytorch.py: MODELS, CONFIGS) and their data: one mulberry32 stream,
 * lengths and tokens by modulo, so both sides time the same batches.
 */
import { BOS_ID as BOS, type Mulberry32 } from "../index.js";

// ---------------------------------------------------------------------------
// Workload definitions (peer_pytorch.py: MODELS, CONFIGS)
// ---------------------------------------------------------------------------

// The tokenizers' special ids, under the peer's names.
export { BOS_ID as BOS, EOS_ID as EOS, PAD_ID as PAD } from "../index.js";
/** Random content tokens are in [FIRST_TOKEN, vocab). */
export const FIRST_TOKEN = 3;
/** Seed of the data stream, fresh at the start of every workload. */
export const DATA_SEED = 12345;
/** Seed of the weights and of the engine RNG (dropout). */
export const INIT_SEED = 0;
export const DEFAULT_THREADS = 2;

export type BenchMetric = "target_tokens_per_s" | "tokens_per_s" | "new_tokens_per_s";

interface Common {
  model: "s2s-small" | "s2s-base" | "gpt-small";
  warmup: number;
  steps: number;
  metric: BenchMetric;
}

export type BenchConfig =
  | (Common & { kind: "s2s_train"; batch: number; minLen: number; maxLen: number; padTo: number })
  | (Common & { kind: "gpt_train"; batch: number; seq: number })
  | (Common & {
      kind: "gpt_decode";
      batch: number;
      prompt: number;
      newTokens: number;
      cache: boolean;
    })
  | (Common & { kind: "s2s_translate"; batch: number; srcLen: number; newTokens: number });

/** Exactly the peer's CONFIGS, in the peer's order. */
export const BENCH_CONFIGS: Record<string, BenchConfig> = {
  "s2s-small-train": {
    kind: "s2s_train",
    model: "s2s-small",
    batch: 64,
    minLen: 16,
    maxLen: 32,
    padTo: 32,
    warmup: 2,
    steps: 12,
    metric: "target_tokens_per_s",
  },
  "s2s-base-train": {
    kind: "s2s_train",
    model: "s2s-base",
    batch: 16,
    minLen: 16,
    maxLen: 32,
    padTo: 32,
    warmup: 2,
    steps: 10,
    metric: "target_tokens_per_s",
  },
  "gpt-small-train": {
    kind: "gpt_train",
    model: "gpt-small",
    batch: 16,
    seq: 128,
    warmup: 2,
    steps: 12,
    metric: "tokens_per_s",
  },
  "gpt-small-decode": {
    kind: "gpt_decode",
    model: "gpt-small",
    batch: 1,
    prompt: 16,
    newTokens: 112,
    cache: true,
    warmup: 2,
    steps: 30,
    metric: "new_tokens_per_s",
  },
  "gpt-small-decode-nocache": {
    kind: "gpt_decode",
    model: "gpt-small",
    batch: 1,
    prompt: 16,
    newTokens: 112,
    cache: false,
    warmup: 1,
    steps: 6,
    metric: "new_tokens_per_s",
  },
  "s2s-small-translate": {
    kind: "s2s_translate",
    model: "s2s-small",
    batch: 32,
    srcLen: 32,
    newTokens: 32,
    warmup: 2,
    steps: 20,
    metric: "target_tokens_per_s",
  },
};

export function benchConfigNames(): string[] {
  return Object.keys(BENCH_CONFIGS);
}

// ---------------------------------------------------------------------------
// Data (README "Data": one mulberry32 stream, lengths and tokens by modulo)
// ---------------------------------------------------------------------------

/** lo + u mod (hi - lo + 1). */
export function drawLength(rng: Mulberry32, lo: number, hi: number): number {
  return lo + (rng.nextU32() % (hi - lo + 1));
}

/** 3 + u mod (vocab - 3). */
export function drawToken(rng: Mulberry32, vocab: number): number {
  return FIRST_TOKEN + (rng.nextU32() % (vocab - FIRST_TOKEN));
}

/** One sequence-to-sequence batch, row-major [batch, padTo] each. */
export interface S2SBatch {
  src: Int32Array;
  decIn: Int32Array;
  labels: Int32Array;
  /** Non-PAD labels (sum of target lengths): the counted tokens of a step. */
  nTgt: number;
}

/** peer_pytorch.make_s2s_batch: per pair S, T, S source tokens, T target tokens. */
export function makeS2SBatch(
  rng: Mulberry32,
  batch: number,
  lo: number,
  hi: number,
  padTo: number,
  vocab: number,
): S2SBatch {
  const src = new Int32Array(batch * padTo); // zero = PAD
  const decIn = new Int32Array(batch * padTo);
  const labels = new Int32Array(batch * padTo);
  let nTgt = 0;
  for (let b = 0; b < batch; b++) {
    const sLen = drawLength(rng, lo, hi);
    const tLen = drawLength(rng, lo, hi);
    const row = b * padTo;
    for (let i = 0; i < sLen; i++) src[row + i] = drawToken(rng, vocab);
    const tgt: number[] = [];
    for (let i = 0; i < tLen; i++) tgt.push(drawToken(rng, vocab));
    decIn[row] = BOS;
    for (let i = 0; i < tLen - 1; i++) decIn[row + i + 1] = tgt[i];
    for (let i = 0; i < tLen; i++) labels[row + i] = tgt[i];
    nTgt += tLen;
  }
  return { src, decIn, labels, nTgt };
}

/** peer_pytorch.make_token_block: rows x cols content tokens, drawn row by row. */
export function makeTokenBlock(
  rng: Mulberry32,
  rows: number,
  cols: number,
  vocab: number,
): Int32Array {
  const out = new Int32Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = drawToken(rng, vocab);
  return out;
}
