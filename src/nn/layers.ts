/** The basic layers: Linear, Embedding, LayerNorm, Dropout. */
import {
  type Mulberry32,
  type Tensor,
  add,
  dropout,
  embedding,
  getRng,
  layerNorm,
  matmul,
  mul,
  ones,
  transpose,
  zeros,
} from "../tensor/index.js";
import { linearDefault, normal } from "./init.js";
import { Module } from "./module.js";

export interface LinearOptions {
  bias?: boolean;
  rng?: Mulberry32;
  /** Initial weight [out, in]; default U(±1/√in) as PyTorch. */
  weight?: Tensor;
}

/** y = x Wᵀ + b, with W of shape [out, in] (PyTorch's layout). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    const rng = opts.rng ?? getRng();
    this.weight = this.addParameter(
      "weight",
      opts.weight ?? linearDefault([outFeatures, inFeatures], inFeatures, rng),
    );
    this.bias = opts.bias === false ? null : this.addParameter("bias", zeros([outFeatures]));
  }

  forward(x: Tensor): Tensor {
    const y = matmul(x, transpose(this.weight));
    return this.bias ? add(y, this.bias) : y;
  }
}

/** A table of vectors, one per token id; optionally scaled (the paper multiplies by √d_model). */
export class Embedding extends Module {
  readonly weight: Tensor;

  constructor(
    readonly numEmbeddings: number,
    readonly dim: number,
    opts: { rng?: Mulberry32; std?: number; weight?: Tensor } = {},
  ) {
    super();
    this.weight = this.addParameter(
      "weight",
      opts.weight ?? normal([numEmbeddings, dim], opts.std ?? 1, opts.rng ?? getRng()),
    );
  }

  forward(ids: Tensor, scale = 1): Tensor {
    const e = embedding(this.weight, ids);
    return scale === 1 ? e : mul(e, scale);
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.addParameter("weight", ones([dim]));
    this.bias = this.addParameter("bias", zeros([dim]));
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export class Dropout extends Module {
  constructor(readonly p: number) {
    super();
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}
