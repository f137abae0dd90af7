/**
 * The encoder-decoder Transformer of "Attention Is All You Need" (§3, Figure 1).
 *
 * "The encoder maps an input sequence of symbol representations (x1, ..., xn)
 * to a sequence of continuous representations z = (z1, ..., zn). Given z, the
 * decoder then generates an output sequence (y1, ..., ym) of symbols one
 * element at a time."
 */
import { AttnError } from "../errors.js";
import { Embedding, LayerNorm, type Linear } from "../nn/layers.js";
import { causalMask, combineMasks, keyPaddingMask } from "../nn/masks.js";
import { ModuleList } from "../nn/module.js";
import {
  Mulberry32,
  type Tensor,
  add,
  crossEntropy,
  fromArray,
  keep,
  matmul,
  mul,
  noGrad,
  slice,
  tidy,
  reshape,
  transpose,
  where,
  zeros,
} from "../tensor/index.js";
import { fmt } from "../tensor/shape.js";
import {
  type DecoderLayerCache,
  DecoderLayer,
  EncoderLayer,
  layerOptions,
  untiedOutput,
} from "./blocks.js";
import { type EncoderDecoderConfig, validateConfig } from "./config.js";
import { Stack } from "./stack.js";
import { type InitPolicy, initPolicy } from "./init.js";
import { Module } from "../nn/module.js";
import { KVCache } from "../nn/kv-cache.js";
import { reorderRows } from "../tensor/ops/inplace.js";

function stackInput(cfg: EncoderDecoderConfig, init: InitPolicy, rng: Mulberry32, owner: string) {
  return {
    dModel: cfg.dModel,
    maxLen: cfg.maxLen,
    positional: cfg.positional,
    sinusoidLayout: cfg.sinusoidLayout,
    scale: cfg.scaleEmbedding,
    dropout: cfg.dropout,
    posStd: init.positionStd,
    rng,
    owner,
  };
}

/** "a stack of N = 6 identical layers", plus a final LayerNorm if the config asks (pre-LN's default). */
export class Encoder extends Stack {
  readonly layers: ModuleList<EncoderLayer>;
  readonly norm: LayerNorm | null;

  constructor(cfg: EncoderDecoderConfig, init: InitPolicy, rng: Mulberry32) {
    super(stackInput(cfg, init, rng, "encoder"));
    const o = layerOptions(cfg, init.matrix, rng);
    this.layers = this.addModule(
      "layers",
      new ModuleList(Array.from({ length: cfg.encoderLayers }, () => new EncoderLayer(o))),
    );
    this.norm = cfg.finalNorm ? this.addModule("norm", new LayerNorm(cfg.dModel, cfg.lnEps)) : null;
  }

  /** src [B, S] -> memory [B, S, d]; srcMask masks PAD keys. */
  forward(src: Tensor, table: Tensor, srcMask: Tensor | null): Tensor {
    let x = this.embedInputs(src, table);
    for (const layer of this.layers.items) x = layer.forward(x, srcMask);
    if (this.norm) x = this.norm.forward(x);
    return this.tap("out", x);
  }
}

export class Decoder extends Stack {
  readonly layers: ModuleList<DecoderLayer>;
  readonly norm: LayerNorm | null;

  constructor(cfg: EncoderDecoderConfig, init: InitPolicy, rng: Mulberry32) {
    super(stackInput(cfg, init, rng, "decoder"));
    const o = layerOptions(cfg, init.matrix, rng);
    this.layers = this.addModule(
      "layers",
      new ModuleList(Array.from({ length: cfg.decoderLayers }, () => new DecoderLayer(o))),
    );
    this.norm = cfg.finalNorm ? this.addModule("norm", new LayerNorm(cfg.dModel, cfg.lnEps)) : null;
  }

  forward(
    tgt: Tensor,
    table: Tensor,
    memory: Tensor | null,
    selfMask: Tensor | null,
    memoryMask: Tensor | null,
    cache?: DecoderLayerCache[],
    offset = 0,
    group = 1,
  ): Tensor {
    let x = this.embedInputs(tgt, table, offset);
    this.layers.items.forEach((layer, i) => {
      x = layer.forward(x, memory, selfMask, memoryMask, cache?.[i], offset, group);
    });
    if (this.norm) x = this.norm.forward(x);
    return this.tap("out", x);
  }
}

/**
 * Explicit padding, [B, T] int32 with 1 at padded positions (e.g. from
 * lengths). Without it, positions holding the PAD id are padding.
 */
export interface PaddingOptions {
  srcPadding?: Tensor;
  tgtPadding?: Tensor;
}

/**
 * What decoding keeps per source batch: the source mask [N, 1, 1, S], the
 * memory's K/V per layer (cache[i].cross, computed once) and the decoder's
 * self-attention K/V (cache[i].self, one row per hypothesis).
 */
export interface EncoderDecoderState {
  srcMask: Tensor;
  cache: DecoderLayerCache[];
  /** Positions decoded so far. */
  length: number;
  /** Decoder rows per source sentence (the beam width; 1 for greedy). */
  group: number;
}

export interface StartDecodingOptions {
  /** Decoder rows per source sentence, consecutive (beam search); default 1. */
  group?: number;
  /** Positions to allocate the self-attention caches for (default: the model's maxLen). */
  capacity?: number;
}

/** Runtime experiment switches (the explorer's interventions). */
export interface ModelInterventions {
  /** Let decoder positions see the future. */
  noCausalMask?: boolean;
  /** Let queries attend to PAD keys (no key-padding mask on source or target keys). */
  noPaddingMask?: boolean;
}

export class Transformer extends Module {
  readonly config: EncoderDecoderConfig;
  readonly embed: Embedding | null;
  readonly src_embed: Embedding | null;
  readonly tgt_embed: Embedding | null;
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  readonly lm_head: Linear | null;
  /** A bias on the logits (Marian's final_logits_bias), if the config has one. */
  readonly output_bias: Tensor | null;
  interventions: ModelInterventions = {};

  constructor(config: EncoderDecoderConfig) {
    super();
    this.config = validateConfig(config) as EncoderDecoderConfig;
    const cfg = this.config;
    const rng = new Mulberry32(cfg.seed);
    const init = initPolicy(cfg.init, cfg.dModel, rng);
    const table = () => new Embedding(cfg.vocabSize, cfg.dModel, { rng, std: init.embeddingStd });
    // "we share the same weight matrix between the two embedding layers and the pre-softmax linear transformation" (§3.4)
    this.embed = cfg.shareEmbeddings ? this.addModule("embed", table()) : null;
    this.src_embed = cfg.shareEmbeddings ? null : this.addModule("src_embed", table());
    this.tgt_embed = cfg.shareEmbeddings ? null : this.addModule("tgt_embed", table());
    this.encoder = this.addModule("encoder", new Encoder(cfg, init, rng));
    this.decoder = this.addModule("decoder", new Decoder(cfg, init, rng));
    this.lm_head = cfg.tieOutput
      ? null
      : this.addModule("lm_head", untiedOutput(cfg, init.matrix, rng));
    this.output_bias = cfg.outputBias
      ? this.addParameter("output_bias", zeros([cfg.vocabSize]))
      : null;
    this.namedModules(); // assigns dotted paths for taps
  }

  get srcTable(): Tensor {
    return (this.embed ?? this.src_embed)!.weight;
  }

  get tgtTable(): Tensor {
    return (this.embed ?? this.tgt_embed)!.weight;
  }

  private checkIds(ids: Tensor, what: string): void {
    if (ids.dtype !== "int32" || ids.rank !== 2) {
      throw new AttnError(
        `transformer: ${what} must be int32 token ids [batch, length], got ${ids.dtype} ${fmt(ids.shape)}`,
      );
    }
  }

  /** [B, T] padding (1 = PAD) from explicit padding, else from ids equal to PAD; as a key mask [B, 1, 1, T]. */
  private paddingMask(ids: Tensor, padding: Tensor | undefined, what: string): Tensor {
    // Switched off: an all-zero mask (nothing masked) keeps the mask's type for decoding states.
    if (this.interventions.noPaddingMask) return zeros([ids.shape[0], 1, 1, ids.shape[1]], "int32");
    if (!padding) {
      const mask = keyPaddingMask(ids, this.config.padId);
      // A decoder that starts from PAD (Marian: BOS = PAD): its first position is not padding.
      if (what !== "target" || this.config.bosId !== this.config.padId) return mask;
      const T = ids.shape[1];
      const later = fromArray(
        Array.from({ length: T }, (_, t) => (t === 0 ? 0 : 1)),
        [1, 1, 1, T],
        "int32",
      );
      return mul(mask, later);
    }
    if (
      padding.rank !== 2 ||
      padding.shape[0] !== ids.shape[0] ||
      padding.shape[1] !== ids.shape[1]
    ) {
      throw new AttnError(
        `transformer: ${what} padding ${fmt(padding.shape)} does not match ids ${fmt(ids.shape)}`,
      );
    }
    return reshape(padding, [ids.shape[0], 1, 1, ids.shape[1]]);
  }

  /** Runs the encoder: memory [B, S, d] and the source padding mask. */
  encode(src: Tensor, pad: PaddingOptions = {}): { memory: Tensor; srcMask: Tensor } {
    this.checkIds(src, "source");
    const srcMask = this.paddingMask(src, pad.srcPadding, "source");
    return { memory: this.encoder.forward(src, this.srcTable, srcMask), srcMask };
  }

  /** Decoder self-attention mask: future positions ("look-ahead") and PAD keys. */
  targetMask(tgtIn: Tensor, tgtPadding?: Tensor): Tensor | null {
    const T = tgtIn.shape[1];
    const causal = this.interventions.noCausalMask ? null : causalMask(T);
    return combineMasks(causal, this.paddingMask(tgtIn, tgtPadding, "target"));
  }

  /** Decoder states for target ids (teacher forcing) -> [B, T, d]. */
  decode(tgtIn: Tensor, memory: Tensor, srcMask: Tensor | null, tgtPadding?: Tensor): Tensor {
    this.checkIds(tgtIn, "target");
    return this.decoder.forward(
      tgtIn,
      this.tgtTable,
      memory,
      this.targetMask(tgtIn, tgtPadding),
      srcMask,
    );
  }

  /** logits = h Eᵀ (tied) or h W_outᵀ (+ b with an output bias). */
  project(h: Tensor): Tensor {
    const logits = this.lm_head ? this.lm_head.forward(h) : matmul(h, transpose(this.tgtTable));
    return this.tap("logits", this.output_bias ? add(logits, this.output_bias) : logits);
  }

  /** Teacher-forced forward pass: src [B, S], tgtIn [B, T] -> logits [B, T, V]. */
  forward(src: Tensor, tgtIn: Tensor, pad: PaddingOptions = {}): Tensor {
    const { memory, srcMask } = this.encode(src, pad);
    return this.project(this.decode(tgtIn, memory, srcMask, pad.tgtPadding));
  }

  /** Label-smoothed cross-entropy averaged over non-PAD target tokens. */
  loss(
    src: Tensor,
    tgtIn: Tensor,
    tgtOut: Tensor,
    labelSmoothing = 0,
    pad: PaddingOptions = {},
  ): { loss: Tensor; logits: Tensor } {
    const logits = this.forward(src, tgtIn, pad);
    // Padded label positions are ignored: by PAD id, or by the explicit target padding.
    const labels = pad.tgtPadding ? where(pad.tgtPadding, this.config.padId, tgtOut) : tgtOut;
    const loss = crossEntropy(logits, labels, { ignoreIndex: this.config.padId, labelSmoothing });
    return { loss: this.tap("loss", loss), logits };
  }

  /**
   * Starts incremental decoding for a source batch [N, S]: encodes it and
   * computes every layer's cross-attention K/V once. The decoder then runs
   * N * group rows (group consecutive rows per sentence).
   */
  startDecoding(src: Tensor, opts: StartDecodingOptions = {}): EncoderDecoderState {
    const group = opts.group ?? 1;
    return tidy(() => {
      const { memory, srcMask } = this.encode(src);
      const cache = this.decoder.layers.items.map((layer) => {
        const c = { self: new KVCache(opts.capacity ?? this.config.maxLen), cross: new KVCache() };
        layer.cross_attn.primeMemory(memory, c.cross);
        return c;
      });
      return { srcMask: keep(srcMask), cache, length: 0, group };
    });
  }

  /**
   * Feeds the next target tokens [R, t] (usually t = 1) and returns their
   * logits [R, t, V], or with lastOnly only the last position's [R, 1, V].
   */
  decodeStep(
    state: EncoderDecoderState,
    tokens: Tensor,
    opts: { lastOnly?: boolean } = {},
  ): Tensor {
    const t = tokens.shape[1];
    // One new position may see every cached one: no mask to build.
    const causal =
      this.interventions.noCausalMask || t === 1
        ? null
        : causalMask(t, state.length + t, state.length);
    let h = this.decoder.forward(
      tokens,
      this.tgtTable,
      null,
      causal,
      state.srcMask,
      state.cache,
      state.length,
      state.group,
    );
    state.length += t;
    if (opts.lastOnly && t > 1) h = slice(h, 1, t - 1);
    return this.project(h);
  }

  /**
   * Reorders the decoding batch in place: decoder row i continues old row
   * rowParents[i] (beam search), and when sentenceKeep is given, sentence j
   * is old sentence sentenceKeep[j] (finished sentences leave; a row may move
   * into the place of a dropped one, but no rows may swap places in a cycle).
   */
  selectRows(
    state: EncoderDecoderState,
    rowParents: ArrayLike<number>,
    sentenceKeep?: ArrayLike<number>,
  ): void {
    noGrad(() => {
      for (const c of state.cache) {
        c.self.reorder(rowParents);
        if (sentenceKeep) c.cross.reorder(sentenceKeep);
      }
      if (sentenceKeep) {
        const old = state.srcMask;
        reorderRows(old, sentenceKeep, () => {
          throw new AttnError("selectRows: kept sentences must not swap places in a cycle");
        });
        state.srcMask = keep(slice(old, 0, 0, sentenceKeep.length));
        old.dispose();
      }
    });
  }
}

/** Frees the KV caches of an incremental decoding (the state can be started afresh). */
export function freeDecodingCaches(state: EncoderDecoderState): void {
  for (const c of state.cache) {
    c.self.dispose();
    c.cross.dispose();
  }
  state.srcMask.dispose();
}
