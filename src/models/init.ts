/** The initial-weight policies a config can name. */
import type { Mulberry32, Tensor } from "../tensor/index.js";
import { normal, xavierUniform } from "../nn/init.js";

export interface InitPolicy {
  /** A [out, in] weight matrix. */
  matrix: (out: number, inp: number) => Tensor;
  /** Std of token embeddings. */
  embeddingStd: number;
  /** Std of learned position embeddings. */
  positionStd: number;
}

export function initPolicy(kind: "paper" | "gpt2", dModel: number, rng: Mulberry32): InitPolicy {
  if (kind === "gpt2") {
    return { matrix: (o, i) => normal([o, i], 0.02, rng), embeddingStd: 0.02, positionStd: 0.02 };
  }
  // Xavier-uniform matrices; embeddings N(0, d_model^-½), so that ×√d_model gives unit scale.
  return {
    matrix: (o, i) => xavierUniform([o, i], rng),
    embeddingStd: dModel ** -0.5,
    positionStd: dModel ** -0.5,
  };
}
