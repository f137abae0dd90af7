/**
 * Learning-rate schedules: pure functions of the optimizer step n, counted
 * from 1 (the first update uses schedule(1)), and of `progress`, the fraction
 * of the run's horizon (its step count or time budget) done after this step.
 * The Trainer passes progress, so a time-budgeted run decays by the end of
 * its budget; without it, decaying schedules use n / totalSteps. Steps below 1
 * are treated as 1.
 */
import { AttnError } from "../errors.js";

/** The learning rate for optimizer step n (n = 1, 2, ...), `progress` in [0, 1] of the horizon. */
export type Schedule = (step: number, progress?: number) => number;

function positive(what: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new AttnError(`schedule: ${what} must be a positive number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function nonNegative(what: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new AttnError(
      `schedule: ${what} must be a non-negative number, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function stepOf(n: number): number {
  return Math.max(n, 1);
}

export interface PaperScheduleOptions {
  dModel: number;
  /** Warm-up steps (the paper: 4000). */
  warmup: number;
  /** Multiplier (default 1, as in the paper). */
  factor?: number;
}

/**
 * "Attention Is All You Need" §5.3:
 * lrate = factor · d_model^-0.5 · min(n^-0.5, n · warmup^-1.5).
 * Grows linearly for `warmup` steps, peaks at n = warmup with
 * factor · (d_model · warmup)^-0.5, then decays as n^-0.5.
 */
export function paperSchedule(opts: PaperScheduleOptions): Schedule {
  const d = positive("dModel", opts.dModel);
  const w = positive("warmup", opts.warmup);
  const f = positive("factor", opts.factor ?? 1);
  const scale = f * d ** -0.5;
  const w15 = w ** -1.5;
  return (step) => {
    const n = stepOf(step);
    return scale * Math.min(n ** -0.5, n * w15);
  };
}

export interface CosineScheduleOptions {
  peakLr: number;
  /** Linear warm-up steps from peakLr/warmup at n = 1 to peakLr at n = warmup (0: none). */
  warmup: number;
  /**
   * The step at which the decay reaches minLr (it stays there after), when the caller gives
   * no progress. Optional when it always does (a time-budgeted run).
   */
  totalSteps?: number;
  /** Default 0. */
  minLr?: number;
}

/** Shared by the decaying schedules: warm-up, then `shape` (1 at the start, 0 at the end) from peak to minLr. */
function decaying(opts: CosineScheduleOptions, shape: (fraction: number) => number): Schedule {
  const peak = positive("peakLr", opts.peakLr);
  const warmup = nonNegative("warmup", opts.warmup);
  const total = opts.totalSteps === undefined ? undefined : positive("totalSteps", opts.totalSteps);
  const minLr = nonNegative("minLr", opts.minLr ?? 0);
  if (total !== undefined && total < warmup) {
    throw new AttnError(`schedule: totalSteps (${total}) must be at least warmup (${warmup})`);
  }
  if (minLr > peak) throw new AttnError(`schedule: minLr (${minLr}) is above peakLr (${peak})`);
  return (step, progress) => {
    const n = stepOf(step);
    if (progress === undefined) {
      // Step-based: warm up, then decay over the steps after the warm-up.
      if (total === undefined) {
        throw new AttnError("schedule: without totalSteps the caller must give the progress");
      }
      if (n < warmup) return (peak * n) / warmup;
      if (n >= total) return minLr;
      return minLr + (peak - minLr) * shape((n - warmup) / (total - warmup));
    }
    const p = Math.min(1, Math.max(0, progress));
    const lr = minLr + (peak - minLr) * shape(p);
    return n < warmup ? (lr * n) / warmup : lr;
  };
}

/**
 * Linear warm-up to peakLr at n = warmup, then half a cosine from peakLr down
 * to minLr at the end of the horizon (n = totalSteps, or progress 1); minLr after that.
 */
export function cosineSchedule(opts: CosineScheduleOptions): Schedule {
  return decaying(opts, (f) => 0.5 * (1 + Math.cos(Math.PI * f)));
}

/** As cosineSchedule, with a straight line from peakLr to minLr. */
export function linearSchedule(opts: CosineScheduleOptions): Schedule {
  return decaying(opts, (f) => 1 - f);
}

/** A constant rate, optionally after a linear warm-up (lr·n/warmup below n = warmup). */
export function constantSchedule(lr: number, warmup = 0): Schedule {
  positive("lr", lr);
  nonNegative("warmup", warmup);
  return (step) => {
    const n = stepOf(step);
    return n < warmup ? (lr * n) / warmup : lr;
  };
}

export type ScheduleConfig =
  | ({ type: "paper" } & PaperScheduleOptions)
  | ({ type: "cosine" } & CosineScheduleOptions)
  | ({ type: "linear" } & CosineScheduleOptions)
  | { type: "constant"; lr: number; warmup?: number };

export const SCHEDULE_TYPES = ["paper", "cosine", "linear", "constant"] as const;

const FIELDS: Record<string, string[]> = {
  paper: ["type", "dModel", "warmup", "factor"],
  cosine: ["type", "peakLr", "warmup", "totalSteps", "minLr"],
  linear: ["type", "peakLr", "warmup", "totalSteps", "minLr"],
  constant: ["type", "lr", "warmup"],
};

/**
 * A schedule from a JSON config: {"type": "paper", "dModel", "warmup", "factor"?},
 * {"type": "cosine", "peakLr", "warmup", "totalSteps", "minLr"?} or
 * {"type": "constant", "lr", "warmup"?}. Unknown types and fields are errors.
 */
export function scheduleFromConfig(cfg: unknown): Schedule {
  if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg)) {
    throw new AttnError(
      `schedule: expected an object with a "type" field (${SCHEDULE_TYPES.join(", ")})`,
    );
  }
  const c = cfg as Record<string, unknown>;
  const type = c.type;
  if (typeof type !== "string" || !(type in FIELDS)) {
    throw new AttnError(
      `schedule: unknown type ${JSON.stringify(type)} (expected one of ${SCHEDULE_TYPES.join(", ")})`,
    );
  }
  for (const k of Object.keys(c)) {
    if (!FIELDS[type].includes(k)) {
      throw new AttnError(
        `schedule: unknown field ${JSON.stringify(k)} for type "${type}" (allowed: ${FIELDS[type].slice(1).join(", ")})`,
      );
    }
  }
  switch (type) {
    case "paper":
      return paperSchedule({
        dModel: c.dModel as number,
        warmup: c.warmup as number,
        factor: c.factor as number | undefined,
      });
    case "cosine":
    case "linear":
      return (type === "cosine" ? cosineSchedule : linearSchedule)({
        peakLr: c.peakLr as number,
        warmup: c.warmup as number,
        totalSteps: c.totalSteps as number | undefined,
        minLr: c.minLr as number | undefined,
      });
    default:
      return constantSchedule(c.lr as number, (c.warmup as number | undefined) ?? 0);
  }
}
