/**
 * A GPT-style decoder-only Transformer (Radford et al. 2018/2019): the
 * paper's decoder without cross-attention, pre-LN blocks, a final LayerNorm,
 * and the LM head tied to the token embedding.
 */
import { AttnError } from "../errors.js";
import { Embedding, LayerNorm, type Linear } from "../nn/layers.js";
import { KVCache } from "../nn/kv-cache.js";
import { causalMask } from "../nn/masks.js";
import { ModuleList } from "../nn/module.js";
import {
  Mulberry32,
  type Tensor,
  add,
  crossEntropy,
  matmul,
  slice,
  transpose,
  zeros,
} from "../tensor/index.js";
import { fmt } from "../tensor/shape.js";
import { GPTBlock, layerOptions, untiedOutput } from "./blocks.js";
import { type GPTConfig, validateConfig } from "./config.js";
import { Stack } from "./stack.js";
import { initPolicy } from "./init.js";
import type { ModelInterventions } from "./transformer.js";

export interface GPTState {
  cache: KVCache[];
  length: number;
}

export class GPT extends Stack {
  readonly config: GPTConfig;
  readonly tok_embed: Embedding;
  readonly layers: ModuleList<GPTBlock>;
  readonly norm: LayerNorm | null;
  readonly lm_head: Linear | null;
  /** A bias on the logits, if the config has one. */
  readonly output_bias: Tensor | null;
  interventions: ModelInterventions = {};

  constructor(config: GPTConfig) {
    const cfg = validateConfig(config) as GPTConfig;
    const rng = new Mulberry32(cfg.seed);
    const init = initPolicy(cfg.init, cfg.dModel, rng);
    // The token table is drawn first, then positions, then the blocks.
    const tokEmbed = new Embedding(cfg.vocabSize, cfg.dModel, { rng, std: init.embeddingStd });
    super({
      dModel: cfg.dModel,
      maxLen: cfg.maxLen,
      positional: cfg.positional,
      sinusoidLayout: cfg.sinusoidLayout,
      scale: cfg.scaleEmbedding,
      dropout: cfg.dropout,
      posStd: init.positionStd,
      rng,
      owner: "gpt",
    });
    this.config = cfg;
    this.tok_embed = this.addModule("tok_embed", tokEmbed);
    const o = layerOptions(cfg, init.matrix, rng);
    this.layers = this.addModule(
      "layers",
      new ModuleList(Array.from({ length: cfg.layers }, () => new GPTBlock(o))),
    );
    this.norm = cfg.finalNorm ? this.addModule("norm", new LayerNorm(cfg.dModel, cfg.lnEps)) : null;
    this.lm_head = cfg.tieOutput
      ? null
      : this.addModule("lm_head", untiedOutput(cfg, init.matrix, rng));
    this.output_bias = cfg.outputBias
      ? this.addParameter("output_bias", zeros([cfg.vocabSize]))
      : null;
    this.namedModules();
  }

  /** Hidden states [B, T, d] before the final norm; with a state, tokens continue a cached sequence. */
  private hidden(tokens: Tensor, state?: GPTState): Tensor {
    if (tokens.dtype !== "int32" || tokens.rank !== 2) {
      throw new AttnError(
        `gpt: tokens must be int32 ids [batch, length], got ${tokens.dtype} ${fmt(tokens.shape)}`,
      );
    }
    const T = tokens.shape[1];
    const offset = state?.length ?? 0;
    let x = this.embedInputs(tokens, this.tok_embed.weight, offset);
    const mask = this.interventions.noCausalMask ? null : causalMask(T, offset + T, offset);
    this.layers.items.forEach((layer, i) => {
      x = layer.forward(x, mask, { cache: state?.cache[i], positionOffset: offset });
    });
    if (state) state.length += T;
    return x;
  }

  /** Final LayerNorm and the LM head: logits [B, T, V]. */
  project(h: Tensor): Tensor {
    const n = this.norm ? this.tap("final_norm", this.norm.forward(h)) : h;
    const logits = this.lm_head
      ? this.lm_head.forward(n)
      : matmul(n, transpose(this.tok_embed.weight));
    return this.tap("logits", this.output_bias ? add(logits, this.output_bias) : logits);
  }

  /** tokens [B, T] -> logits [B, T, V] (or only the last position's, [B, 1, V]). */
  forward(tokens: Tensor, opts: { state?: GPTState; lastOnly?: boolean } = {}): Tensor {
    let h = this.hidden(tokens, opts.state);
    if (opts.lastOnly) h = slice(h, 1, h.shape[1] - 1);
    return this.project(h);
  }

  /**
   * Mean next-token cross-entropy over the positions whose target is not
   * `ignoreIndex` (e.g. PAD in a padded batch; default: none ignored).
   */
  loss(
    tokens: Tensor,
    targets: Tensor,
    opts: number | { labelSmoothing?: number; ignoreIndex?: number } = 0,
  ): { loss: Tensor; logits: Tensor } {
    const { labelSmoothing = 0, ignoreIndex } =
      typeof opts === "number" ? { labelSmoothing: opts } : opts;
    const logits = this.forward(tokens);
    const loss = crossEntropy(logits, targets, { labelSmoothing, ignoreIndex });
    return { loss: this.tap("loss", loss), logits };
  }

  startDecoding(): GPTState {
    return { cache: this.layers.items.map(() => new KVCache(this.config.maxLen)), length: 0 };
  }
}

/** Frees the KV caches of an incremental decoding (the state can be started afresh). */
export function freeGPTCaches(state: GPTState): void {
  for (const kv of state.cache) kv.dispose();
}
