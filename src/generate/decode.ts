/**
 * The decode loop of the encoder-decoder: greedy and beam search over a batch
 * of sentences, one decoder forward per step for the whole batch. "At each
 * step the model is auto-regressive, consuming the previously generated
 * symbols as additional input when generating the next" (§3).
 *
 * - The beams of all sentences share one batch (k consecutive rows per
 *   sentence); cross-attention K/V are computed once per sentence and the k
 *   beams attend to them as k query positions of that sentence.
 * - The self-attention KV cache is reordered by beam parent in place, and
 *   finished sentences leave the batch (rows are compacted).
 * - Beam semantics follow fairseq (and the PyTorch peer): the top 2k
 *   expansions per sentence in score order; an EOS among the first k closes a
 *   hypothesis with score log P / lp, lp = ((5 + |Y|) / 6)^α, |Y| counting the
 *   EOS (GNMT, Wu et al. 2016); the first k non-EOS expansions stay alive; at
 *   its length limit only EOS is allowed. PAD and BOS are never chosen.
 * - When a sentence stops (`beamStop`): by default once it holds k closed
 *   hypotheses and its best live prefix, scored at its current length, is
 *   below the k-th best of them. The peer's rule ("k-closed") stops as soon
 *   as k have closed: a confident model can close k short, improbable
 *   hypotheses (an EOS ranked below the best continuation at each step)
 *   before its best one ends.
 *
 * Over 400 lines as one concern: one loop with its two searches (greedy, beam), which share the batch, cache and hook code.
 */
import { AttnError } from "../errors.js";
import {
  type EncoderDecoderState,
  type Transformer,
  freeDecodingCaches,
} from "../models/transformer.js";
import type { TypedArray } from "../backend/backend.js";
import {
  type Tensor,
  fillInPlace,
  fromArray,
  logSoftmax,
  noGrad,
  select,
  tidy,
  topk,
} from "../tensor/index.js";

export interface DecodeOptions {
  /** Beam width k (default 1: greedy). */
  beam?: number;
  /** GNMT length penalty α (default 0.6, the paper's). */
  alpha?: number;
  /**
   * Most tokens before EOS, for every sentence. Default: the sentence's
   * source length + 50. Clipped to the model's positions (maxLen - 1).
   */
  maxLen?: number;
  /**
   * "beam" runs beam search even for beam 1 (with scores; it equals greedy);
   * default: greedy for beam 1, else beam search.
   */
  search?: "greedy" | "beam";
  /**
   * When beam search stops a sentence: "no-better" (default) once it holds k closed
   * hypotheses and its best live prefix, scored at its current length, does not beat
   * the k-th best; "k-closed" as soon as it holds k (fairseq's and the PyTorch peer's
   * rule, which the benchmarks use so that both sides do the same work).
   */
  beamStop?: "no-better" | "k-closed";
  /** Called once per step, after the forward pass and before the choice. */
  onStep?: (step: DecodeStep) => void;
  /**
   * Greedy only: EOS does not end a sentence, and every sentence decodes
   * exactly maxLen tokens (the benchmarks' fixed-length workloads).
   */
  fixedLength?: boolean;
  /** Runs each phase (encode, decode_step0(+cross_kv), decode_step, select); a profiler times them. */
  phase?: <T>(name: string, fn: () => T) => T;
}

/** What a step hook sees. Arrays are valid only during the call. */
export interface DecodeStep {
  /** Position of the tokens being chosen (0: the first after BOS). */
  step: number;
  /** Decoder rows in this step's batch (sentences still decoding × beam). */
  rows: number;
  vocab: number;
  /** Rows per sentence (1 for greedy). */
  beam: number;
  /** [rows, vocab] logits of the last position, row-major. */
  logits: Float32Array;
  /** [rows, vocab] log-softmax of the logits (beam search only). */
  logProbs: Float32Array | null;
  /** Index (into the call's sources) of each row's sentence. */
  sentence: Int32Array;
  /** Cumulative log P of each row's prefix (beam search only; -Infinity for dead beams). */
  scores: Float64Array | null;
  /** The tokens (after BOS) of a row's prefix. */
  prefix(row: number): number[];
  /** The hypotheses a sentence has closed so far (beam search: by when they closed). */
  ended(sentence: number): readonly Hypothesis[];
  state: EncoderDecoderState;
}

export interface Hypothesis {
  /** Tokens without BOS/EOS. */
  tokens: number[];
  /** log P(tokens, EOS); NaN for greedy, which computes no probabilities. */
  logProb: number;
  /** logProb / lp(|tokens| + 1); NaN for greedy. */
  score: number;
}

/**
 * Whether the best live prefix (log P `bestLive`, scored with its current length's
 * penalty `lp`) beats the k-th best closed hypothesis. Exact for α = 0 (log P only
 * falls as a prefix grows); with α > 0 the penalty grows too, so it is a heuristic
 * (as Hugging Face's default beam stop). With k = 1 it stops where greedy does.
 */
function canImprove(bestClosed: readonly number[], k: number, bestLive: number, lp: number) {
  return bestLive / lp > bestClosed[k - 1];
}

/** Inserts a closed hypothesis's score into a sentence's k best, kept sorted best first. */
function keepBest(best: number[], score: number, k: number): void {
  let i = best.length;
  if (i === k && !(score > best[k - 1])) return;
  if (i < k) best.push(score);
  else i = k - 1;
  while (i > 0 && best[i - 1] < score) {
    best[i] = best[i - 1];
    i--;
  }
  best[i] = score;
}

/** GNMT length penalty lp(Y) = (5 + |Y|)^α / (5 + 1)^α. */
export function lengthPenalty(length: number, alpha: number): number {
  return ((5 + length) / 6) ** alpha;
}

/**
 * Decodes a batch of source sentences (token ids without EOS; the loop adds
 * it). Returns, per sentence and in input order, its hypotheses best first:
 * greedy gives one, beam search every closed one by normalised score. Each
 * step's few chosen ids and scores are read synchronously: CPU backends.
 */
export function decodeBatch(
  model: Transformer,
  sources: readonly (readonly number[])[],
  opts: DecodeOptions = {},
): Hypothesis[][] {
  return driveSync(decodeRun(model, sources, opts));
}

/** `decodeBatch` with each step's reads awaited (`Tensor.read`): every backend, a GPU's too. */
export function decodeBatchAsync(
  model: Transformer,
  sources: readonly (readonly number[])[],
  opts: DecodeOptions = {},
): Promise<Hypothesis[][]> {
  return driveAsync(decodeRun(model, sources, opts));
}

/**
 * What a decode asks of its driver at each step: the tensors to read back (a few ids
 * and scores). The driver resumes it with their values; the loop itself never reads.
 */
type DecodeRun = Generator<Tensor[], Hypothesis[][], TypedArray[]>;

function driveSync<R>(run: Generator<Tensor[], R, TypedArray[]>): R {
  return noGrad(() => {
    let r = run.next();
    try {
      while (!r.done) {
        const values = r.value.map((t) => t.readSync());
        r = run.next(values);
      }
      return r.value;
    } finally {
      // A failed read: the loop's finally blocks free its caches.
      if (!r.done) run.return(undefined as R);
    }
  });
}

async function driveAsync<R>(run: Generator<Tensor[], R, TypedArray[]>): Promise<R> {
  // Each resumption runs synchronously to the next yield, so its scopes (tidy, noGrad) close before any await.
  let r = noGrad(() => run.next());
  try {
    while (!r.done) {
      const values = await Promise.all(r.value.map((t) => t.read()));
      r = noGrad(() => run.next(values));
    }
    return r.value;
  } finally {
    if (!r.done) noGrad(() => run.return(undefined as R));
  }
}

function* decodeRun(
  model: Transformer,
  sources: readonly (readonly number[])[],
  opts: DecodeOptions,
): DecodeRun {
  const k = opts.beam ?? 1;
  if (!Number.isInteger(k) || k < 1)
    throw new AttnError(`decode: beam must be a positive integer, got ${k}`);
  const alpha = opts.alpha ?? 0.6;
  if (!Number.isFinite(alpha))
    throw new AttnError(`decode: length penalty must be a number, got ${alpha}`);
  if (opts.maxLen !== undefined && !(Number.isInteger(opts.maxLen) && opts.maxLen >= 0))
    throw new AttnError(`decode: maxLen must be a non-negative integer, got ${opts.maxLen}`);
  if (opts.beamStop !== undefined && opts.beamStop !== "no-better" && opts.beamStop !== "k-closed")
    throw new AttnError(`decode: beamStop must be "no-better" or "k-closed", got ${opts.beamStop}`);
  if (opts.fixedLength && (k > 1 || opts.search === "beam"))
    throw new AttnError("decode: fixedLength is for greedy decoding only");
  if (opts.fixedLength && !(opts.maxLen !== undefined && opts.maxLen >= 1))
    throw new AttnError("decode: fixedLength needs maxLen of at least 1");
  const N = sources.length;
  if (N === 0) return [];
  const cfg = model.config;
  const positions = cfg.maxLen;
  const limits = new Int32Array(N);
  let S = 0;
  for (let s = 0; s < N; s++) {
    const n = sources[s].length;
    if (n + 1 > positions)
      throw new AttnError(
        `decode: source ${s} has ${n} tokens; with EOS the model's ${positions} positions allow ${positions - 1}`,
      );
    S = Math.max(S, n + 1);
    limits[s] = Math.min(opts.maxLen ?? n + 50, positions - 1);
  }
  let maxLimit = 0;
  for (let s = 0; s < N; s++) maxLimit = Math.max(maxLimit, limits[s]);
  // The source batch: ids, EOS, PAD (as the training batches).
  const src = new Int32Array(N * S).fill(cfg.padId);
  for (let s = 0; s < N; s++) {
    src.set(sources[s], s * S);
    src[s * S + sources[s].length] = cfg.eosId;
  }
  const phase = opts.phase ?? runPhase;
  const state = phase("encode", () =>
    tidy(() =>
      model.startDecoding(fromArray(src, [N, S], "int32"), {
        group: k,
        capacity: maxLimit + 1,
      }),
    ),
  );
  const loop = new Loop(model, state, limits, k, alpha, { ...opts, phase });
  try {
    return k === 1 && opts.search !== "beam" ? yield* loop.greedy() : yield* loop.beam();
  } finally {
    freeDecodingCaches(state);
  }
}

/**
 * Given the surviving rows (ascending) of a batch of `rows`, rewrites them in
 * place as parents for compaction: row i < kept keeps itself when it
 * survives, else takes a survivor from the end of the batch.
 */
function fillHoles(survivors: Int32Array, rows: number): void {
  const kept = survivors.length;
  const alive = new Uint8Array(rows);
  for (let i = 0; i < kept; i++) alive[survivors[i]] = 1;
  let tail = rows - 1;
  for (let i = 0; i < kept; i++) {
    if (alive[i]) {
      survivors[i] = i;
      continue;
    }
    while (!alive[tail]) tail--;
    survivors[i] = tail--;
  }
}

class Loop {
  readonly V: number;
  /** History of each row's tokens, [rows, maxSteps], and its double buffer. */
  hist: Int32Array;
  histNext: Int32Array;
  readonly T: number;

  constructor(
    readonly model: Transformer,
    readonly state: EncoderDecoderState,
    readonly limits: Int32Array,
    readonly k: number,
    readonly alpha: number,
    readonly opts: DecodeOptions & { phase: NonNullable<DecodeOptions["phase"]> },
  ) {
    this.V = model.config.vocabSize;
    this.T = Math.max(...limits) + 1;
    this.hist = new Int32Array(limits.length * k * this.T);
    this.histNext = new Int32Array(this.hist.length);
  }

  /**
   * One decoder forward for all rows; `select` turns the last position's logits into
   * the few tensors the step reads back, whose values this returns.
   */
  private *forward(
    tokens: Int32Array,
    rows: number,
    select: (logits: Tensor) => Tensor[],
  ): Generator<Tensor[], TypedArray[], TypedArray[]> {
    const { phase } = this.opts;
    const reads = tidy(() => {
      const ids = fromArray(tokens.subarray(0, rows), [rows, 1], "int32");
      // The first step also computes the cross-attention K/V of the memory.
      const name = this.state.length === 0 ? "decode_step0(+cross_kv)" : "decode_step";
      const logits = phase(name, () => this.model.decodeStep(this.state, ids, { lastOnly: true }));
      return phase("select", () => select(logits));
    });
    try {
      return yield reads;
    } finally {
      for (const t of reads) t.dispose();
    }
  }

  /** PAD and BOS set to -Infinity in a step's fresh scores (after the hook saw them): never chosen. */
  private neverChosen(scores: Tensor): Tensor {
    const { padId, bosId } = this.model.config;
    fillInPlace(select(scores, -1, padId), Number.NEGATIVE_INFINITY);
    fillInPlace(select(scores, -1, bosId), Number.NEGATIVE_INFINITY);
    return scores;
  }

  private hook(
    step: number,
    rows: number,
    logits: Tensor,
    logProbs: Tensor | null,
    sentence: Int32Array,
    scores: Float64Array | null,
    ended: readonly (readonly Hypothesis[] | undefined)[],
  ): void {
    const onStep = this.opts.onStep;
    if (!onStep) return;
    const T = this.T;
    const hist = this.hist;
    onStep({
      step,
      rows,
      vocab: this.V,
      beam: this.k,
      logits: readFloats(logits),
      logProbs: logProbs ? readFloats(logProbs) : null,
      sentence: sentence.subarray(0, rows),
      scores: scores ? scores.subarray(0, rows) : null,
      prefix: (r) => Array.from(hist.subarray(r * T, r * T + step)),
      ended: (j) => ended[j] ?? [],
      state: this.state,
    });
  }

  *greedy(): Generator<Tensor[], Hypothesis[][], TypedArray[]> {
    const { T, limits } = this;
    const { bosId, eosId } = this.model.config;
    const N = limits.length;
    const out: Hypothesis[][] = new Array(N);
    const sentence = Int32Array.from({ length: N }, (_, i) => i);
    const tokens = new Int32Array(N).fill(bosId);
    const keepRows = new Int32Array(N);
    const fixed = this.opts.fixedLength === true;
    const finish = (s: number, r: number, length: number) => {
      out[s] = [
        {
          tokens: Array.from(this.hist.subarray(r * T, r * T + length)),
          logProb: Number.NaN,
          score: Number.NaN,
        },
      ];
    };
    let rows = N;
    for (let step = 0; rows > 0; step++) {
      let kept = 0;
      // The choice is made on the backend: only the rows' ids are read back.
      const [chosen] = yield* this.forward(tokens, rows, (logits) => {
        this.hook(step, rows, logits, null, sentence, null, out);
        return [topk(this.neverChosen(logits), 1).indices];
      });
      for (let r = 0; r < rows; r++) {
        const s = sentence[r];
        // At the length limit only EOS; a row of NaN (a broken model) also ends (-1).
        const best = step >= limits[s] && !fixed ? -1 : chosen[r];
        const next = best < 0 ? eosId : best;
        if (next === eosId && !fixed) {
          finish(s, r, step);
          continue;
        }
        this.hist[r * T + step] = next;
        if (fixed && step + 1 >= limits[s]) {
          finish(s, r, step + 1);
          continue;
        }
        tokens[r] = next;
        keepRows[kept++] = r;
      }
      if (kept < rows && kept > 0) {
        // Finished sentences leave the batch: survivors from the end of the
        // batch fill their rows, so a step copies only as many cache rows as
        // sentences finished (row order does not matter to greedy).
        const parents = keepRows.subarray(0, kept);
        fillHoles(parents, rows);
        for (let i = 0; i < kept; i++) {
          const r = parents[i];
          if (r === i) continue;
          sentence[i] = sentence[r];
          tokens[i] = tokens[r];
          this.hist.copyWithin(i * T, r * T, r * T + step + 1);
        }
        tidy(() => this.model.selectRows(this.state, parents, parents));
      }
      rows = kept;
    }
    return out;
  }

  *beam(): Generator<Tensor[], Hypothesis[][], TypedArray[]> {
    const { T, k, limits, alpha } = this;
    const { bosId, eosId } = this.model.config;
    const patient = this.opts.beamStop !== "k-closed";
    const N = limits.length;
    const finished: Hypothesis[][] = Array.from({ length: N }, () => []);
    // The k best closed scores of each sentence, best first (the stop test's k-th best).
    const bestClosed: number[][] = Array.from({ length: N }, () => []);
    let n = N; // sentences still decoding
    const sentOf = Int32Array.from({ length: N }, (_, i) => i);
    const rowSentence = new Int32Array(N * k);
    for (let r = 0; r < N * k; r++) rowSentence[r] = Math.floor(r / k);
    let scores = new Float64Array(N * k).fill(Number.NEGATIVE_INFINITY);
    let nextScores = new Float64Array(N * k);
    for (let j = 0; j < N; j++) scores[j * k] = 0;
    const tokens = new Int32Array(N * k).fill(bosId);
    const parents = new Int32Array(N * k);
    const keepSent = new Int32Array(N);
    // The top 2k expansions of one sentence, best first.
    const K2 = 2 * k;
    // Words read per row (a vocabulary smaller than 2k has fewer).
    const KW = Math.min(K2, this.V);
    const topS = new Float64Array(K2);
    const topR = new Int32Array(K2);
    const topW = new Int32Array(K2);
    const slot = {
      p: new Int32Array(k),
      t: new Int32Array(k),
      s: new Float64Array(k),
      used: new Uint8Array(k),
    };
    for (let step = 0; n > 0; step++) {
      const rows = n * k;
      let newRows = 0;
      let keptSent = 0;
      let forcedAny = false;
      for (let j = 0; j < n; j++) forcedAny ||= step >= limits[sentOf[j]];
      // Each row's 2k best words on the backend (PAD and BOS excluded): a sentence's 2k
      // best expansions are among its rows' (at most 2k - 1 beat any one of them).
      // Only these, and log p(EOS) for rows at their length limit, are read back.
      const read = yield* this.forward(tokens, rows, (logits) => {
        const logp = logSoftmax(logits);
        this.hook(step, rows, logits, logp, rowSentence, scores, finished);
        const best = topk(this.neverChosen(logp), KW);
        return forcedAny
          ? [best.values, best.indices, select(logp, -1, eosId)]
          : [best.values, best.indices];
      });
      const topLp = read[0] as Float32Array;
      const topWord = read[1] as Int32Array;
      const eosLp = forcedAny ? (read[2] as Float32Array) : null;
      for (let j = 0; j < n; j++) {
        const s = sentOf[j];
        const forced = step >= limits[s];
        let filled = 0;
        for (let q = 0; q < k; q++) {
          const r = j * k + q;
          const sc = scores[r];
          if (sc === Number.NEGATIVE_INFINITY) continue;
          // At the length limit only EOS; else the row's best words, best first.
          const count = forced ? 1 : KW;
          for (let e = 0; e < count; e++) {
            const w = forced ? eosId : topWord[r * KW + e];
            if (w < 0) break; // fewer than 2k words above -Infinity
            const c = sc + (forced ? eosLp![r] : topLp[r * KW + e]);
            // The row's later words score no higher.
            if (filled === K2 ? !(c > topS[K2 - 1]) : !(c > Number.NEGATIVE_INFINITY)) break;
            // Insert after equal scores: earlier (row, word) wins ties.
            let i = filled < K2 ? filled++ : K2 - 1;
            while (i > 0 && topS[i - 1] < c) {
              topS[i] = topS[i - 1];
              topR[i] = topR[i - 1];
              topW[i] = topW[i - 1];
              i--;
            }
            topS[i] = c;
            topR[i] = r;
            topW[i] = w;
          }
        }
        const fin = finished[s];
        const best = bestClosed[s];
        const first = newRows;
        for (let i = 0; i < filled; i++) {
          const r = topR[i];
          if (topW[i] === eosId) {
            if (i < k) {
              const score = topS[i] / lengthPenalty(step + 1, alpha);
              fin.push({
                tokens: Array.from(this.hist.subarray(r * T, r * T + step)),
                logProb: topS[i],
                score,
              });
              keepBest(best, score, k);
            }
          } else if (newRows - first < k) {
            parents[newRows] = r;
            tokens[newRows] = topW[i];
            nextScores[newRows++] = topS[i];
          }
        }
        if (
          newRows === first ||
          (fin.length >= k &&
            (!patient || !canImprove(best, k, nextScores[first], lengthPenalty(step + 1, alpha))))
        ) {
          newRows = first; // the sentence is done: its rows leave
          continue;
        }
        placeInParentSlots(parents, tokens, nextScores, first, newRows - first, j * k, k, slot);
        newRows = first + k;
        keepSent[keptSent++] = j;
      }
      if (keptSent === 0) break;
      // Each new row continues its parent's history and cache.
      for (let i = 0; i < newRows; i++) {
        const p = parents[i];
        this.histNext.set(this.hist.subarray(p * T, p * T + step), i * T);
        this.histNext[i * T + step] = tokens[i];
      }
      [this.hist, this.histNext] = [this.histNext, this.hist];
      [scores, nextScores] = [nextScores, scores];
      for (let j = 0; j < keptSent; j++) sentOf[j] = sentOf[keepSent[j]];
      for (let r = 0; r < newRows; r++) rowSentence[r] = sentOf[Math.floor(r / k)];
      tidy(() =>
        this.model.selectRows(
          this.state,
          parents.subarray(0, newRows),
          keptSent < n ? keepSent.subarray(0, keptSent) : undefined,
        ),
      );
      n = keptSent;
    }
    // Best first by normalised score; a stable sort keeps the earlier on ties.
    return finished.map((f) => f.sort((a, b) => b.score - a.score));
  }
}

/**
 * Orders a sentence's k new rows (`live` of them expanded, from `first`) so
 * that a row continuing old row oldFirst + q sits in slot q where it can:
 * that row of the KV cache then stays where it is instead of being copied.
 * Fewer than k live expansions leave dead beams (score -Infinity, never
 * expanded) in the free slots; they keep the slot's old row. The order of a
 * sentence's rows changes no result except the pick among exactly equal
 * scores, and it is the same whatever else shares the batch.
 */
function placeInParentSlots(
  parents: Int32Array,
  tokens: Int32Array,
  scores: Float64Array,
  first: number,
  live: number,
  oldFirst: number,
  k: number,
  slot: { p: Int32Array; t: Int32Array; s: Float64Array; used: Uint8Array },
): void {
  const { p, t, s, used } = slot;
  used.fill(0);
  const placed = new Uint8Array(live);
  for (let i = 0; i < live; i++) {
    const q = parents[first + i] - oldFirst;
    if (!used[q]) {
      used[q] = 1;
      placed[i] = 1;
      p[q] = parents[first + i];
      t[q] = tokens[first + i];
      s[q] = scores[first + i];
    }
  }
  let q = 0;
  for (let i = 0; i < live; i++) {
    if (placed[i]) continue;
    while (used[q]) q++;
    used[q] = 1;
    p[q] = parents[first + i];
    t[q] = tokens[first + i];
    s[q] = scores[first + i];
  }
  for (q = 0; q < k; q++) {
    if (!used[q]) {
      p[q] = oldFirst + q;
      t[q] = tokens[first];
      s[q] = Number.NEGATIVE_INFINITY;
    }
  }
  parents.set(p, first);
  tokens.set(t, first);
  scores.set(s, first);
}

const runPhase = <T>(_name: string, fn: () => T): T => fn();

/**
 * A tensor's values, without a copy for a contiguous one (valid until the step's tidy
 * ends): the few ids and scores a step's choice reads, or the whole logits for a hook.
 */
function readFloats(t: Tensor): Float32Array {
  return t.readSync({ view: true }) as Float32Array;
}
