/**
 * The experiments: each changes one thing of a small model and measures what
 * happens, over several seeds (`attn experiment --list`).
 */
import { AttnError } from "../errors.js";
import type { ExperimentDef } from "./experiment.js";
import { decoding } from "./decoding.js";
import { feedForward } from "./feed-forward.js";
import { positional } from "./positional.js";

export {
  type ExperimentDef,
  type ExperimentBody,
  type RunOptions,
  DEFAULT_SEEDS,
  runExperiment,
} from "./experiment.js";
export * from "./result.js";
export { vegaLiteSpec, plotToSvg } from "./plot.js";

/** Every experiment, in the order of the concept chapters. */
export const EXPERIMENTS: readonly ExperimentDef[] = [positional, feedForward, decoding];

export function experimentNames(): string[] {
  return EXPERIMENTS.map((e) => e.name);
}

export function getExperiment(name: string): ExperimentDef {
  const e = EXPERIMENTS.find((x) => x.name === name);
  if (!e)
    throw new AttnError(
      `unknown experiment "${name}" (choose from ${experimentNames().join(", ")}; see attn experiment --list)`,
    );
  return e;
}
