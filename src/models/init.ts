/** The initial-weight policies a config can name. */
import type { Mulberry32, Tensor } from "../tensor/index.js";
import { normal, xavierUniform } from "../nn/init.js";

export interface InitPolicy {
  /**
   * A [out, in] weight matrix. `fused` > 1 says the matrix is one of `fused` projections that
   * other implementations hold as one [fused·out, in] matrix (Q, K, V of self-attention: 3).
   */
  matrix: (out: number, inp: number, fused?: number) => Tensor;
  /** Std of token embeddings. */
  embeddingStd: number;
  /** Std of learned position embeddings. */
  positionStd: number;
}

export type InitKind = "paper" | "xavier-fused" | "gpt2";

export function initPolicy(kind: InitKind, dModel: number, rng: Mulberry32): InitPolicy {
  if (kind === "gpt2") {
    return { matrix: (o, i) => normal([o, i], 0.02, rng), embeddingStd: 0.02, positionStd: 0.02 };
  }
  // Xavier-uniform matrices; embeddings N(0, d_model^-½), so that ×√d_model gives unit scale.
  // "xavier-fused" takes Xavier's fan-out over the fused Q/K/V ([3d, d]) and K/V ([2d, d])
  // matrices, as a PyTorch model with one fused projection does: those weights start smaller
  // by 1/√2 and √(2/3) (the gain fairseq also gives its attention projections).
  return {
    matrix: (o, i, fused = 1) => xavierUniform([o, i], rng, kind === "xavier-fused" ? fused : 1),
    embeddingStd: dModel ** -0.5,
    positionStd: dModel ** -0.5,
  };
}
