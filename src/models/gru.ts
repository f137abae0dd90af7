/**
 * The recurrent baseline's two building blocks, written with the engine's ops:
 * a GRU cell (Cho et al. 2014, with PyTorch's GRUCell equations, gate order
 * and parameter names, so its weights load from torch.nn.GRUCell) and
 * additive attention (Bahdanau et al. 2015). Each has a functional form over
 * plain tensors (what the gradient checks test) and a Module that owns the
 * parameters.
 */
import { AttnError } from "../errors.js";
import { linearDefault } from "../nn/init.js";
import { Module } from "../nn/module.js";
import {
  type Mulberry32,
  type Tensor,
  add,
  matmul,
  maskedFill,
  mul,
  reshape,
  sigmoid,
  slice,
  softmax,
  sub,
  tanh,
  transpose,
  unsqueeze,
} from "../tensor/index.js";
import { fmt } from "../tensor/shape.js";

/** The input half of the gates for x [..., in]: W_ih x + b_ih, [..., 3H] in the order r, z, n. */
export function gruInputGates(x: Tensor, weightIh: Tensor, biasIh: Tensor): Tensor {
  return add(matmul(x, transpose(weightIh)), biasIh);
}

/**
 * One GRU step from the input gates gi = W_ih x + b_ih [B, 3H] and the state
 * h [B, H]. Splitting W_ih x off lets a caller compute it for every time step
 * in one matmul.
 */
export function gruStep(gi: Tensor, h: Tensor, weightHh: Tensor, biasHh: Tensor): Tensor {
  const H = h.shape[h.rank - 1];
  if (gi.shape[gi.rank - 1] !== 3 * H) {
    throw new AttnError(
      `gru: input gates ${fmt(gi.shape)} do not match state ${fmt(h.shape)} (need 3·${H})`,
    );
  }
  // gh = W_hh h + b_hh
  const gh = add(matmul(h, transpose(weightHh)), biasHh);
  // [r, z] = σ(W_ir x + b_ir + W_hr h + b_hr, W_iz x + b_iz + W_hz h + b_hz)
  const rz = sigmoid(add(slice(gi, -1, 0, 2 * H), slice(gh, -1, 0, 2 * H)));
  const r = slice(rz, -1, 0, H);
  const z = slice(rz, -1, H, 2 * H);
  // n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
  const n = tanh(add(slice(gi, -1, 2 * H), mul(r, slice(gh, -1, 2 * H))));
  // h' = (1 − z) ⊙ n + z ⊙ h  =  n + z ⊙ (h − n)
  return add(n, mul(z, sub(h, n)));
}

/** h' = GRUCell(x, h): x [B, in], h [B, H]. */
export function gruCell(
  x: Tensor,
  h: Tensor,
  weightIh: Tensor,
  weightHh: Tensor,
  biasIh: Tensor,
  biasHh: Tensor,
): Tensor {
  return gruStep(gruInputGates(x, weightIh, biasIh), h, weightHh, biasHh);
}

/** torch.nn.GRUCell: weight_ih [3H, in], weight_hh [3H, H], bias_ih, bias_hh [3H], all U(±1/√H). */
export class GRUCell extends Module {
  readonly weight_ih: Tensor;
  readonly weight_hh: Tensor;
  readonly bias_ih: Tensor;
  readonly bias_hh: Tensor;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    rng: Mulberry32,
  ) {
    super();
    const H = hiddenSize;
    this.weight_ih = this.addParameter("weight_ih", linearDefault([3 * H, inputSize], H, rng));
    this.weight_hh = this.addParameter("weight_hh", linearDefault([3 * H, H], H, rng));
    this.bias_ih = this.addParameter("bias_ih", linearDefault([3 * H], H, rng));
    this.bias_hh = this.addParameter("bias_hh", linearDefault([3 * H], H, rng));
  }

  forward(x: Tensor, h: Tensor): Tensor {
    return gruCell(x, h, this.weight_ih, this.weight_hh, this.bias_ih, this.bias_hh);
  }
}

/**
 * Additive attention of a decoder state s [B, Hs] over encoder states
 * h [B, S, Hh], given their projected keys Uh = h Uᵀ [B, S, A] (computed once
 * per source): score_j = vᵀ tanh(W s + U h_j), α = softmax over j with PAD
 * (mask [B, S], 1 = PAD) at −∞, context = Σ_j α_j h_j.
 */
export function additiveAttend(
  s: Tensor,
  h: Tensor,
  Uh: Tensor,
  W: Tensor,
  v: Tensor,
  mask: Tensor | null,
): { weights: Tensor; context: Tensor } {
  const [B, S] = h.shape;
  // W s, broadcast over the source positions: [B, 1, A]
  const Ws = unsqueeze(matmul(s, transpose(W)), 1);
  // score_j = vᵀ tanh(W s + U h_j): [B, S, A] · [A, 1] -> [B, S]
  const scores = reshape(matmul(tanh(add(Uh, Ws)), reshape(v, [v.size, 1])), [B, S]);
  // α_j = softmax_j(score_j), PAD positions excluded
  const weights = softmax(mask ? maskedFill(scores, mask, Number.NEGATIVE_INFINITY) : scores, -1);
  // c = Σ_j α_j h_j: [B, 1, S] · [B, S, Hh] -> [B, Hh]
  const context = reshape(matmul(unsqueeze(weights, 1), h), [B, h.shape[2]]);
  return { weights, context };
}

/** Bahdanau attention's parameters: W [A, Hs] (query), U [A, Hh] (keys), v [A]; no biases. */
export class AdditiveAttention extends Module {
  readonly W: Tensor;
  readonly U: Tensor;
  readonly v: Tensor;

  constructor(queryDim: number, keyDim: number, attnDim: number, rng: Mulberry32) {
    super();
    this.W = this.addParameter("W", linearDefault([attnDim, queryDim], queryDim, rng));
    this.U = this.addParameter("U", linearDefault([attnDim, keyDim], keyDim, rng));
    this.v = this.addParameter("v", linearDefault([attnDim], attnDim, rng));
  }

  /** U h_j for every source position, once per source: [B, S, A]. */
  keys(h: Tensor): Tensor {
    return matmul(h, transpose(this.U));
  }

  forward(
    s: Tensor,
    h: Tensor,
    Uh: Tensor,
    mask: Tensor | null,
  ): { weights: Tensor; context: Tensor } {
    return additiveAttend(s, h, Uh, this.W, this.v, mask);
  }
}
