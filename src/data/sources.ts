/**
 * Data sources for the Trainer: each yields the micro-batches of one step and
 * can save/restore its exact position (RNG state, epoch, cursor) for resume.
 */
import { Mulberry32 } from "../tensor/random.js";
import { AttnError } from "../errors.js";
import {
  type Seq2SeqBatch,
  type Seq2SeqExample,
  batchByTokens,
  makeSeq2SeqBatch,
} from "./batching.js";
import type { Task } from "./tasks.js";

type RngState = { a: number; spare: number | null };

/** Endless synthetic pairs from a task, `batchSize` fresh examples a step. */
export class TaskSource {
  private rng: Mulberry32;

  constructor(
    private readonly task: Task,
    private readonly encode: (s: string) => number[],
    private readonly batchSize: number,
    seed: number,
  ) {
    this.rng = new Mulberry32(seed);
  }

  next(): Seq2SeqBatch[] {
    const examples: Seq2SeqExample[] = [];
    for (let i = 0; i < this.batchSize; i++) {
      const p = this.task.sample(this.rng);
      examples.push({ src: this.encode(p.src), tgt: this.encode(p.tgt) });
    }
    return [makeSeq2SeqBatch(examples)];
  }

  getState(): unknown {
    return { rng: this.rng.getState() };
  }

  setState(s: unknown): void {
    this.rng.setState((s as { rng: RngState }).rng);
  }
}

/** A fixed corpus of pairs, in length-bucketed token-budget batches, reshuffled every epoch. */
export class PairsSource {
  private batches: Seq2SeqBatch[] = [];
  private cursor = 0;
  epoch = 0;
  private rng: Mulberry32;
  private epochRng: RngState = { a: 0, spare: null };

  constructor(
    private readonly examples: Seq2SeqExample[],
    private readonly maxTokens: number,
    seed: number,
  ) {
    if (examples.length === 0) throw new AttnError("training data: no usable sentence pairs");
    this.rng = new Mulberry32(seed);
    this.startEpoch();
  }

  private startEpoch(): void {
    this.epochRng = this.rng.getState();
    this.batches = batchByTokens(this.examples, {
      maxTokens: this.maxTokens,
      shuffle: true,
      rng: this.rng,
      bucket: true,
    });
    this.cursor = 0;
  }

  next(): Seq2SeqBatch[] {
    if (this.cursor >= this.batches.length) {
      this.epoch++;
      this.startEpoch();
    }
    return [this.batches[this.cursor++]];
  }

  getState(): unknown {
    // The batches of an epoch are a function of the RNG state at its start.
    return { epoch: this.epoch, cursor: this.cursor, rngAtEpochStart: this.epochRng };
  }

  setState(s: unknown): void {
    const st = s as { epoch: number; cursor: number; rngAtEpochStart: RngState };
    this.rng.setState(st.rngAtEpochStart);
    this.startEpoch();
    this.epoch = st.epoch;
    this.cursor = st.cursor;
  }
}

export interface LmBatch {
  input: Int32Array;
  target: Int32Array;
  batch: number;
  context: number;
}

/** Random windows of a long token stream for next-token prediction. */
export class LmSource {
  private rng: Mulberry32;

  constructor(
    private readonly ids: Int32Array,
    private readonly context: number,
    private readonly batchSize: number,
    seed: number,
  ) {
    if (ids.length < context + 2) {
      throw new AttnError(
        `training text is too short: ${ids.length} tokens for a context of ${context}`,
      );
    }
    this.rng = new Mulberry32(seed);
  }

  next(): LmBatch[] {
    const B = this.batchSize;
    const T = this.context;
    const input = new Int32Array(B * T);
    const target = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const start = this.rng.nextU32() % (this.ids.length - T - 1);
      input.set(this.ids.subarray(start, start + T), b * T);
      target.set(this.ids.subarray(start + 1, start + T + 1), b * T);
    }
    return [{ input, target, batch: B, context: T }];
  }

  getState(): unknown {
    return { rng: this.rng.getState() };
  }

  setState(s: unknown): void {
    this.rng.setState((s as { rng: RngState }).rng);
  }
}
