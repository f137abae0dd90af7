/** Weight initialisers, all drawing from a seeded generator. */
import { type Mulberry32, type Tensor, rand, randn } from "../tensor/index.js";

/**
 * Xavier/Glorot uniform (Glorot & Bengio 2010): U(±√(6/(fan_in+fan_out))) for a [out, in] matrix;
 * `fusedOut` counts fan_out as fusedOut·out (one slice of a fused [fusedOut·out, in] matrix).
 */
export function xavierUniform(shape: [number, number], rng: Mulberry32, fusedOut = 1): Tensor {
  const a = Math.sqrt(6 / (fusedOut * shape[0] + shape[1]));
  return rand(shape, { low: -a, high: a, rng });
}

/** PyTorch's nn.Linear default: U(±1/√fan_in). */
export function linearDefault(shape: readonly number[], fanIn: number, rng: Mulberry32): Tensor {
  const a = 1 / Math.sqrt(fanIn);
  return rand(shape, { low: -a, high: a, rng });
}

export function normal(shape: readonly number[], std: number, rng: Mulberry32): Tensor {
  return randn(shape, { std, rng });
}
