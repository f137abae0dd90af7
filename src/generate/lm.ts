/** Text generation with the GPT: greedy or sampled, streamed token by token, with or without the KV cache. */
import { AttnError } from "../errors.js";
import { type GPT, freeGPTCaches } from "../models/gpt.js";
import { Mulberry32, type Tensor, fromArray, noGrad, tidy, topk } from "../tensor/index.js";
import { type SamplingOptions, checkSampling, sampleToken } from "./select.js";

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Seed of the sampler (same seed, same text). */
  seed?: number;
  /** Generation ends after any of these ids (it is not yielded). */
  stop?: number[];
  cache?: boolean;
  /** Sees each step's logits before the choice (the array is valid only during the call). */
  onLogits?: (step: number, logits: Float32Array) => void;
  /** Runs each phase (prefill, decode_token or full_forward, select); a profiler times them. */
  phase?: <T>(name: string, fn: () => T) => T;
}

const runPhase = <T>(_name: string, fn: () => T): T => fn();

/**
 * Greedy choice on the backend: each row's argmax (the first on ties; 0 for a row with
 * nothing above -Infinity, as `argmax`), so only the ids are read back, not the logits.
 */
function greedyIds(logits: Tensor): Int32Array {
  const ids = topk(logits, 1).indices.readSync() as Int32Array;
  for (let i = 0; i < ids.length; i++) if (ids[i] < 0) ids[i] = 0;
  return ids;
}
/**
 * Yields new token ids one at a time as they are chosen (for streaming output).
 * Longer than the context: once the text fills the model's maxLen positions, each
 * step reads only the last maxLen tokens (a sliding window, full forward without
 * the cache), so a generation may be any length.
 */
export function* generateTokens(
  model: GPT,
  prompt: number[],
  opts: GenerateOptions,
): Generator<number> {
  checkSampling(opts);
  if (prompt.length === 0) throw new AttnError("generate: the prompt must have at least one token");
  const { vocabSize: V, maxLen } = model.config;
  const rng = new Mulberry32(opts.seed ?? 0);
  const stop = new Set(opts.stop ?? []);
  let state = opts.cache !== false ? model.startDecoding() : null;
  const greedy = (opts.temperature ?? 1) === 0;
  const seq = prompt.slice();
  const phase = opts.phase ?? runPhase;
  try {
    for (let step = 0; step < opts.maxNewTokens; step++) {
      const window = seq.length > maxLen;
      if (window && state) {
        // The cache holds positions 0..maxLen-1; past them the window moves every step.
        freeGPTCaches(state);
        state = null;
      }
      const name = window
        ? "window_forward"
        : step === 0
          ? "prefill"
          : state
            ? "decode_token"
            : "full_forward";
      const next = noGrad(() =>
        tidy(() => {
          const input = window
            ? seq.slice(seq.length - maxLen)
            : state && step > 0
              ? [seq[seq.length - 1]]
              : seq;
          const ids = fromArray(input, [1, input.length], "int32");
          const out = phase(name, () =>
            model.forward(ids, { state: state ?? undefined, lastOnly: true }),
          );
          if (greedy && !opts.onLogits) return phase("select", () => greedyIds(out)[0]);
          // The [1, 1, V] logits, read in place (valid until tidy ends).
          const logits = out.readSync({ view: true }) as Float32Array;
          opts.onLogits?.(step, logits);
          return phase("select", () => sampleToken(logits, opts, rng, 0, V));
        }),
      );
      if (stop.has(next)) return;
      seq.push(next);
      yield next;
    }
  } finally {
    if (state) freeGPTCaches(state);
  }
}

/**
 * The positions a run feeds: the prompt and every new token but the last
 * (the last is chosen, never fed), so prompt + new tokens may be context + 1.
 */
function checkContext(model: GPT, promptLength: number, maxNewTokens: number): void {
  const { maxLen } = model.config;
  const fed = promptLength + Math.max(0, maxNewTokens - 1);
  if (fed > maxLen && model.config.positional === "learned") {
    throw new AttnError(
      `generate: prompt (${promptLength}) + new tokens (${maxNewTokens}) feed ${fed} positions, more than the context of ${maxLen}`,
    );
  }
}

/** All new tokens at once. */
export function generate(model: GPT, prompt: number[], opts: GenerateOptions): number[] {
  return [...generateTokens(model, prompt, opts)];
}

/**
 * Several prompts at once: prompts of one length share a batch, with one
 * forward per step for all of them (KV cache unless `cache: false`). Each
 * prompt samples from its own generator seeded with `seed`, so each output is
 * what `generate` gives for that prompt alone (greedy: the same ids up to
 * float32 rounding of the batched products). A prompt's generation ends at a
 * stop id or after maxNewTokens; its row keeps its place until the batch ends.
 */
export function generateBatch(
  model: GPT,
  prompts: readonly number[][],
  opts: GenerateOptions,
): number[][] {
  checkSampling(opts);
  const V = model.config.vocabSize;
  const stop = new Set(opts.stop ?? []);
  const out: number[][] = prompts.map(() => []);
  const byLength = new Map<number, number[]>();
  prompts.forEach((p, i) => {
    if (p.length === 0)
      throw new AttnError(`generate: prompt ${i} is empty (each needs at least one token)`);
    checkContext(model, p.length, opts.maxNewTokens);
    byLength.set(p.length, [...(byLength.get(p.length) ?? []), i]);
  });
  const phase = opts.phase ?? runPhase;
  const greedy = (opts.temperature ?? 1) === 0;
  for (const [P, rows] of byLength) {
    const B = rows.length;
    const rngs = rows.map(() => new Mulberry32(opts.seed ?? 0));
    const done = new Array<boolean>(B).fill(false);
    const seqs = rows.map((i) => prompts[i].slice());
    const state = opts.cache !== false ? model.startDecoding() : null;
    try {
      for (let step = 0; step < opts.maxNewTokens && done.includes(false); step++) {
        const T = state && step > 0 ? 1 : P + step;
        const flat = seqs.flatMap((q) => q.slice(q.length - T));
        const name = step === 0 ? "prefill" : state ? "decode_token" : "full_forward";
        const next = noGrad(() =>
          tidy(() => {
            const ids = fromArray(flat, [B, T], "int32");
            const out = phase(name, () =>
              model.forward(ids, { state: state ?? undefined, lastOnly: true }),
            );
            if (greedy) return phase("select", () => Array.from(greedyIds(out)));
            const logits = out.readSync({ view: true });
            return phase("select", () =>
              rows.map((_, b) => sampleToken(logits, opts, rngs[b], b * V, V)),
            );
          }),
        );
        next.forEach((id, b) => {
          // A finished row still feeds a token (its last) so the batch keeps its shape.
          seqs[b].push(done[b] ? seqs[b][seqs[b].length - 1] : id);
          if (done[b]) return;
          if (stop.has(id)) done[b] = true;
          else out[rows[b]].push(id);
        });
      }
    } finally {
      if (state) freeGPTCaches(state);
    }
  }
  return out;
}
