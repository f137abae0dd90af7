/** Small models and data sources for the trainer and checkpoint tests. */
import { Dropout, Embedding, Linear } from "../../src/nn/layers.js";
import { Module } from "../../src/nn/module.js";
import { Mulberry32, type Tensor, crossEntropy, fromArray, tanh } from "../../src/tensor/index.js";
import type { DataSource, TrainableModel } from "../../src/train/trainer.js";

export const VOCAB = 11;
export const PAD = 0;

/** Flat token ids and next-token targets; targets equal to PAD are ignored. */
export interface TokenBatch {
  ids: number[];
  targets: number[];
}

/** Embedding -> (dropout) -> Linear -> tanh -> Linear, over single tokens. */
export class TinyNet extends Module {
  readonly embed: Embedding;
  readonly drop: Dropout;
  readonly hidden: Linear;
  readonly out: Linear;
  constructor(dropout: number, rng?: Mulberry32) {
    super();
    this.embed = this.addModule("embed", new Embedding(VOCAB, 8, { rng }));
    this.drop = this.addModule("drop", new Dropout(dropout));
    this.hidden = this.addModule("hidden", new Linear(8, 12, { rng }));
    this.out = this.addModule("out", new Linear(12, VOCAB, { rng }));
  }
  forward(ids: Tensor): Tensor {
    return this.out.forward(tanh(this.hidden.forward(this.drop.forward(this.embed.forward(ids)))));
  }
}

export function tinyModel(net: TinyNet): TrainableModel<TokenBatch> {
  return {
    module: net,
    loss(b) {
      const ids = fromArray(b.ids, [b.ids.length], "int32");
      const targets = fromArray(b.targets, [b.targets.length], "int32");
      const loss = crossEntropy(net.forward(ids), targets, { ignoreIndex: PAD });
      return { loss, tokens: b.targets.filter((t) => t !== PAD).length };
    },
  };
}

/** A fixed dataset of examples (short token sequences with some PAD targets). */
export function makeExamples(n: number, seed: number): TokenBatch[] {
  const rng = new Mulberry32(seed);
  const out: TokenBatch[] = [];
  for (let i = 0; i < n; i++) {
    const len = rng.intIn(2, 6);
    const ids: number[] = [];
    const targets: number[] = [];
    for (let j = 0; j < len; j++) {
      const id = rng.intIn(1, VOCAB - 1);
      ids.push(id);
      targets.push(rng.uniform() < 0.25 ? PAD : ((id * 3) % (VOCAB - 1)) + 1);
    }
    out.push({ ids, targets });
  }
  return out;
}

function concat(xs: TokenBatch[]): TokenBatch {
  return { ids: xs.flatMap((x) => x.ids), targets: xs.flatMap((x) => x.targets) };
}

interface ShuffleState {
  rng: { a: number; spare: number | null };
  order: number[];
  pos: number;
  epoch: number;
}

/** Shuffles the examples every epoch with its own seeded RNG; each step gives `micro` micro-batches of `per` examples. */
export class ShuffledData implements DataSource<TokenBatch> {
  private readonly rng: Mulberry32;
  private order: number[] = [];
  private pos = 0;
  epoch = 0;

  constructor(
    readonly examples: TokenBatch[],
    readonly micro: number,
    readonly per: number,
    seed: number,
  ) {
    this.rng = new Mulberry32(seed);
    this.reshuffle();
  }

  private reshuffle(): void {
    this.order = this.examples.map((_, i) => i);
    for (let i = this.order.length - 1; i > 0; i--) {
      const j = this.rng.intIn(0, i);
      [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
    }
    this.pos = 0;
  }

  private take(): TokenBatch {
    if (this.pos >= this.order.length) {
      this.reshuffle();
      this.epoch++;
    }
    return this.examples[this.order[this.pos++]];
  }

  next(): TokenBatch[] {
    const out: TokenBatch[] = [];
    for (let m = 0; m < this.micro; m++) {
      out.push(concat(Array.from({ length: this.per }, () => this.take())));
    }
    return out;
  }

  getState(): ShuffleState {
    return {
      rng: this.rng.getState(),
      order: this.order.slice(),
      pos: this.pos,
      epoch: this.epoch,
    };
  }

  setState(state: unknown): void {
    const s = state as ShuffleState;
    this.rng.setState(s.rng);
    this.order = s.order.slice();
    this.pos = s.pos;
    this.epoch = s.epoch;
  }
}

/** A data source that returns the given steps in order, forever (stateless apart from the position). */
export class FixedData<B> implements DataSource<B> {
  private i = 0;
  constructor(readonly steps: B[][]) {}
  next(): B[] {
    return this.steps[this.i++ % this.steps.length];
  }
  getState(): unknown {
    return { i: this.i };
  }
  setState(s: unknown): void {
    this.i = (s as { i: number }).i;
  }
}

/** The parameters' bytes, for bit-exact comparison. */
export function paramBytes(m: Module): Map<string, Buffer> {
  return new Map(
    m.namedParameters().map(([n, p]) => {
      const v = p.readSync();
      return [n, Buffer.from(v.buffer, v.byteOffset, v.byteLength)];
    }),
  );
}

export function sameBytes(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [n, x] of a) if (!b.get(n)?.equals(x)) return false;
  return true;
}
