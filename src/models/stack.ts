/**
 * The input of a stack (§3.4, §3.5): token embeddings (optionally ×√d_model)
 * plus positional encodings, then dropout. Each stack records `embed`, `pos`
 * and `input`.
 */
import { AttnError } from "../errors.js";
import { type Mulberry32, type Tensor, add, embedding, keep, mul, slice } from "../tensor/index.js";
import { Dropout, Embedding } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import {
  type PositionalKind,
  type SinusoidLayout,
  sinusoidalPositionalEncoding,
} from "../nn/positional.js";

export interface InputInterventions {
  /** Leave out the positional encoding (the model then sees a bag of tokens). */
  noPositional?: boolean;
}

export interface StackInputOptions {
  dModel: number;
  maxLen: number;
  positional: PositionalKind;
  sinusoidLayout: SinusoidLayout;
  scale: boolean;
  dropout: number;
  /** Std of learned position embeddings at init. */
  posStd: number;
  rng: Mulberry32;
  /** Name for error messages ("encoder", "decoder", "gpt"). */
  owner: string;
}

/** Base of every stack (encoder, decoder, GPT): owns the positional table, embeds its inputs. */
export abstract class Stack extends Module {
  /** Learned positions only. */
  readonly pos_embed: Embedding | null;
  private readonly sinusoid: Tensor | null;
  private readonly inputDrop: Dropout;
  inputInterventions: InputInterventions = {};

  constructor(readonly inputOpts: StackInputOptions) {
    super();
    const opts = inputOpts;
    this.pos_embed = null;
    this.sinusoid = null;
    if (opts.positional === "learned") {
      this.pos_embed = this.addModule(
        "pos_embed",
        new Embedding(opts.maxLen, opts.dModel, { rng: opts.rng, std: opts.posStd }),
      );
    } else if (opts.positional === "sinusoidal") {
      this.sinusoid = keep(
        sinusoidalPositionalEncoding(opts.maxLen, opts.dModel, 0, opts.sinusoidLayout),
      );
    }
    this.inputDrop = new Dropout(opts.dropout);
  }

  /** ids [B, T] at positions offset..offset+T-1, embedded by `table` [V, d]. */
  protected embedInputs(ids: Tensor, table: Tensor, offset = 0): Tensor {
    const opts = this.inputOpts;
    const T = ids.shape[1];
    if (offset + T > opts.maxLen) {
      throw new AttnError(
        `${opts.owner}: sequence of length ${offset + T} is longer than maxLen ${opts.maxLen} of the positional table`,
      );
    }
    let e = embedding(table, ids);
    if (opts.scale) e = mul(e, Math.sqrt(opts.dModel)); // "we multiply those weights by √d_model"
    e = this.tap("embed", e);
    let x = e;
    const posTable = this.pos_embed ? this.pos_embed.weight : this.sinusoid;
    if (posTable && !this.inputInterventions.noPositional) {
      const pos = this.tap("pos", slice(posTable, 0, offset, offset + T));
      x = add(e, pos);
    }
    this.inputDrop.training = this.training;
    return this.inputDrop.forward(this.tap("input", x));
  }
}
