/**
 * causal-mask: why the decoder's self-attention masks the future (§3.2.3,
 * "to prevent leftward information flow"). A GPT trained on "abc>cba." with
 * the loss on every next token: without the mask every position can read the
 * token it is asked to predict, so the training loss falls below what any
 * honest predictor can reach, while generation, which has no future to read
 * (tokens are produced one at a time), fails.
 */
import { makeSplit } from "../data/tasks.js";
import { type ExperimentDef, Progress } from "./experiment.js";
import { trainLM } from "./lm-harness.js";
import {
  type MetricSpec,
  type PlotSpec,
  type Row,
  RowBuilder,
  compareArms,
  findCell,
  formatValue,
  mean,
  sd,
} from "./result.js";
import { lengthTask } from "./tasks.js";

export const CAUSAL_ARMS = ["causal mask", "no mask"] as const;

const TRAIN_LOSS: MetricSpec = {
  key: "trainLoss",
  label: "training loss (last 10%)",
  better: "lower",
};
const HELD_LOSS: MetricSpec = {
  key: "heldLoss",
  label: "held-out loss (teacher-forced)",
  better: "lower",
};
const ANSWER: MetricSpec = {
  key: "answerAcc",
  label: "answer token acc (teacher-forced)",
  better: "higher",
  format: "percent",
};
const EXACT: MetricSpec = {
  key: "exact",
  label: "held-out exact match (generated)",
  better: "higher",
  format: "percent",
};

export function causalBudget(quick: boolean) {
  return quick
    ? { steps: 250, batch: 32, minLen: 1, maxLen: 8, evalSize: 200 }
    : { steps: 1200, batch: 64, minLen: 1, maxLen: 10, evalSize: 500 };
}

/**
 * The lowest mean next-token loss (nats/token) a model that sees only the past
 * can reach on "src>tgt." with src uniform over `symbols` and its length
 * uniform in [minLen, maxLen]: the question's characters and its length are
 * random; the answer is determined. The loss is averaged over tokens, so this
 * is E[Σ entropies] / E[tokens].
 */
export function causalLossFloor(minLen: number, maxLen: number, symbols: number): number {
  const lengths = maxLen - minLen + 1;
  const lnK = Math.log(symbols);
  let entropy = 0;
  let tokens = 0;
  for (let n = minLen; n <= maxLen; n++) tokens += (2 * n + 2) / lengths;
  // Predicting the token after i question characters (reached when n ≥ i).
  for (let i = 0; i <= maxLen; i++) {
    const reach = (maxLen - Math.max(i, minLen) + 1) / lengths;
    if (i < minLen) entropy += reach * lnK;
    else {
      const stop = 1 / (maxLen - i + 1); // P(n = i | n ≥ i): the next token is ">"
      const h =
        -(stop * Math.log(stop)) - (stop < 1 ? (1 - stop) * Math.log((1 - stop) / symbols) : 0);
      entropy += reach * h;
    }
  }
  return entropy / tokens;
}

export const causalMask: ExperimentDef = {
  name: "causal-mask",
  title: "Causal mask: with and without",
  question:
    "What happens to a language model trained without the causal mask: does its low training loss carry over to generating answers it has not seen?",
  arms: `${CAUSAL_ARMS.join(" | ")} (GPT.interventions.noCausalMask, in training and evaluation), same model and steps otherwise; a GPT trained on reverse as text ("abc>cba."), the loss on every next token; held-out answers generated greedily from "abc>"`,
  chapter: "docs/concepts/masks.md",
  paper: "§3.2.3",
  run({ quick, seeds, log }) {
    const b = causalBudget(quick);
    const task = lengthTask("reverse", b.minLen, b.maxLen);
    const held = makeSplit(task, 1_000_003, b.evalSize);
    const rows = new RowBuilder();
    const curves = new Map<string, number[][]>();
    const progress = new Progress("causal-mask", CAUSAL_ARMS.length * seeds.length, log);
    for (const arm of CAUSAL_ARMS) {
      for (const seed of seeds) {
        const out = trainLM({
          task,
          interventions: { noCausalMask: arm === "no mask" },
          seed,
          steps: b.steps,
          batch: b.batch,
          evalSets: { held },
        });
        const h = out.evals.held;
        rows.add(arm, "", {
          trainLoss: out.trainLoss,
          heldLoss: h.loss,
          answerAcc: h.answerAcc,
          exact: h.exact,
        });
        curves.set(arm, [...(curves.get(arm) ?? []), out.losses]);
        progress.next(`${arm}, seed ${seed}`);
      }
    }
    const table = rows.rows();
    const floor = causalLossFloor(b.minLen, b.maxLen, new Set(task.alphabet).size);
    const [masked, unmasked] = CAUSAL_ARMS;
    const conclusions = [
      compareArms(table, TRAIN_LOSS, unmasked, masked).sentence,
      compareArms(table, HELD_LOSS, unmasked, masked).sentence,
      compareArms(table, EXACT, masked, unmasked).sentence,
      floorSentence(table, floor),
    ];
    const every = Math.max(1, Math.round(b.steps / 25));
    const series = [...curves].map(([arm, runs]) => ({ arm, points: windows(runs, every) }));
    series.push({
      arm: "floor without seeing the future",
      points: series[0].points.map((p) => ({ x: p.x, mean: floor, sd: 0 })),
    });
    const plots: PlotSpec[] = [
      {
        kind: "lines",
        metric: "trainLoss",
        title: "Training loss",
        xLabel: "step",
        yLabel: "loss (nats/token)",
        series,
      },
      {
        kind: "bars",
        metric: "exact",
        title: "Held-out exact match of generated answers",
        yLabel: "exact match",
      },
    ];
    return {
      budget: {
        steps: b.steps,
        batch: b.batch,
        model: "GPT d_model 64, 4 heads, 2 layers, no dropout",
        task: `reverse ${b.minLen}–${b.maxLen} as text "src>tgt."`,
        evalSize: b.evalSize,
      },
      metrics: [TRAIN_LOSS, HELD_LOSS, ANSWER, EXACT],
      rows: table,
      conclusions,
      plots,
      extra: { lossFloor: floor },
    };
  },
};

/** Mean ± sd over seeds of the loss averaged over windows of `every` steps. */
function windows(runs: number[][], every: number) {
  const points: { x: number; mean: number; sd: number }[] = [];
  for (let s = 0; s + every <= runs[0].length; s += every) {
    const vals = runs.map((l) => mean(l.slice(s, s + every)));
    points.push({ x: s + every, mean: mean(vals), sd: sd(vals) });
  }
  return points;
}

/** Where each arm's training loss sits against the floor of a model that cannot see the future. */
function floorSentence(rows: Row[], floor: number): string {
  const [masked, unmasked] = CAUSAL_ARMS;
  const m = findCell(rows, masked, "", "trainLoss").mean;
  const u = findCell(rows, unmasked, "", "trainLoss").mean;
  const where = (x: number) => `${formatValue(x)} (${x < floor ? "below" : "above"} it)`;
  const reads = u < floor ? ": only reading the tokens it predicts gets there" : "";
  return `A model that sees only the past cannot average under ${formatValue(floor)} nats/token here (the question is random); with the mask the training loss is ${where(m)}, without it ${where(u)}${reads}.`;
}
