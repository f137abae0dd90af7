/**
 * GPT generation for the explorer: `attn generate`'s loop (KV cache, greedy
 * or sampled with Mulberry32(seed), so the same seed gives the same text as
 * the CLI), recording at each step the five most likely tokens and where the
 * new token looked (the last layer's causal self-attention over the text so far).
 */
import {
  attentionTap,
  generate,
  logSoftmaxRow,
  samplingDistribution,
  type GPT,
} from "../../../src/browser.js";
import {
  type DecodeStepInfo,
  GEN_TOKENS,
  MAX_GEN_TOKENS,
  type SamplingSettings,
} from "../protocol.js";
import { topK, watchTap } from "./decode.js";

/**
 * Continues the prompt with the library's generation loop (`attn generate`'s
 * generateTokens): greedy when sampling is null or its temperature is 0, for
 * sampling.length new tokens (GEN_TOKENS when null). Stops at EOS (not
 * included); past the context the model reads its last maxLen tokens.
 */
export function gptGenerate(
  model: GPT,
  prompt: number[],
  sampling: SamplingSettings | null,
): { ids: number[]; steps: DecodeStepInfo[] } {
  const attnName = attentionTap("self", model.config.layers - 1, "weights");
  const greedy = !sampling || sampling.temperature === 0;
  const opts = sampling ?? { temperature: 0, topK: 0, topP: 1, seed: 0, length: GEN_TOKENS };
  const sOpts = { temperature: opts.temperature, topK: opts.topK, topP: opts.topP };
  const steps: DecodeStepInfo[] = [];
  const ids = watchTap(attnName, (latest) =>
    generate(model, prompt, {
      ...sOpts,
      maxNewTokens: Math.max(1, Math.min(MAX_GEN_TOKENS, Math.floor(opts.length ?? GEN_TOKENS))),
      seed: opts.seed,
      stop: [model.config.eosId],
      onLogits: (_step, logits) => {
        const w = latest();
        const [, H, Tq, Tk] = w.shape;
        // The last query row of every head: [H, Tk].
        const rows = new Float32Array(H * Tk);
        for (let h = 0; h < H; h++)
          for (let k = 0; k < Tk; k++) rows[h * Tk + k] = w.values[(h * Tq + Tq - 1) * Tk + k];
        const step: DecodeStepInfo = {
          token: -1, // set below, once chosen
          top: topK(logSoftmaxRow(logits), 5),
          cross: { shape: [H, Tk], values: rows },
        };
        if (!greedy) {
          const d = samplingDistribution(logits, sOpts);
          step.sampled = d.ids.slice(0, 10).map((id, i) => ({ id, p: d.probs[i] }));
        }
        steps.push(step);
      },
    }),
  );
  steps.forEach((st, t) => {
    st.token = t < ids.length ? ids[t] : model.config.eosId;
  });
  return { ids, steps };
}
