/**
 * Decoding for the explorer: the library's decode loop (src/generate's
 * decodeBatch, the one `attn translate` runs) on one sentence, with its step
 * hook recording what each step saw: the five most likely tokens, the last
 * layer's cross-attention, and for beam search the beams after each step.
 */
import {
  attentionTap,
  decodeBatch,
  logSoftmaxRow,
  withTapHook,
  type DecodeStep,
  type Hypothesis,
  type Recorded,
  type Transformer,
} from "../../../src/browser.js";
import type { Beam, DecodeStepInfo } from "../protocol.js";

/** The k most likely tokens of a row of log-probabilities. */
export function topK(logp: ArrayLike<number>, k: number): { id: number; p: number }[] {
  const ids = Array.from({ length: logp.length }, (_, i) => i).sort((a, b) => logp[b] - logp[a]);
  return ids.slice(0, k).map((id) => ({ id, p: Math.exp(logp[id]) }));
}

/** Runs fn; `latest()` inside it is a copy of the last tensor tapped as `name`. */
export function watchTap<T>(name: string, fn: (latest: () => Recorded) => T): T {
  let last: Recorded | null = null;
  return withTapHook(
    (n, t) => {
      if (n === name) last = { shape: t.shape.slice(), values: t.readSync() };
      return undefined;
    },
    () =>
      fn(() => {
        if (!last) throw new Error(`the model recorded no "${name}"`);
        return last;
      }),
  );
}

/** The source without its EOS (the decode loop appends it). */
function withoutEos(srcIds: number[], eosId: number): number[] {
  return srcIds[srcIds.length - 1] === eosId ? srcIds.slice(0, -1) : srcIds;
}

/**
 * Greedy decoding of at most maxSteps tokens, with the top-5 and the last
 * layer's cross-attention of every step (the step that chose EOS included).
 */
export function greedyDecode(
  model: Transformer,
  srcIds: number[],
  maxSteps: number,
): { ids: number[]; steps: DecodeStepInfo[] } {
  const crossName = attentionTap("cross", model.config.decoderLayers - 1, "weights");
  const steps: DecodeStepInfo[] = [];
  const result = watchTap(crossName, (cross) =>
    decodeBatch(model, [withoutEos(srcIds, model.config.eosId)], {
      maxLen: maxSteps,
      onStep: (s: DecodeStep) => {
        // The forced EOS after maxSteps tokens is not a choice: not shown.
        if (s.step >= maxSteps) return;
        const w = cross();
        steps.push({
          token: -1, // set below, once chosen
          top: topK(logSoftmaxRow(s.logits, 0, s.vocab), 5),
          cross: { shape: [w.shape[1], w.shape[3]], values: Float32Array.from(w.values) },
        });
      },
    }),
  );
  const ids = result[0][0].tokens;
  steps.forEach((st, t) => {
    st.token = t < ids.length ? ids[t] : model.config.eosId;
  });
  return { ids, steps };
}

/**
 * Beam search as `attn translate --beam k` runs it (GNMT length penalty α):
 * the beams after every step, live ones by log-probability and the ended ones
 * (done) with their normalised score.
 */
export function beamSearch(
  model: Transformer,
  srcIds: number[],
  beamSize: number,
  maxSteps: number,
  alpha = 0.6,
): Beam[][] {
  const history: Beam[][] = [];
  const hyps = decodeBatch(model, [withoutEos(srcIds, model.config.eosId)], {
    beam: beamSize,
    alpha,
    maxLen: maxSteps,
    onStep: (s: DecodeStep) => {
      if (s.step === 0) return; // nothing chosen yet
      const live: Beam[] = [];
      for (let r = 0; r < s.rows; r++) {
        const logp = s.scores![r];
        if (logp > Number.NEGATIVE_INFINITY) live.push({ ids: s.prefix(r), logp, done: false });
      }
      live.sort((a, b) => b.logp - a.logp);
      const ended = s.ended(0).map(endedBeam);
      history.push([...live, ...ended.sort((a, b) => b.score! - a.score!)]);
    },
  })[0];
  // After the last step: every hypothesis has ended.
  history.push(hyps.map(endedBeam));
  return history;
}

const endedBeam = (h: Hypothesis): Beam => ({
  ids: h.tokens,
  logp: h.logProb,
  score: h.score,
  done: true,
});
