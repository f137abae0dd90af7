/**
 * Decoding for the explorer: greedy with the KV cache (Transformer.startDecoding /
 * decodeStep, recording what each step looked at) and a small beam search.
 * Both run under noGrad inside tidy, so nothing outlives a call.
 */
import { recordIntermediates } from "../../../src/nn/hooks.js";
import { type Transformer, freeDecodingCaches } from "../../../src/models/transformer.js";
import { fromArray, noGrad, tidy } from "../../../src/tensor/index.js";
import { BOS_ID, EOS_ID } from "../../../src/tokenizers/tokenizer.js";
import type { Beam, DecodeStepInfo } from "../protocol.js";

/** log-softmax of one row of logits (float64). */
export function logSoftmax(row: ArrayLike<number>): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i] - lse;
  return out;
}

function topK(logp: Float64Array, k: number): { id: number; p: number }[] {
  const ids = Array.from(logp.keys()).sort((a, b) => logp[b] - logp[a]);
  return ids.slice(0, k).map((id) => ({ id, p: Math.exp(logp[id]) }));
}

/** Greedy decoding, one token at a time, with the top-5 and the last layer's cross-attention per step. */
export function greedyDecode(
  model: Transformer,
  srcIds: number[],
  maxSteps: number,
): { ids: number[]; steps: DecodeStepInfo[] } {
  const crossName = `decoder.layers.${model.config.decoderLayers - 1}.cross_attn.weights`;
  return noGrad(() =>
    tidy(() => {
      const state = model.startDecoding(fromArray(srcIds, [1, srcIds.length], "int32"));
      const ids: number[] = [];
      const steps: DecodeStepInfo[] = [];
      let prev = BOS_ID;
      try {
        for (let t = 0; t < maxSteps; t++) {
          const { result, tensors } = recordIntermediates(
            () => model.decodeStep(state, fromArray([prev], [1, 1], "int32")),
            (n) => n === crossName,
          );
          const logp = logSoftmax(result.values());
          const top = topK(logp, 5);
          const token = top[0].id;
          const cross = tensors.get(crossName)!;
          steps.push({
            token,
            top,
            cross: {
              shape: [cross.shape[1], cross.shape[3]],
              values: Float32Array.from(cross.values),
            },
          });
          if (token === EOS_ID) break;
          ids.push(token);
          prev = token;
        }
      } finally {
        freeDecodingCaches(state);
      }
      return { ids, steps };
    }),
  );
}

/**
 * Beam search (no length penalty), recomputing the decoder over each beam's
 * prefix at every step. Returns the beams after every step.
 */
export function beamSearch(
  model: Transformer,
  srcIds: number[],
  beamSize: number,
  maxSteps: number,
): Beam[][] {
  return noGrad(() =>
    tidy(() => {
      const { memory, srcMask } = model.encode(fromArray(srcIds, [1, srcIds.length], "int32"));
      let beams: Beam[] = [{ ids: [], logp: 0, done: false }];
      const history: Beam[][] = [];
      for (let t = 0; t < maxSteps && beams.some((b) => !b.done); t++) {
        const candidates: Beam[] = [];
        for (const b of beams) {
          if (b.done) {
            candidates.push(b);
            continue;
          }
          const logp = tidy(() => {
            const tgt = [BOS_ID, ...b.ids];
            const h = model.decode(fromArray(tgt, [1, tgt.length], "int32"), memory, srcMask);
            const logits = model.project(h).values();
            const V = logits.length / tgt.length;
            return logSoftmax(logits.subarray(V * (tgt.length - 1)));
          });
          for (const { id } of topK(logp, beamSize)) {
            const done = id === EOS_ID;
            candidates.push({ ids: done ? b.ids : [...b.ids, id], logp: b.logp + logp[id], done });
          }
        }
        candidates.sort((a, b) => b.logp - a.logp);
        beams = candidates.slice(0, beamSize);
        history.push(beams.map((b) => ({ ...b, ids: [...b.ids] })));
      }
      return history;
    }),
  );
}
