/** Position-wise feed-forward network (§3.3): FFN(x) = act(x W1 + b1) W2 + b2. */
import { type Mulberry32, type Tensor, gelu, mul, relu, sigmoid } from "../tensor/index.js";
import { Linear } from "./layers.js";
import { Module } from "./module.js";

export type Activation = "relu" | "gelu" | "gelu_tanh" | "silu";

export function activate(x: Tensor, act: Activation): Tensor {
  if (act === "relu") return relu(x);
  if (act === "silu") return mul(x, sigmoid(x)); // SiLU / swish (Marian): x·σ(x)
  return gelu(x, act === "gelu_tanh" ? "tanh" : "none");
}

export class FeedForward extends Module {
  readonly linear1: Linear;
  readonly linear2: Linear;

  constructor(
    dModel: number,
    dFF: number,
    readonly activation: Activation,
    init: (out: number, inp: number) => Tensor,
    rng: Mulberry32,
    bias = true,
  ) {
    super();
    this.linear1 = this.addModule(
      "linear1",
      new Linear(dModel, dFF, { bias, rng, weight: init(dFF, dModel) }),
    );
    this.linear2 = this.addModule(
      "linear2",
      new Linear(dFF, dModel, { bias, rng, weight: init(dModel, dFF) }),
    );
  }

  forward(x: Tensor): Tensor {
    const hidden = this.tap("hidden", activate(this.linear1.forward(x), this.activation));
    return this.tap("out", this.linear2.forward(hidden));
  }
}
