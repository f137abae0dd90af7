/**
 * The experiments: each changes one thing of a small model and measures what
 * happens, over several seeds (`attn experiment --list`).
 */
import { AttnError } from "../errors.js";
import type { ExperimentDef } from "./experiment.js";
import { decoding } from "./decoding.js";
import { feedForward } from "./feed-forward.js";
import { causalMask } from "./causal-mask.js";
import { positional } from "./positional.js";
import { paddingMask } from "./padding-mask.js";
import { scaling } from "./scaling.js";
import { embeddingExperiment } from "./embedding.js";
import { heads } from "./heads.js";
import { labelSmoothing } from "./label-smoothing.js";
import { normPlacement } from "./norm-placement.js";
import { rnnVsTransformer } from "./rnn-vs-transformer.js";

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
export const EXPERIMENTS: readonly ExperimentDef[] = [
  embeddingExperiment,
  positional,
  scaling,
  causalMask,
  paddingMask,
  heads,
  normPlacement,
  feedForward,
  labelSmoothing,
  decoding,
  rnnVsTransformer,
];

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
