/**
 * Translating many sentences: tokenize, sort by length into batches (so a
 * batch pads little and its rows finish close together), decode each batch
 * with the batched loop, and return the outputs in input order.
 */
import type { Transformer } from "../models/transformer.js";
import type { Tokenizer } from "../tokenizers/index.js";
import { type DecodeStep, decodeBatch } from "./decode.js";

export interface TranslateOptions {
  /** Beam width (default 1: greedy). */
  beam?: number;
  /** GNMT length penalty α (default 0.6). */
  alpha?: number;
  /** Most target tokens before EOS (default: source length + 50). */
  maxLen?: number;
  /** When beam search stops a sentence (decode.ts's DecodeOptions.beamStop). */
  beamStop?: "no-better" | "k-closed";
  /** Sentences per batch (default 64 greedy; 64 / beam with beam search, 16 for beam 4, as the peer). */
  batchSize?: number;
  /** Called for each source longer than the model's positions, which is cut to fit. */
  onTruncate?: (index: number, tokens: number, kept: number) => void;
  /** The decode loop's step hook (sentence indices are per batch). */
  onStep?: (step: DecodeStep) => void;
}

export function defaultBatchSize(beam = 1): number {
  return Math.max(1, Math.floor(64 / Math.max(1, beam)));
}

/** Token ids of each source, cut to the model's positions (source + EOS must fit). */
export function encodeSources(
  model: Transformer,
  tok: Tokenizer,
  sources: readonly string[],
  onTruncate?: (index: number, tokens: number, kept: number) => void,
): number[][] {
  const room = model.config.maxLen - 1;
  return sources.map((s, i) => {
    const ids = tok.encode(s);
    if (ids.length <= room) return ids;
    onTruncate?.(i, ids.length, room);
    return ids.slice(0, room);
  });
}

/** Translations of many sentences, in input order. Blank inputs give empty translations. */
export function translateAll(
  model: Transformer,
  tok: Tokenizer,
  sources: readonly string[],
  opts: TranslateOptions = {},
): string[] {
  const ids = encodeSources(model, tok, sources, opts.onTruncate);
  return translateIdsAll(model, ids, opts, sources).map((t) => (t === null ? "" : tok.decode(t)));
}

/**
 * Token lists of many sources in input order (null for blank inputs, when
 * `texts` tells which are blank). Sorted by length into batches.
 */
export function translateIdsAll(
  model: Transformer,
  ids: readonly (readonly number[])[],
  opts: TranslateOptions = {},
  texts?: readonly string[],
): (number[] | null)[] {
  const bs = opts.batchSize ?? defaultBatchSize(opts.beam);
  const out: (number[] | null)[] = new Array(ids.length).fill(null);
  const order = [...ids.keys()]
    .filter((i) => texts?.[i].trim() !== "")
    .sort((a, b) => ids[a].length - ids[b].length || a - b);
  // Longest batch first: later, shorter batches then reuse its larger
  // buffers from the backend's pool instead of taking fresh pages.
  for (let at = Math.floor((order.length - 1) / bs) * bs; at >= 0; at -= bs) {
    const chunk = order.slice(at, at + bs);
    const hyps = decodeBatch(
      model,
      chunk.map((i) => ids[i]),
      {
        beam: opts.beam,
        alpha: opts.alpha,
        maxLen: opts.maxLen,
        beamStop: opts.beamStop,
        onStep: opts.onStep,
      },
    );
    chunk.forEach((i, j) => {
      out[i] = hyps[j][0]?.tokens ?? [];
    });
  }
  return out;
}
