/**
 * Tensor-level entry points of encoder-decoder decoding: a padded source
 * batch [B, S] in, token lists out. Both run the one batched loop of
 * decode.ts; `cache: false` is the plain reference (every step recomputes
 * the whole prefix), kept to check the KV cache against.
 */
import { AttnError } from "../errors.js";
import type { Transformer } from "../models/transformer.js";
import { type Tensor, fromArray, noGrad, tidy } from "../tensor/index.js";
import { type DecodeOptions, type Hypothesis, decodeBatch } from "./decode.js";

export {
  type DecodeOptions,
  type DecodeStep,
  type Hypothesis,
  decodeBatch,
  decodeBatchAsync,
  lengthPenalty,
} from "./decode.js";

/** The rows of a padded source batch as id lists: trailing PAD and one final EOS removed. */
export function sourceRows(model: Transformer, src: Tensor): number[][] {
  const { padId, eosId } = model.config;
  if (src.rank !== 2)
    throw new AttnError(`decode: source must be [batch, length], got rank ${src.rank}`);
  const d = src.readSync();
  const [B, S] = src.shape;
  const rows: number[][] = [];
  for (let b = 0; b < B; b++) {
    let n = S;
    while (n > 0 && d[b * S + n - 1] === padId) n--;
    if (n > 0 && d[b * S + n - 1] === eosId) n--;
    rows.push(Array.from(d.subarray(b * S, b * S + n)));
  }
  return rows;
}

export interface GreedyOptions {
  /** Most tokens before EOS (default: source length + 50). */
  maxLen?: number;
  /** Use the KV cache (default). Without it every step recomputes the whole prefix. */
  cache?: boolean;
  /**
   * false: EOS does not end a sentence; every one decodes exactly maxLen tokens
   * (EOS may appear among them). Needs maxLen. Default true.
   */
  stopAtEos?: boolean;
  /** The logits row of each sentence at each step (for tests and the explorer). */
  onLogits?: (sentence: number, step: number, logits: Float32Array) => void;
}

/** Greedy decoding of a batch src [B, S]: the argmax token at each step, until EOS. Returns tokens without BOS/EOS. */
export function greedyDecode(
  model: Transformer,
  src: Tensor,
  opts: GreedyOptions = {},
): number[][] {
  const rows = sourceRows(model, src);
  if (opts.stopAtEos === false && opts.maxLen === undefined)
    throw new AttnError("greedyDecode: stopAtEos false needs maxLen");
  if (opts.cache === false) return greedyUncached(model, rows, opts);
  const V = model.config.vocabSize;
  const onLogits = opts.onLogits;
  return decodeBatch(model, rows, {
    maxLen: opts.maxLen,
    fixedLength: opts.stopAtEos === false,
    onStep: onLogits
      ? (s) => {
          for (let r = 0; r < s.rows; r++)
            onLogits(s.sentence[r], s.step, s.logits.subarray(r * V, (r + 1) * V));
        }
      : undefined,
  }).map((h) => h[0].tokens);
}

/** Beam search for ONE source sentence src [1, S]: its closed hypotheses, best first. */
export function beamSearch(
  model: Transformer,
  src: Tensor,
  opts: Omit<DecodeOptions, "beam"> & { beam: number },
): Hypothesis[] {
  if (src.shape[0] !== 1)
    throw new AttnError(
      `beamSearch: one source sentence, got a batch of ${src.shape[0]} (use decodeBatch)`,
    );
  return decodeBatch(model, sourceRows(model, src), { ...opts, search: "beam" })[0];
}

/** Greedy or beam translation of a batch, as token lists without BOS/EOS. */
export function translateIds(
  model: Transformer,
  src: Tensor,
  opts: { beam?: number; alpha?: number; maxLen?: number } = {},
): number[][] {
  return decodeBatch(model, sourceRows(model, src), opts).map((h) => h[0]?.tokens ?? []);
}

/** Greedy decoding without the KV cache, one sentence at a time (the reference). */
function greedyUncached(model: Transformer, rows: number[][], opts: GreedyOptions): number[][] {
  const { bosId, eosId, padId, vocabSize: V, maxLen: positions } = model.config;
  return noGrad(() =>
    rows.map((ids, s) =>
      tidy(() => {
        const src = fromArray([...ids, eosId], [1, ids.length + 1], "int32");
        const { memory, srcMask } = model.encode(src);
        const limit = Math.min(opts.maxLen ?? ids.length + 50, positions - 1);
        const fixed = opts.stopAtEos === false;
        const prefix = [bosId];
        for (let step = 0; ; step++) {
          const row = tidy(() => {
            const tgt = fromArray(prefix, [1, prefix.length], "int32");
            const all = model.project(model.decode(tgt, memory, srcMask)).readSync();
            return all.slice(step * V, (step + 1) * V) as Float32Array;
          });
          opts.onLogits?.(s, step, row);
          let next = eosId;
          if (step < limit) {
            let best = Number.NEGATIVE_INFINITY;
            for (let w = 0; w < V; w++)
              if (w !== padId && w !== bosId && row[w] > best) {
                best = row[w];
                next = w;
              }
          }
          if (fixed ? step >= limit : next === eosId) return prefix.slice(1);
          prefix.push(next);
        }
      }),
    ),
  );
}
