/**
 * label-smoothing: training targets of ε_ls = 0 (one-hot) or 0.1 (§5.4),
 * everything else the same, on dates at budgets where the model is not yet
 * perfect. §5.4: smoothing "hurts perplexity, as the model learns to be more
 * unsure, but improves accuracy and BLEU score".
 */
import { getTask, makeSplit } from "../data/tasks.js";
import { type ExperimentDef, Progress } from "./experiment.js";
import { trainSeq2Seq } from "./harness.js";
import {
  type MetricSpec,
  type PlotSpec,
  type Row,
  RowBuilder,
  compareArms,
  EXACT_MATCH,
  TOKEN_ACCURACY,
  PERPLEXITY,
} from "./result.js";

export const SMOOTHING_ARMS = [
  { arm: "ε_ls 0", eps: 0 },
  { arm: "ε_ls 0.1", eps: 0.1 },
];

/** Budgets: the full run adds a longer training, to see whether the picture changes with training. */
export function labelSmoothingBudget(quick: boolean) {
  return quick
    ? { batch: 32, evalSize: 150, steps: [250] }
    : { batch: 32, evalSize: 500, steps: [300, 900] };
}

const groupOf = (steps: number) => `dates, ${steps} steps`;

export const labelSmoothing: ExperimentDef = {
  name: "label-smoothing",
  title: "Label smoothing: ε_ls 0 or 0.1",
  question:
    "Does label smoothing (ε_ls = 0.1) make perplexity worse but accuracy better, as §5.4 reports, in a small model that is not yet perfect?",
  arms: "ε_ls 0 | ε_ls 0.1 (the training loss's label smoothing), same model and steps otherwise; task: dates, after 250 steps (quick) or 300 and 900 steps (full); perplexity is exp of the unsmoothed held-out loss",
  chapter: "docs/concepts/output-label-smoothing.md",
  paper: "§5.4",
  run({ quick, seeds, log }) {
    const b = labelSmoothingBudget(quick);
    const task = getTask("dates");
    const held = makeSplit(task, 1_000_003, b.evalSize);
    const rows = new RowBuilder();
    const progress = new Progress(
      "label-smoothing",
      b.steps.length * SMOOTHING_ARMS.length * seeds.length,
      log,
    );
    for (const steps of b.steps) {
      for (const { arm, eps } of SMOOTHING_ARMS) {
        for (const seed of seeds) {
          const out = trainSeq2Seq({
            task,
            seed,
            steps,
            batch: b.batch,
            labelSmoothing: eps,
            evalSets: { dates: held },
          });
          const h = out.evals.dates;
          rows.add(arm, groupOf(steps), {
            ppl: Math.exp(h.loss),
            tokenAcc: h.tokenAcc,
            exact: h.exact,
          });
          progress.next(`${arm} for ${steps} steps, seed ${seed}`);
        }
      }
    }
    const table = rows.rows();
    const conclusions = b.steps.flatMap((s) => {
      const g = groupOf(s);
      return [
        ...[PERPLEXITY, TOKEN_ACCURACY, EXACT_MATCH].map(
          (m) => compareArms(table, m, "ε_ls 0.1", "ε_ls 0", g).sentence,
        ),
        paperSentence(table, g),
      ];
    });
    const plots: PlotSpec[] = [
      {
        kind: "bars",
        metric: "ppl",
        title: "Held-out perplexity (unsmoothed) on dates",
        yLabel: "perplexity",
      },
      {
        kind: "bars",
        metric: "tokenAcc",
        title: "Held-out token accuracy on dates",
        yLabel: "token accuracy",
      },
    ];
    return {
      budget: {
        task: "dates",
        model: "d_model 64, 4 heads, 2+2 layers",
        steps: b.steps.join(", "),
        batch: b.batch,
        evalSize: b.evalSize,
      },
      metrics: [PERPLEXITY, TOKEN_ACCURACY, EXACT_MATCH],
      rows: table,
      conclusions,
      plots,
    };
  },
};

/** Whether §5.4's pair of effects (perplexity worse, accuracy better with 0.1) shows on a group. */
function paperSentence(rows: readonly Row[], group: string): string {
  const verdict = (m: MetricSpec) => {
    const c = compareArms(rows, m, "ε_ls 0.1", "ε_ls 0", group);
    return c.overlap ? "the same within the spread" : c.aBetter ? "better" : "worse";
  };
  const ppl = verdict(PERPLEXITY);
  const tok = verdict(TOKEN_ACCURACY);
  const ex = verdict(EXACT_MATCH);
  const accBetter = tok === "better" || ex === "better";
  const accWorse = tok === "worse" || ex === "worse";
  let shows: string;
  if (ppl === "worse" && accBetter)
    shows = "§5.4's trade (perplexity worse, accuracy better) shows at this scale";
  else if (ppl === "worse")
    shows = `only the perplexity half of §5.4's trade shows at this scale (accuracy is ${accWorse ? "worse, not better" : "not better"})`;
  else if (accBetter) shows = "accuracy is better as in §5.4, but perplexity is not worse";
  else shows = "§5.4's trade does not show at this scale";
  return `On ${group}, with ε_ls 0.1 perplexity is ${ppl}, token accuracy ${tok} and exact match ${ex}: ${shows}.`;
}
