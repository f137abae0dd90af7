/**
 * The shape of an experiment: it trains small models that differ in exactly
 * one thing, over several seeds, and returns an ExperimentResult. The CLI
 * (`attn experiment`) and the explorer's Experiments view both run these.
 */
import { getBackend } from "../tensor/engine.js";
import type { ExperimentResult, MetricSpec, PlotSpec, Row } from "./result.js";

export interface RunOptions {
  /** The short version (CI's smoke test, the explorer's live run): under ~2 minutes on 2 cores. */
  quick: boolean;
  /** Seeds of the arms (at least 3). */
  seeds: number[];
  /** Progress lines ("positional: sinusoidal on reverse, seed 1 (3/24)"). */
  log?: (line: string) => void;
}

export interface ExperimentDef {
  name: string;
  title: string;
  /** The question it answers, in one sentence (shown by --list). */
  question: string;
  /** What the arms are and what changes between them (shown by --list). */
  arms: string;
  /** The docs chapter that explains the concept (docs/concepts/...). */
  chapter: string;
  /** The paper's section. */
  paper: string;
  run(o: RunOptions): Promise<ExperimentBody> | ExperimentBody;
}

/** What an experiment's run() returns; runExperiment adds the bookkeeping. */
export interface ExperimentBody {
  budget: Record<string, number | string>;
  metrics: MetricSpec[];
  rows: Row[];
  conclusions: string[];
  plots: PlotSpec[];
  extra?: Record<string, unknown>;
}

export const DEFAULT_SEEDS = [1, 2, 3];

/** Counts the trials of a run for progress lines. */
export class Progress {
  private done = 0;
  constructor(
    private readonly name: string,
    private readonly total: number,
    private readonly log?: (line: string) => void,
  ) {}

  next(what: string): void {
    this.done++;
    this.log?.(`${this.name}: ${what} (${this.done}/${this.total})`);
  }
}

export async function runExperiment(
  def: ExperimentDef,
  o: RunOptions & { commit?: string | null },
): Promise<ExperimentResult> {
  const start = performance.now();
  const body = await def.run(o);
  return {
    format: "attention-lab-experiment",
    version: 1,
    experiment: def.name,
    title: def.title,
    question: def.question,
    quick: o.quick,
    seeds: [...o.seeds],
    budget: body.budget,
    backend: getBackend().name,
    commit: o.commit ?? null,
    date: new Date().toISOString(),
    wallMs: Math.round(performance.now() - start),
    metrics: body.metrics,
    rows: body.rows,
    conclusions: body.conclusions,
    plots: body.plots,
    ...(body.extra ? { extra: body.extra } : {}),
  };
}
