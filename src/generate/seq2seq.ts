/**
 * Decoding with the encoder-decoder: greedy and beam search, with or without
 * the KV cache. "At each step the model is auto-regressive, consuming the
 * previously generated symbols as additional input when generating the next" (§3).
 */
import { AttnError } from "../errors.js";
import { type Transformer, freeDecodingCaches } from "../models/transformer.js";
import { type Tensor, fromArray, noGrad, tidy } from "../tensor/index.js";
import { argmax, logSoftmaxRow } from "./select.js";

export interface DecodeOptions {
  /** Most target tokens to generate (EOS included). Default: source length + 50 (the paper's rule). */
  maxLen?: number;
  /** Use the KV cache (default). Without it every step recomputes the whole prefix. */
  cache?: boolean;
  /** Called with the logits row of each step (for tests and the explorer). */
  onStep?: (row: number, step: number, logits: Float32Array) => void;
}

function sourceLength(src: Tensor, padId: number, row: number): number {
  const d = src.values();
  const S = src.shape[1];
  let n = 0;
  for (let j = 0; j < S; j++) if (d[row * S + j] !== padId) n = j + 1;
  return n;
}

/** Greedy decoding of a batch src [B, S]: the argmax token at each step, until EOS. Returns tokens without BOS/EOS. */
export function greedyDecode(
  model: Transformer,
  src: Tensor,
  opts: DecodeOptions = {},
): number[][] {
  const { bosId, eosId, padId, vocabSize: V } = model.config;
  const B = src.shape[0];
  const maxLen =
    opts.maxLen ??
    Math.max(...Array.from({ length: B }, (_, b) => sourceLength(src, padId, b))) + 50;
  const out: number[][] = Array.from({ length: B }, () => []);
  const done = new Array<boolean>(B).fill(false);
  return noGrad(() =>
    tidy(() => {
      const useCache = opts.cache !== false;
      const state = useCache ? model.startDecoding(src) : null;
      const enc = useCache ? null : model.encode(src);
      const prefix: number[][] = Array.from({ length: B }, () => [bosId]);
      try {
        for (let step = 0; step < maxLen && done.includes(false); step++) {
          const logits = tidy(() => {
            if (state) {
              const last = fromArray(
                prefix.map((p) => p[p.length - 1]),
                [B, 1],
                "int32",
              );
              return model.decodeStep(state, last).values() as Float32Array;
            }
            const tgt = fromArray(prefix.flat(), [B, step + 1], "int32");
            const all = model
              .project(model.decode(tgt, enc!.memory, enc!.srcMask))
              .values() as Float32Array;
            // Keep only the last position of every row.
            const rows = new Float32Array(B * V);
            for (let b = 0; b < B; b++)
              rows.set(
                all.subarray((b * (step + 1) + step) * V, (b * (step + 1) + step + 1) * V),
                b * V,
              );
            return rows;
          });
          for (let b = 0; b < B; b++) {
            const row = logits.subarray(b * V, (b + 1) * V);
            opts.onStep?.(b, step, row);
            const next = done[b] ? padId : argmax(row);
            prefix[b].push(done[b] ? eosId : next);
            if (done[b]) continue;
            if (next === eosId) done[b] = true;
            else out[b].push(next);
          }
        }
      } finally {
        if (state) freeDecodingCaches(state);
      }
      return out;
    }),
  );
}

export interface BeamOptions extends DecodeOptions {
  /** Beam width k. */
  beam: number;
  /** GNMT length penalty α: score = log P / ((5 + |Y|)^α / 6^α) (Wu et al. 2016; the paper uses α = 0.6). */
  alpha?: number;
}

export interface Hypothesis {
  tokens: number[];
  logProb: number;
  score: number;
}

/** GNMT length penalty lp(Y) = (5 + |Y|)^α / (5 + 1)^α. */
export function lengthPenalty(length: number, alpha: number): number {
  return ((5 + length) / 6) ** alpha;
}

/**
 * Beam search for ONE source sentence src [1, S]. Returns the finished
 * hypotheses, best first (by length-normalised score). Stops when k
 * hypotheses have ended with EOS, or at maxLen.
 */
export function beamSearch(model: Transformer, src: Tensor, opts: BeamOptions): Hypothesis[] {
  const { bosId, eosId, padId, vocabSize: V } = model.config;
  if (src.shape[0] !== 1)
    throw new AttnError(
      `beamSearch: one source sentence at a time, got a batch of ${src.shape[0]}`,
    );
  const k = opts.beam;
  if (!Number.isInteger(k) || k < 1)
    throw new AttnError(`beamSearch: beam must be a positive integer, got ${k}`);
  const alpha = opts.alpha ?? 0.6;
  const maxLen = opts.maxLen ?? sourceLength(src, padId, 0) + 50;
  return noGrad(() =>
    tidy(() => {
      const state = model.startDecoding(src);
      let alive: Hypothesis[] = [{ tokens: [], logProb: 0, score: 0 }];
      const finished: Hypothesis[] = [];
      try {
        for (let step = 0; step < maxLen && alive.length > 0 && finished.length < k; step++) {
          // Every alive beam is a row of the decoder batch. The source is the same for all
          // of them: cross-attention K/V (cached at step 0) and the source mask broadcast.
          const rows = alive.length;
          const last = fromArray(
            alive.map((h) => (h.tokens.length ? h.tokens[h.tokens.length - 1] : bosId)),
            [rows, 1],
            "int32",
          );
          const logits = tidy(() => model.decodeStep(state, last).values() as Float32Array);
          const candidates: { parent: number; token: number; logProb: number }[] = [];
          for (let r = 0; r < rows; r++) {
            const lp = logSoftmaxRow(logits, r * V, V);
            opts.onStep?.(r, step, logits.subarray(r * V, (r + 1) * V));
            // Only the k best continuations of each beam can survive.
            const best = Array.from({ length: V }, (_, i) => i)
              .sort((a, b) => lp[b] - lp[a] || a - b)
              .slice(0, k);
            for (const t of best)
              candidates.push({ parent: r, token: t, logProb: alive[r].logProb + lp[t] });
          }
          candidates.sort(
            (a, b) => b.logProb - a.logProb || a.parent - b.parent || a.token - b.token,
          );
          const next: Hypothesis[] = [];
          const parents: number[] = [];
          for (const c of candidates) {
            const tokens = [...alive[c.parent].tokens, c.token];
            if (c.token === eosId) {
              const body = tokens.slice(0, -1);
              finished.push({
                tokens: body,
                logProb: c.logProb,
                score: c.logProb / lengthPenalty(tokens.length, alpha),
              });
              if (finished.length >= k) break;
            } else if (next.length < k) {
              next.push({
                tokens,
                logProb: c.logProb,
                score: c.logProb / lengthPenalty(tokens.length, alpha),
              });
              parents.push(c.parent);
            }
            if (next.length >= k && finished.length + next.length >= k) break;
          }
          alive = next;
          if (alive.length === 0) break;
          // Each surviving beam continues its parent's self-attention cache.
          for (const c of state.cache) {
            c.self.reorder(parents);
            c.cross.reorder(parents);
          }
        }
      } finally {
        freeDecodingCaches(state);
      }
      const all = finished.length > 0 ? finished : alive;
      return all.sort((a, b) => b.score - a.score);
    }),
  );
}

/** Greedy or beam translation of a batch, as token lists without BOS/EOS. */
export function translateIds(
  model: Transformer,
  src: Tensor,
  opts: { beam?: number; alpha?: number; maxLen?: number } = {},
): number[][] {
  const k = opts.beam ?? 1;
  if (k <= 1) return greedyDecode(model, src, { maxLen: opts.maxLen });
  const S = src.shape[1];
  const ids = src.values();
  const out: number[][] = [];
  for (let b = 0; b < src.shape[0]; b++) {
    const one = fromArray(ids.subarray(b * S, (b + 1) * S), [1, S], "int32");
    const hyps = beamSearch(model, one, { beam: k, alpha: opts.alpha, maxLen: opts.maxLen });
    one.dispose();
    out.push(hyps[0]?.tokens ?? []);
  }
  return out;
}
