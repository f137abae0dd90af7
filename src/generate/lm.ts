/** Text generation with the GPT: greedy or sampled, streamed token by token, with or without the KV cache. */
import { AttnError } from "../errors.js";
import { type GPT, freeGPTCaches } from "../models/gpt.js";
import { Mulberry32, fromArray, noGrad, tidy } from "../tensor/index.js";
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
/** Yields new token ids one at a time as they are chosen (for streaming output). */
export function* generateTokens(
  model: GPT,
  prompt: number[],
  opts: GenerateOptions,
): Generator<number> {
  checkSampling(opts);
  if (prompt.length === 0) throw new AttnError("generate: the prompt must have at least one token");
  const { maxLen, vocabSize: V } = model.config;
  if (prompt.length + opts.maxNewTokens > maxLen && model.config.positional === "learned") {
    throw new AttnError(
      `generate: prompt (${prompt.length}) + new tokens (${opts.maxNewTokens}) exceed the context of ${maxLen}`,
    );
  }
  const rng = new Mulberry32(opts.seed ?? 0);
  const stop = new Set(opts.stop ?? []);
  const useCache = opts.cache !== false;
  const state = useCache ? model.startDecoding() : null;
  const seq = prompt.slice();
  const phase = opts.phase ?? runPhase;
  try {
    for (let step = 0; step < opts.maxNewTokens; step++) {
      const name = step === 0 ? "prefill" : state ? "decode_token" : "full_forward";
      const next = noGrad(() =>
        tidy(() => {
          const input = state && step > 0 ? [seq[seq.length - 1]] : seq;
          const ids = fromArray(input, [1, input.length], "int32");
          const out = phase(name, () =>
            model.forward(ids, { state: state ?? undefined, lastOnly: true }),
          );
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

/** All new tokens at once. */
export function generate(model: GPT, prompt: number[], opts: GenerateOptions): number[] {
  return [...generateTokens(model, prompt, opts)];
}
