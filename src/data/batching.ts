/**
 * Batching of token-id sequences: padded seq2seq batches, token-budget
 * batching with length bucketing, masks, and language-model windows.
 *
 * Pure (no I/O). Works on plain number[] id sequences; tokenization lives
 * elsewhere. Special ids are fixed project-wide: PAD 0, BOS 1, EOS 2, UNK 3.
 *
 * Teacher-forcing convention: for target ids y1..yn the decoder input is
 * [BOS, y1..yn] and the labels are [y1..yn, EOS], both n+1 long, right-padded
 * with PAD to the batch maximum. The source is the ids plus EOS (option
 * `srcEos`, default true), right-padded with PAD.
 */
import { AttnError } from "../errors.js";
import type { Mulberry32 } from "../tensor/random.js";

import { BOS_ID, EOS_ID, PAD_ID, UNK_ID } from "../tokenizers/tokenizer.js";

export { BOS_ID, EOS_ID, PAD_ID, UNK_ID };

export interface Seq2SeqExample {
  src: readonly number[];
  tgt: readonly number[];
}

export interface Seq2SeqBatch {
  size: number;
  srcLen: number;
  tgtLen: number;
  /** [size, srcLen], right-padded with PAD. */
  src: Int32Array;
  /** Unpadded source length of each row (EOS included when srcEos). */
  srcLengths: Int32Array;
  /** [size, tgtLen]: BOS y1..yn, then PAD. */
  tgtIn: Int32Array;
  /** [size, tgtLen]: y1..yn EOS, then PAD. */
  tgtOut: Int32Array;
  /** n+1 for each row. */
  tgtLengths: Int32Array;
  /** Non-PAD entries of tgtOut (the sum of tgtLengths). */
  numTgtTokens: number;
  /** Position of each row's example in the list the batch was made from. */
  indices: Int32Array;
}

export interface Seq2SeqBatchOptions {
  /** Append EOS to every source (default true). */
  srcEos?: boolean;
}

/** One padded batch from the examples, in the given order. */
export function makeSeq2SeqBatch(
  examples: readonly Seq2SeqExample[],
  opts: Seq2SeqBatchOptions = {},
  indices?: ArrayLike<number>,
): Seq2SeqBatch {
  const srcEos = opts.srcEos ?? true;
  const size = examples.length;
  if (size === 0) throw new AttnError("makeSeq2SeqBatch: no examples to batch");
  const srcLengths = new Int32Array(size);
  const tgtLengths = new Int32Array(size);
  let srcLen = 0;
  let tgtLen = 0;
  for (let b = 0; b < size; b++) {
    const ex = examples[b];
    const sl = ex.src.length + (srcEos ? 1 : 0);
    if (sl === 0) {
      throw new AttnError(
        `makeSeq2SeqBatch: example ${indices ? indices[b] : b} has an empty source (and srcEos is off)`,
      );
    }
    srcLengths[b] = sl;
    tgtLengths[b] = ex.tgt.length + 1;
    if (sl > srcLen) srcLen = sl;
    if (tgtLengths[b] > tgtLen) tgtLen = tgtLengths[b];
  }
  const src = new Int32Array(size * srcLen); // zero-filled = PAD
  const tgtIn = new Int32Array(size * tgtLen);
  const tgtOut = new Int32Array(size * tgtLen);
  let numTgtTokens = 0;
  for (let b = 0; b < size; b++) {
    const ex = examples[b];
    const s = b * srcLen;
    for (let i = 0; i < ex.src.length; i++) src[s + i] = checkId(ex.src[i], b, "source");
    if (srcEos) src[s + ex.src.length] = EOS_ID;
    const t = b * tgtLen;
    const n = ex.tgt.length;
    tgtIn[t] = BOS_ID;
    for (let i = 0; i < n; i++) {
      const y = checkId(ex.tgt[i], b, "target");
      tgtIn[t + i + 1] = y;
      tgtOut[t + i] = y;
    }
    tgtOut[t + n] = EOS_ID;
    numTgtTokens += n + 1;
  }
  const idx = new Int32Array(size);
  for (let b = 0; b < size; b++) idx[b] = indices ? indices[b] : b;
  return {
    size,
    srcLen,
    tgtLen,
    src,
    srcLengths,
    tgtIn,
    tgtOut,
    tgtLengths,
    numTgtTokens,
    indices: idx,
  };
}

function checkId(id: number, row: number, side: string): number {
  if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
    throw new AttnError(`batching: ${side} of row ${row} holds an invalid token id ${id}`);
  }
  return id;
}

export interface BatchByTokensOptions extends Seq2SeqBatchOptions {
  /** Budget per batch: rows x max(srcLen, tgtLen) after padding. */
  maxTokens: number;
  /** Optional cap on rows per batch. */
  maxRows?: number;
  /** Shuffle the examples (tie order) and the order of the batches; needs `rng`. */
  shuffle?: boolean;
  rng?: Mulberry32;
  /** Sort by length before packing so batches hold similar lengths (default true). */
  bucket?: boolean;
}

/**
 * Packs examples into batches whose padded size, rows x max(srcLen, tgtLen),
 * stays <= maxTokens (an example that alone exceeds it gets a batch of its
 * own). With `bucket` (default) the examples are sorted by padded length
 * (max of source and target length, then source, then target), so each batch
 * holds similar lengths and little padding; with `shuffle` the examples are
 * first permuted (so equal lengths group differently each epoch) and the
 * finished batches are then shuffled, the scheme fairseq uses. The result
 * depends only on the examples, the options and the rng state.
 */
export function batchByTokens(
  examples: readonly Seq2SeqExample[],
  opts: BatchByTokensOptions,
): Seq2SeqBatch[] {
  const { maxTokens, shuffle = false, rng, bucket = true } = opts;
  const maxRows = opts.maxRows ?? Number.POSITIVE_INFINITY;
  const srcExtra = (opts.srcEos ?? true) ? 1 : 0;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new AttnError(`batchByTokens: maxTokens must be a positive integer, got ${maxTokens}`);
  }
  if (!(maxRows >= 1)) {
    throw new AttnError(`batchByTokens: maxRows must be >= 1, got ${opts.maxRows}`);
  }
  if (shuffle && !rng) throw new AttnError("batchByTokens: shuffle needs an rng");

  const n = examples.length;
  const srcL = new Int32Array(n);
  const tgtL = new Int32Array(n);
  const key = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    srcL[i] = examples[i].src.length + srcExtra;
    tgtL[i] = examples[i].tgt.length + 1;
    key[i] = Math.max(srcL[i], tgtL[i]);
  }
  const order: number[] = Array.from({ length: n }, (_, i) => i);
  if (shuffle && rng) shuffleInPlace(order, rng);
  if (bucket) {
    // Array.prototype.sort is stable (ES2019), so ties keep the shuffled order.
    order.sort((a, b) => key[a] - key[b] || srcL[a] - srcL[b] || tgtL[a] - tgtL[b]);
  }

  const groups: number[][] = [];
  let cur: number[] = [];
  let curMax = 0;
  for (const i of order) {
    const m = Math.max(curMax, key[i]);
    if (cur.length > 0 && ((cur.length + 1) * m > maxTokens || cur.length + 1 > maxRows)) {
      groups.push(cur);
      cur = [];
      curMax = 0;
    }
    cur.push(i);
    curMax = Math.max(curMax, key[i]);
  }
  if (cur.length > 0) groups.push(cur);
  if (shuffle && rng) shuffleInPlace(groups, rng);

  return groups.map((g) =>
    makeSeq2SeqBatch(
      g.map((i) => examples[i]),
      { srcEos: opts.srcEos },
      g,
    ),
  );
}

/** Fisher–Yates (Durstenfeld) shuffle driven by the seeded rng. */
export function shuffleInPlace<T>(xs: T[], rng: Mulberry32): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.intIn(0, i);
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
  return xs;
}

/** [B, maxLen] with 1 where position >= the row's length (padding), else 0. */
export function paddingMaskFromLengths(lengths: ArrayLike<number>, maxLen: number): Uint8Array {
  const B = lengths.length;
  const mask = new Uint8Array(B * maxLen);
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    if (len > maxLen || len < 0) {
      throw new AttnError(`paddingMaskFromLengths: row ${b} has length ${len} > maxLen ${maxLen}`);
    }
    mask.fill(1, b * maxLen + len, (b + 1) * maxLen);
  }
  return mask;
}

/** [B, L] with 1 where ids[b, i] === padId. */
export function paddingMaskFromIds(
  ids: ArrayLike<number>,
  batch: number,
  len: number,
  padId = PAD_ID,
): Uint8Array {
  if (ids.length !== batch * len) {
    throw new AttnError(`paddingMaskFromIds: ${ids.length} ids is not ${batch} x ${len}`);
  }
  const mask = new Uint8Array(batch * len);
  for (let i = 0; i < mask.length; i++) mask[i] = ids[i] === padId ? 1 : 0;
  return mask;
}

/** [L, L] with 1 above the diagonal (query i may not see key j > i), 0 elsewhere. */
export function causalMask(len: number): Uint8Array {
  const mask = new Uint8Array(len * len);
  for (let i = 0; i < len; i++) mask.fill(1, i * len + i + 1, (i + 1) * len);
  return mask;
}

// ---------------------------------------------------------------------------
// language modelling

export interface LmBatch {
  batch: number;
  context: number;
  /** [batch, context]: ids[o .. o+context-1] for each offset o. */
  input: Int32Array;
  /** [batch, context]: ids[o+1 .. o+context] (input shifted left by one). */
  target: Int32Array;
}

/** Windows of `context` tokens starting at each offset; needs o + context < ids.length. */
export function makeLmBatch(ids: ArrayLike<number>, offsets: number[], context: number): LmBatch {
  if (!Number.isInteger(context) || context < 1) {
    throw new AttnError(`makeLmBatch: context must be a positive integer, got ${context}`);
  }
  const B = offsets.length;
  const input = new Int32Array(B * context);
  const target = new Int32Array(B * context);
  for (let b = 0; b < B; b++) {
    const o = offsets[b];
    if (!Number.isInteger(o) || o < 0 || o + context >= ids.length) {
      throw new AttnError(
        `makeLmBatch: offset ${o} with context ${context} needs ${o + context + 1} tokens, have ${ids.length}`,
      );
    }
    for (let i = 0; i < context; i++) {
      input[b * context + i] = ids[o + i];
      target[b * context + i] = ids[o + i + 1];
    }
  }
  return { batch: B, context, input, target };
}

/** batchSize offsets drawn uniformly from 0..numTokens-context-1 (every window has a target). */
export function sampleLmOffsets(
  numTokens: number,
  context: number,
  batchSize: number,
  rng: Mulberry32,
): number[] {
  if (numTokens < context + 1) {
    throw new AttnError(
      `the text has ${numTokens} tokens, too few for a context of ${context} (need at least ${context + 1})`,
    );
  }
  const out: number[] = new Array(batchSize);
  for (let b = 0; b < batchSize; b++) out[b] = rng.intIn(0, numTokens - context - 1);
  return out;
}

/**
 * Offsets 0, stride, 2·stride, ... of every full window (o + context < numTokens),
 * for a deterministic pass over held-out text. stride defaults to context
 * (non-overlapping windows).
 */
export function sequentialLmOffsets(
  numTokens: number,
  context: number,
  stride = context,
): number[] {
  if (!Number.isInteger(stride) || stride < 1) {
    throw new AttnError(`sequentialLmOffsets: stride must be a positive integer, got ${stride}`);
  }
  const out: number[] = [];
  for (let o = 0; o + context < numTokens; o += stride) out.push(o);
  return out;
}
