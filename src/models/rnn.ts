/**
 * The recurrent baseline the Transformer replaced: a GRU encoder-decoder with
 * additive attention (Bahdanau et al. 2015, "Neural Machine Translation by
 * Jointly Learning to Align and Translate"), built from the engine's ops.
 *
 *   encoder (unidirectional): h_j = GRU(E[x_j], h_{j−1}), h_0 = 0
 *   decoder:  c_t = Σ_j α_tj h_j,  α_t = softmax_j(vᵀ tanh(W s_{t−1} + U h_j))
 *             s_t = GRU([E[y_{t−1}]; c_t], s_{t−1}),  s_0 = h_S (the last real source state)
 *             p(y_t) = softmax(W_o [s_t; c_t] + b_o)
 *
 * Unidirectional rather than Bahdanau's bidirectional encoder: the distance
 * from a source token to an output is then the number of recurrent steps
 * between them (what rnn-vs-transformer measures), and the encoder does half
 * the sequential work. The recurrence runs one time step at a time: that is
 * the cost the Transformer removed (§4, "Why Self-Attention"). Source and
 * target share one embedding table, as the Transformer's do (one alphabet).
 * The same batch tensors as the Transformer: PAD 0, BOS 1, EOS 2.
 */
import { AttnError } from "../errors.js";
import { Embedding, Linear } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import {
  Mulberry32,
  type Tensor,
  concat,
  crossEntropy,
  detach,
  embedding,
  equal,
  fromArray,
  noGrad,
  select,
  slice,
  stack,
  tidy,
  where,
} from "../tensor/index.js";
import { fmt } from "../tensor/shape.js";
import { AdditiveAttention, GRUCell } from "./gru.js";

export interface RNNConfig {
  vocabSize: number;
  /** Embedding width E. */
  embed: number;
  /** GRU state width H (encoder and decoder; also the attention width). */
  hidden: number;
  seed: number;
  padId: number;
  bosId: number;
  eosId: number;
}

/** Runtime switches for experiments (the forward values do not change). */
export interface RNNInterventions {
  /**
   * Attention reads the encoder states detached: gradients reach the source
   * only through the recurrence (s_0 = h_S, then the decoder's steps), as in
   * an encoder-decoder without attention.
   */
  detachMemory?: boolean;
}

export const RNN_DEFAULTS: Omit<RNNConfig, "vocabSize"> = {
  embed: 64,
  hidden: 128,
  seed: 0,
  padId: 0,
  bosId: 1,
  eosId: 2,
};

/** The number of parameters of a config, without building the model. */
export function rnnParameterCount(c: Pick<RNNConfig, "vocabSize" | "embed" | "hidden">): number {
  const { vocabSize: V, embed: E, hidden: H } = c;
  const gru = (inp: number) => 3 * H * (inp + H) + 6 * H;
  return V * E + gru(E) + gru(E + H) + (2 * H * H + H) + (2 * H * V + V);
}

/** Reads the source left to right; records its embedded input as the tap `encoder.embed`. */
class RNNEncoder extends Module {
  readonly cell: GRUCell;

  constructor(E: number, H: number, rng: Mulberry32) {
    super();
    this.cell = this.addModule("cell", new GRUCell(E, H, rng));
  }

  /**
   * src [B, S] -> states [B, S, H] and the final state [B, H]. A PAD position
   * keeps the previous state, so the final state is each row's last real one.
   */
  forward(src: Tensor, table: Tensor, padId: number): { states: Tensor; last: Tensor } {
    const [B, S] = src.shape;
    const H = this.cell.hiddenSize;
    const x = this.tap("embed", embedding(table, src));
    const ids = src.readSync();
    let h = fromArray(new Float32Array(B * H), [B, H], x.dtype);
    const states: Tensor[] = [];
    for (let j = 0; j < S; j++) {
      const next = this.cell.forward(select(x, 1, j), h);
      let padded = false;
      for (let b = 0; b < B && !padded; b++) padded = ids[b * S + j] === padId;
      h = padded ? where(equal(slice(src, 1, j, j + 1), padId), h, next) : next;
      states.push(h);
    }
    return { states: stack(states, 1), last: h };
  }
}

/** What the decoder reads of the source: encoder states, their attention keys U h_j, the PAD mask. */
interface Memory {
  states: Tensor;
  keys: Tensor;
  mask: Tensor | null;
}

/** One decoder step: attention, GRU, output layer. */
class RNNDecoder extends Module {
  readonly cell: GRUCell;
  readonly attention: AdditiveAttention;
  readonly out: Linear;

  constructor(E: number, H: number, V: number, rng: Mulberry32) {
    super();
    this.cell = this.addModule("cell", new GRUCell(E + H, H, rng));
    this.attention = this.addModule("attention", new AdditiveAttention(H, H, H, rng));
    this.out = this.addModule("out", new Linear(2 * H, V, { rng }));
  }

  /** s_t and the logits of y_t from s_{t−1}, the embedded previous token y [B, E] and the source memory. */
  step(s: Tensor, y: Tensor, mem: Memory): { s: Tensor; logits: Tensor } {
    // c_t = Σ_j α_tj h_j, α_t from s_{t−1}
    const { context } = this.attention.forward(s, mem.states, mem.keys, mem.mask);
    // s_t = GRU([E[y_{t−1}]; c_t], s_{t−1})
    const next = this.cell.forward(concat([y, context], -1), s);
    // logits_t = W_o [s_t; c_t] + b_o
    return { s: next, logits: this.out.forward(concat([next, context], -1)) };
  }
}

export class RNNSeq2Seq extends Module {
  readonly config: RNNConfig;
  readonly embed: Embedding;
  readonly encoder: RNNEncoder;
  readonly decoder: RNNDecoder;
  interventions: RNNInterventions = {};

  constructor(config: Partial<RNNConfig> & { vocabSize: number }) {
    super();
    const cfg = { ...RNN_DEFAULTS, ...config };
    for (const k of ["vocabSize", "embed", "hidden"] as const) {
      if (!(Number.isInteger(cfg[k]) && cfg[k] > 0))
        throw new AttnError(`rnn: ${k} must be a positive integer, got ${cfg[k]}`);
    }
    this.config = cfg;
    const rng = new Mulberry32(cfg.seed);
    this.embed = this.addModule("embed", new Embedding(cfg.vocabSize, cfg.embed, { rng }));
    this.encoder = this.addModule("encoder", new RNNEncoder(cfg.embed, cfg.hidden, rng));
    this.decoder = this.addModule(
      "decoder",
      new RNNDecoder(cfg.embed, cfg.hidden, cfg.vocabSize, rng),
    );
    this.namedModules(); // dotted paths for taps
  }

  get parameterCount(): number {
    return this.numParameters();
  }

  private checkIds(ids: Tensor, what: string): void {
    if (ids.dtype !== "int32" || ids.rank !== 2)
      throw new AttnError(
        `rnn: ${what} must be int32 token ids [batch, length], got ${ids.dtype} ${fmt(ids.shape)}`,
      );
  }

  /** The source memory the decoder attends to, and its initial state. */
  encode(src: Tensor): Memory & { last: Tensor } {
    this.checkIds(src, "source");
    const enc = this.encoder.forward(src, this.embed.weight, this.config.padId);
    const states = this.interventions.detachMemory ? detach(enc.states) : enc.states;
    const mask = src.readSync().includes(this.config.padId) ? equal(src, this.config.padId) : null;
    return { states, keys: this.decoder.attention.keys(states), mask, last: enc.last };
  }

  /** Teacher-forced logits [B, T, V] for src [B, S] and tgtIn [B, T] (BOS y1..yn). */
  forward(src: Tensor, tgtIn: Tensor): Tensor {
    this.checkIds(tgtIn, "target");
    const mem = this.encode(src);
    const y = this.embed.forward(tgtIn);
    let s = mem.last;
    const logits: Tensor[] = [];
    for (let t = 0; t < tgtIn.shape[1]; t++) {
      const r = this.decoder.step(s, select(y, 1, t), mem);
      s = r.s;
      logits.push(r.logits);
    }
    return stack(logits, 1);
  }

  /** Cross-entropy averaged over non-PAD target tokens (the Transformer's loss signature). */
  loss(
    src: Tensor,
    tgtIn: Tensor,
    tgtOut: Tensor,
    labelSmoothing = 0,
  ): { loss: Tensor; logits: Tensor } {
    const logits = this.forward(src, tgtIn);
    const loss = crossEntropy(logits, tgtOut, { ignoreIndex: this.config.padId, labelSmoothing });
    return { loss, logits };
  }

  /** Greedy decoding of src [B, S]: up to maxLen tokens per row, without BOS/EOS. */
  greedyDecode(src: Tensor, maxLen: number): number[][] {
    const B = src.shape[0];
    const { bosId, eosId, vocabSize: V } = this.config;
    const outs: number[][] = Array.from({ length: B }, () => []);
    const done = new Array<boolean>(B).fill(false);
    noGrad(() =>
      tidy(() => {
        const mem = this.encode(src);
        let s = mem.last;
        let prev = new Int32Array(B).fill(bosId);
        for (let t = 0; t < maxLen && done.includes(false); t++) {
          // Each step in its own scope: only the new state outlives it.
          const r = tidy(() => {
            const y = fromArray(prev, [B], "int32");
            const step = this.decoder.step(s, this.embed.forward(y), mem);
            return { s: step.s, logits: step.logits.readSync() };
          });
          if (s !== mem.last) s.dispose();
          s = r.s;
          const next = new Int32Array(B);
          for (let b = 0; b < B; b++) {
            let best = 0;
            for (let v = 1; v < V; v++) if (r.logits[b * V + v] > r.logits[b * V + best]) best = v;
            next[b] = best;
            if (done[b]) continue;
            if (best === eosId) done[b] = true;
            else outs[b].push(best);
          }
          prev = next;
        }
      }),
    );
    return outs;
  }
}

/** A config's hidden width H (multiple of 8) whose parameter count is nearest `target`. */
export function matchHidden(vocabSize: number, embed: number, target: number): number {
  let best = 8;
  for (let H = 8; H <= 1024; H += 8) {
    const d = Math.abs(rnnParameterCount({ vocabSize, embed, hidden: H }) - target);
    if (d < Math.abs(rnnParameterCount({ vocabSize, embed, hidden: best }) - target)) best = H;
  }
  return best;
}
