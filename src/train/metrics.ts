/**
 * Evaluation metrics: corpus BLEU (sacreBLEU-compatible), exact match, token
 * accuracy, perplexity. Pure, no I/O.
 *
 * BLEU follows Papineni et al. (2002) with sacreBLEU's defaults (Post, 2018,
 * "A Call for Clarity in Reporting BLEU Scores"; sacreBLEU 2.x):
 * 13a tokenization (the rules of WMT's mteval-v13a.pl), mixed case, n = 1..4,
 * corpus-level clipped counts, brevity penalty against the closest reference
 * length (ties go to the shorter one), smoothing "exp". docs/bleu.md has the
 * details and the hand-worked checks.
 */
import { AttnError } from "../errors.js";

// ---------------------------------------------------------------------------
// 13a tokenization

// Python's str.split()/strip() whitespace (sacreBLEU splits with them): ASCII
// \t\n\v\f\r, \x1c-\x1f, space, U+0085, U+00A0, U+1680, U+2000-U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000.
const PY_WS =
  "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_WS_RUN = new RegExp(`[${PY_WS}]+`, "g");
const PY_WS_TRAILING = new RegExp(`[${PY_WS}]+$`);

// The language-dependent rules of mteval-v13a.pl, applied in this order:
// 1. pad every char in {|}~ [\]^_` space!"#$%& ()*+ :;<=>?@ / with spaces
//    (Perl: s/([\{-\~\[-\` -\&\(-\+\:-\@\/])/ $1 /g). Note what the ranges leave
//    out: the apostrophe ' (0x27), the hyphen - (0x2D), . and , and digits/letters.
const PUNCT = /([{-~[-` -&(-+:-@/])/g;
// 2. period and comma unless preceded by a digit: s/([^0-9])([\.,])/$1 $2 /g
const PERIOD_COMMA_AFTER_NON_DIGIT = /([^0-9])([.,])/g;
// 3. period and comma unless followed by a digit: s/([\.,])([^0-9])/ $1 $2/g
const PERIOD_COMMA_BEFORE_NON_DIGIT = /([.,])([^0-9])/g;
// 4. dash when preceded by a digit: s/([0-9])(-)/$1 $2 /g
const DASH_AFTER_DIGIT = /([0-9])(-)/g;

/**
 * The 13a tokenization of one segment, as sacreBLEU's Tokenizer13a: remove
 * "<skipped>", join "-\n" hyphenations, newline -> space, unescape &quot;
 * &amp; &lt; &gt;, then the four mteval-v13a regexes on " " + line + " ",
 * then collapse whitespace. (JS and Python global regex replacement both scan
 * left to right without overlap, so the results agree.)
 */
export function tokenize13a(line: string): string {
  line = line
    .replaceAll("<skipped>", "")
    .replaceAll("-\n", "")
    .replaceAll("\n", " ")
    .replaceAll("&quot;", '"')
    .replaceAll("&amp;", "&")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">");
  line = ` ${line} `;
  line = line.replace(PUNCT, " $1 ");
  line = line.replace(PERIOD_COMMA_AFTER_NON_DIGIT, "$1 $2 ");
  line = line.replace(PERIOD_COMMA_BEFORE_NON_DIGIT, " $1 $2");
  line = line.replace(DASH_AFTER_DIGIT, "$1 $2 ");
  return splitPy(line).join(" ");
}

function splitPy(s: string): string[] {
  return s.split(PY_WS_RUN).filter((t) => t !== "");
}

// ---------------------------------------------------------------------------
// BLEU

export type SmoothMethod = "exp" | "none" | "floor" | "add-k";

export interface BleuOptions {
  /** Lowercase hypotheses and references first (default false). */
  lowercase?: boolean;
  /** "13a" (default) or "none" (split on whitespace only: text already tokenized). */
  tokenize?: "13a" | "none";
  /** Default "exp", sacreBLEU's default; see docs/bleu.md. */
  smoothMethod?: SmoothMethod;
  /** For "floor" (default 0.1) and "add-k" (default 1). */
  smoothValue?: number;
  /** Highest n-gram order (default 4). */
  maxNgramOrder?: number;
  /** Average only over the orders the hypotheses have n-grams of (default false; true for sentence BLEU). */
  effectiveOrder?: boolean;
}

export interface BleuResult {
  /** 0..100. */
  score: number;
  /** Per-order (smoothed) precisions in percent, 0..100. */
  precisions: number[];
  /** Brevity penalty, 0..1. */
  bp: number;
  /** Hypothesis tokens in the whole corpus. */
  sysLen: number;
  /** Sum over segments of the reference length closest to the hypothesis length. */
  refLen: number;
  /** Clipped matching n-grams per order. */
  counts: number[];
  /** Hypothesis n-grams per order. */
  totals: number[];
}

const SMOOTH_DEFAULTS: Record<SmoothMethod, number> = { exp: 0, none: 0, floor: 0.1, "add-k": 1 };

/**
 * Corpus BLEU. `references[i]` is the reference for hypotheses[i], or an array
 * of references for it (multi-reference BLEU; the count may vary by segment).
 * Note this is per segment, unlike sacreBLEU's API, which takes reference
 * *streams* (refs[k][i]).
 */
export function corpusBleu(
  hypotheses: readonly string[],
  references: readonly (string | readonly string[])[],
  opts: BleuOptions = {},
): BleuResult {
  if (hypotheses.length !== references.length) {
    throw new AttnError(
      `corpusBleu: ${hypotheses.length} hypotheses but ${references.length} references`,
    );
  }
  const maxN = opts.maxNgramOrder ?? 4;
  if (!Number.isInteger(maxN) || maxN < 1) {
    throw new AttnError(`corpusBleu: maxNgramOrder must be a positive integer, got ${maxN}`);
  }
  const prep = (s: string): string[] => {
    if (opts.lowercase) s = s.toLowerCase();
    s = s.replace(PY_WS_TRAILING, ""); // sacreBLEU rstrip()s each segment
    return opts.tokenize === "none" ? splitPy(s) : splitPy(tokenize13a(s));
  };
  const counts = new Array<number>(maxN).fill(0);
  const totals = new Array<number>(maxN).fill(0);
  let sysLen = 0;
  let refLen = 0;
  for (let i = 0; i < hypotheses.length; i++) {
    const r = references[i];
    const refs = typeof r === "string" ? [r] : r;
    if (refs.length === 0) throw new AttnError(`corpusBleu: segment ${i} has no reference`);
    // Max count of each n-gram over the references (the clipping ceiling).
    const refMax: Map<string, number>[] = [];
    for (let n = 0; n < maxN; n++) refMax.push(new Map());
    const refLens: number[] = [];
    for (const ref of refs) {
      const toks = prep(ref);
      refLens.push(toks.length);
      ngramCounts(toks, maxN).forEach((m, n) => {
        for (const [g, c] of m) if (c > (refMax[n].get(g) ?? 0)) refMax[n].set(g, c);
      });
    }
    const hyp = prep(hypotheses[i]);
    sysLen += hyp.length;
    refLen += closestRefLen(hyp.length, refLens);
    ngramCounts(hyp, maxN).forEach((m, n) => {
      for (const [g, c] of m) {
        totals[n] += c;
        const r = refMax[n].get(g);
        if (r !== undefined) counts[n] += Math.min(c, r);
      }
    });
  }
  return computeBleu(counts, totals, sysLen, refLen, opts);
}

/**
 * Sentence BLEU with sacreBLEU's sentence_bleu defaults (exp smoothing,
 * effective order on).
 */
export function sentenceBleu(
  hypothesis: string,
  references: string | readonly string[],
  opts: BleuOptions = {},
): BleuResult {
  return corpusBleu([hypothesis], [references], { effectiveOrder: true, ...opts });
}

/**
 * BLEU from its sufficient statistics, as sacreBLEU's BLEU.compute_bleu:
 * - bp = 1 if sysLen >= refLen, else exp(1 - refLen/sysLen) (0 if sysLen = 0);
 * - if no n-gram of any order matched, the score is 0;
 * - orders are visited n = 1..N; an order with no hypothesis n-grams ends the
 *   loop (its precision, and those after it, stay 0);
 * - a zero match count gets precision 100 / (2^k · total) under "exp", where
 *   k counts the zero-count orders so far (mteval-v13a's NIST smoothing),
 *   100 · smoothValue / total under "floor", and stays 0 under "none";
 *   "add-k" adds smoothValue to count and total for n >= 2;
 * - score = bp · exp(mean over the first N (or effective) orders of ln p_n),
 *   where ln 0 is taken as -9999999999 (so the score is 0 in practice).
 */
export function computeBleu(
  counts: readonly number[],
  totals: readonly number[],
  sysLen: number,
  refLen: number,
  opts: BleuOptions = {},
): BleuResult {
  const maxN = counts.length;
  const method = opts.smoothMethod ?? "exp";
  if (!(method in SMOOTH_DEFAULTS)) {
    throw new AttnError(
      `BLEU: unknown smoothing method "${method}"; use exp, none, floor or add-k`,
    );
  }
  const value = opts.smoothValue ?? SMOOTH_DEFAULTS[method];
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1;
  const precisions = new Array<number>(maxN).fill(0);
  const outCounts = [...counts];
  const outTotals = [...totals];
  const base = { bp, sysLen, refLen, counts: outCounts, totals: outTotals };
  if (!counts.some((c) => c > 0)) return { score: 0, precisions, ...base };

  let smoothMteval = 1;
  let effOrder = maxN;
  const correct = [...counts];
  const total = [...totals];
  for (let n = 1; n <= maxN; n++) {
    if (method === "add-k" && n > 1) {
      correct[n - 1] += value;
      total[n - 1] += value;
    }
    if (total[n - 1] === 0) break;
    if (opts.effectiveOrder) effOrder = n;
    if (correct[n - 1] === 0) {
      if (method === "exp") {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total[n - 1]);
      } else if (method === "floor") {
        precisions[n - 1] = (100 * value) / total[n - 1];
      }
    } else {
      precisions[n - 1] = (100 * correct[n - 1]) / total[n - 1];
    }
  }
  let logSum = 0;
  for (let n = 0; n < effOrder; n++) {
    logSum += precisions[n] === 0 ? -9999999999 : Math.log(precisions[n]);
  }
  const score = bp * Math.exp(logSum / effOrder);
  return { score, precisions, ...base };
}

/** sacreBLEU's one-line summary, e.g. "BLEU = 39.76 100.0/60.0/25.0/16.7 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)". */
export function formatBleu(r: BleuResult): string {
  const ratio = r.refLen ? r.sysLen / r.refLen : 0;
  return (
    `BLEU = ${r.score.toFixed(2)} ${r.precisions.map((p) => p.toFixed(1)).join("/")} ` +
    `(BP = ${r.bp.toFixed(3)} ratio = ${ratio.toFixed(3)} hyp_len = ${r.sysLen} ref_len = ${r.refLen})`
  );
}

/** The reference length closest to hypLen; ties go to the shorter (sacreBLEU's rule). */
export function closestRefLen(hypLen: number, refLens: readonly number[]): number {
  let best = -1;
  let bestDiff = -1;
  for (const len of refLens) {
    const diff = Math.abs(hypLen - len);
    if (bestDiff === -1 || diff < bestDiff || (diff === bestDiff && len < best)) {
      bestDiff = diff;
      best = len;
    }
  }
  return best;
}

/**
 * Counts of the n-grams of each order (index n-1). Keys are the tokens joined
 * by a space, which no token contains (tokens are split on whitespace).
 */
function ngramCounts(tokens: readonly string[], maxN: number): Map<string, number>[] {
  const out: Map<string, number>[] = [];
  for (let n = 1; n <= maxN; n++) {
    const m = new Map<string, number>();
    for (let i = 0; i + n <= tokens.length; i++) {
      const g = n === 1 ? tokens[i] : tokens.slice(i, i + n).join(" ");
      m.set(g, (m.get(g) ?? 0) + 1);
    }
    out.push(m);
  }
  return out;
}

// ---------------------------------------------------------------------------
// other metrics

/** Fraction (0..1) of hypotheses exactly equal to their reference string. */
export function exactMatch(hyps: readonly string[], refs: readonly string[]): number {
  if (hyps.length !== refs.length) {
    throw new AttnError(`exactMatch: ${hyps.length} hypotheses but ${refs.length} references`);
  }
  if (hyps.length === 0) return 0;
  let k = 0;
  for (let i = 0; i < hyps.length; i++) if (hyps[i] === refs[i]) k++;
  return k / hyps.length;
}

/** Correct predictions and counted positions (target !== padId), for summing over batches. */
export function tokenAccuracyCounts(
  predIds: ArrayLike<number>,
  targetIds: ArrayLike<number>,
  padId = 0,
): { correct: number; total: number } {
  if (predIds.length !== targetIds.length) {
    throw new AttnError(
      `tokenAccuracy: ${predIds.length} predictions but ${targetIds.length} targets`,
    );
  }
  let correct = 0;
  let total = 0;
  for (let i = 0; i < targetIds.length; i++) {
    if (targetIds[i] === padId) continue;
    total++;
    if (predIds[i] === targetIds[i]) correct++;
  }
  return { correct, total };
}

/** Fraction (0..1) of non-pad target positions predicted right; 0 when there are none. */
export function tokenAccuracy(
  predIds: ArrayLike<number>,
  targetIds: ArrayLike<number>,
  padId = 0,
): number {
  const { correct, total } = tokenAccuracyCounts(predIds, targetIds, padId);
  return total === 0 ? 0 : correct / total;
}

/** exp(mean negative log-likelihood per token, in nats). */
export function perplexity(meanNll: number): number {
  return Math.exp(meanNll);
}

// ---------------------------------------------------------------------------
// chrF (Popović 2015), with sacreBLEU's chrF2 defaults: character n-grams of
// orders 1..6, no word n-grams, β = 2, whitespace removed. Statistics are
// summed over the corpus; the score is the F_β of the precision and recall
// averaged over the orders that have n-grams on both sides.

export function corpusChrf(
  hypotheses: readonly string[],
  references: readonly string[],
  opts: { order?: number; beta?: number } = {},
): { score: number } {
  if (hypotheses.length !== references.length) {
    throw new AttnError(
      `corpusChrf: ${hypotheses.length} hypotheses but ${references.length} references`,
    );
  }
  const order = opts.order ?? 6;
  const beta = opts.beta ?? 2;
  const hyp = new Array<number>(order).fill(0);
  const ref = new Array<number>(order).fill(0);
  const match = new Array<number>(order).fill(0);
  for (let i = 0; i < hypotheses.length; i++) {
    // Characters are code points, as Python's str.
    const h = [...splitPy(hypotheses[i]).join("")];
    const r = [...splitPy(references[i]).join("")];
    for (let n = 1; n <= order; n++) {
      const hg = ngramsOf(h, n);
      const rg = ngramsOf(r, n);
      for (const c of hg.values()) hyp[n - 1] += c;
      for (const c of rg.values()) ref[n - 1] += c;
      for (const [g, c] of hg) match[n - 1] += Math.min(c, rg.get(g) ?? 0);
    }
  }
  let p = 0;
  let rc = 0;
  let eff = 0;
  for (let n = 0; n < order; n++) {
    if (hyp[n] > 0 && ref[n] > 0) {
      p += match[n] / hyp[n];
      rc += match[n] / ref[n];
      eff++;
    }
  }
  if (eff === 0) return { score: 0 };
  p /= eff;
  rc /= eff;
  const b2 = beta * beta;
  if (p + rc === 0) return { score: 0 };
  return { score: (100 * ((1 + b2) * p * rc)) / (b2 * p + rc) };
}

function ngramsOf(chars: string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= chars.length; i++) {
    const g = chars.slice(i, i + n).join("");
    m.set(g, (m.get(g) ?? 0) + 1);
  }
  return m;
}
