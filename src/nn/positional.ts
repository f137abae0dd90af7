/**
 * Positional information, by config: sinusoidal (the paper, §3.5), learned,
 * rotary (RoPE, Su et al. 2021) or ALiBi (Press et al. 2022).
 */
import { AttnError } from "../errors.js";
import { type Tensor, add, concat, fromArray, mul, slice, sub } from "../tensor/index.js";

export type PositionalKind = "sinusoidal" | "learned" | "rope" | "alibi" | "none";

/**
 * Where sin and cos of frequency i sit: "interleaved" at 2i and 2i+1 (the paper's formula);
 * "halves" at i and ⌈d/2⌉ + i (Marian / Hugging Face's MarianSinusoidalPositionalEmbedding).
 * The two are the same encoding up to a fixed permutation of the d_model dimensions.
 */
export type SinusoidLayout = "interleaved" | "halves";

/**
 * PE(pos, 2i) = sin(pos / 10000^(2i/d_model)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model)):
 * "each dimension of the positional encoding corresponds to a sinusoid" (§3.5).
 * Positions offset..offset+T-1; returns [T, d_model].
 */
export function sinusoidalPositionalEncoding(
  T_: number,
  dModel: number,
  offset = 0,
  layout: SinusoidLayout = "interleaved",
): Tensor {
  const d = new Float32Array(T_ * dModel);
  const half = Math.ceil(dModel / 2);
  for (let t = 0; t < T_; t++) {
    const pos = t + offset;
    for (let i = 0; 2 * i < dModel; i++) {
      const angle = pos / 10000 ** ((2 * i) / dModel);
      const [si, ci] = layout === "interleaved" ? [2 * i, 2 * i + 1] : [i, half + i];
      d[t * dModel + si] = Math.sin(angle);
      if (2 * i + 1 < dModel) d[t * dModel + ci] = Math.cos(angle);
    }
  }
  return fromArray(d, [T_, dModel], "float32");
}

/** cos and sin tables [T, dk/2] of RoPE's angles p·θ_i, θ_i = 10000^(-2i/dk). */
function ropeTables(T_: number, dk: number, offset: number): { cos: Tensor; sin: Tensor } {
  const half = dk / 2;
  const cos = new Float32Array(T_ * half);
  const sin = new Float32Array(T_ * half);
  for (let t = 0; t < T_; t++) {
    for (let i = 0; i < half; i++) {
      const angle = (t + offset) * 10000 ** ((-2 * i) / dk);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
  return { cos: fromArray(cos, [T_, half], "float32"), sin: fromArray(sin, [T_, half], "float32") };
}

/**
 * Rotary position embedding on q or k [B, H, T, dk], "rotate half" pairing
 * (dimension i with i + dk/2): x' = x·cos(pθ) + rotate_half(x)·sin(pθ).
 */
export function applyRope(x: Tensor, offset = 0): Tensor {
  const dk = x.shape[x.rank - 1];
  if (dk % 2 !== 0) throw new AttnError(`rope: head dimension must be even, got ${dk}`);
  const { cos, sin } = ropeTables(x.shape[x.rank - 2], dk, offset);
  const x1 = slice(x, -1, 0, dk / 2);
  const x2 = slice(x, -1, dk / 2);
  return concat([sub(mul(x1, cos), mul(x2, sin)), add(mul(x2, cos), mul(x1, sin))], -1);
}

/** ALiBi head slopes m_h = 2^(-8(h+1)/H) (H a power of two, as in the paper's main recipe). */
export function alibiSlopes(heads: number): number[] {
  return Array.from({ length: heads }, (_, h) => 2 ** ((-8 * (h + 1)) / heads));
}

/** ALiBi bias [H, Tq, Tk] = -m_h·|i - j|, with query i at position offset + i. */
export function alibiBias(heads: number, Tq: number, Tk: number, offset = 0): Tensor {
  const slopes = alibiSlopes(heads);
  const d = new Float32Array(heads * Tq * Tk);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < Tq; i++)
      for (let j = 0; j < Tk; j++) d[(h * Tq + i) * Tk + j] = -slopes[h] * Math.abs(i + offset - j);
  return fromArray(d, [heads, Tq, Tk], "float32");
}
