/**
 * GPT generation for the explorer, one token at a time with the KV cache
 * (GPT.startDecoding, forward with a state), recording at each step the five
 * most likely tokens and where the new token looked (the last layer's causal
 * self-attention over the text so far). Greedy, or sampled exactly as
 * `attn generate` samples (src/generate/select.ts, Mulberry32(seed)), so the
 * same seed gives the same text as the CLI.
 */
import { type GPT, freeGPTCaches } from "../../../src/models/gpt.js";
import { recordIntermediates } from "../../../src/nn/hooks.js";
import { samplingDistribution, sampleToken } from "../../../src/generate/select.js";
import { fromArray, Mulberry32, noGrad, tidy } from "../../../src/tensor/index.js";
import type { DecodeStepInfo, SamplingSettings } from "../protocol.js";
import { logSoftmax } from "./decode.js";

/** New tokens the page generates at most. */
export const GEN_TOKENS = 40;
/** How many new tokens fit after a prompt of this length. */
export function roomAfter(model: GPT, promptLength: number): number {
  return Math.max(0, Math.min(GEN_TOKENS, model.config.maxLen - promptLength));
}

/**
 * Continues the prompt: greedy when sampling is null or its temperature is 0.
 * Stops at EOS (not included) or when the context is full.
 */
export function gptGenerate(
  model: GPT,
  prompt: number[],
  sampling: SamplingSettings | null,
): { ids: number[]; steps: DecodeStepInfo[] } {
  const L = model.config.layers - 1;
  const attnName = `layers.${L}.self_attn.weights`;
  const greedy = !sampling || sampling.temperature === 0;
  const opts = sampling ?? { temperature: 0, topK: 0, topP: 1, seed: 0 };
  const rng = new Mulberry32(opts.seed);
  const maxNew = roomAfter(model, prompt.length);
  const ids: number[] = [];
  const steps: DecodeStepInfo[] = [];
  const state = model.startDecoding();
  try {
    for (let t = 0; t < maxNew; t++) {
      const input = t === 0 ? prompt : [ids[ids.length - 1]];
      const { logits, attn } = noGrad(() =>
        tidy(() => {
          const { result, tensors } = recordIntermediates(
            () =>
              model.forward(fromArray(input, [1, input.length], "int32"), {
                state,
                lastOnly: true,
              }),
            (n) => n === attnName,
          );
          const w = tensors.get(attnName)!;
          const [, H, Tq, Tk] = w.shape;
          // The last query row of every head: [H, Tk].
          const rows = new Float32Array(H * Tk);
          for (let h = 0; h < H; h++)
            for (let k = 0; k < Tk; k++) rows[h * Tk + k] = w.values[(h * Tq + Tq - 1) * Tk + k];
          return {
            logits: Float32Array.from(result.values()),
            attn: { shape: [H, Tk], values: rows },
          };
        }),
      );
      const logp = logSoftmax(logits);
      const top = Array.from(logp.keys())
        .sort((a, b) => logp[b] - logp[a])
        .slice(0, 5)
        .map((id) => ({ id, p: Math.exp(logp[id]) }));
      const sOpts = { temperature: opts.temperature, topK: opts.topK, topP: opts.topP };
      const token = greedy ? top[0].id : sampleToken(logits, sOpts, rng);
      const step: DecodeStepInfo = { token, top, cross: attn };
      if (!greedy) {
        const d = samplingDistribution(logits, sOpts);
        step.sampled = d.ids.slice(0, 10).map((id, i) => ({ id, p: d.probs[i] }));
      }
      steps.push(step);
      if (token === model.config.eosId) break;
      ids.push(token);
    }
  } finally {
    freeGPTCaches(state);
  }
  return { ids, steps };
}
