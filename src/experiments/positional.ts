/**
 * positional: what the model can do without knowing where a token is.
 * Five ways to give it positions (and none), on tasks where order matters
 * (reverse, sort), one where it does not (bag), and on strings longer than
 * any seen in training (extrapolation).
 */
import { makeSplit } from "../data/tasks.js";
import type { PositionalKind } from "../nn/positional.js";
import { type ExperimentDef, Progress } from "./experiment.js";
import { trainSeq2Seq } from "./harness.js";
import {
  type PlotSpec,
  RowBuilder,
  compareArms,
  findCell,
  rankArms,
  EXACT_MATCH,
  TOKEN_ACCURACY,
} from "./result.js";
import { bagTask, lengthTask } from "./tasks.js";

export const POSITIONAL_ARMS: PositionalKind[] = ["sinusoidal", "learned", "rope", "alibi", "none"];

/** Budgets: the quick run (CI, the explorer) and the full one (docs/concepts). */
export function positionalBudget(quick: boolean) {
  return quick
    ? { steps: 200, batch: 64, lr: 4e-3, trainMaxLen: 10, testMaxLen: 20, evalSize: 100 }
    : { steps: 1000, batch: 64, lr: 2e-3, trainMaxLen: 16, testMaxLen: 32, evalSize: 300 };
}

export const positional: ExperimentDef = {
  name: "positional",
  title: "Positional encoding: sinusoidal, learned, RoPE, ALiBi or none",
  question:
    "Self-attention ignores order; what does each way of adding positions buy on tasks where order matters, where it does not, and on longer strings than any seen in training?",
  arms: `${POSITIONAL_ARMS.join(" | ")} (config.positional), same model and steps otherwise; tasks: reverse and sort (order matters), bag (most frequent symbol: order does not), and reverse at longer lengths`,
  chapter: "docs/concepts/positional-encoding.md",
  paper: "§3.5",
  run({ quick, seeds, log }) {
    const b = positionalBudget(quick);
    const rows = new RowBuilder();
    // The quick run leaves out sort (no arm fails it at these lengths) to stay near a minute.
    const tasks = quick ? (["reverse", "bag"] as const) : (["reverse", "sort", "bag"] as const);
    const progress = new Progress(
      "positional",
      tasks.length * POSITIONAL_ARMS.length * seeds.length,
      log,
    );
    const longer = `reverse ${b.trainMaxLen + 1}–${b.testMaxLen}`;
    for (const taskName of tasks) {
      const task =
        taskName === "bag" ? bagTask(1, b.trainMaxLen) : lengthTask(taskName, 1, b.trainMaxLen);
      const inDist = makeSplit(task, 1_000_003, b.evalSize);
      const evalSets: Record<string, typeof inDist> = { [taskName]: inDist };
      if (taskName === "reverse")
        evalSets[longer] = makeSplit(
          lengthTask("reverse", b.trainMaxLen + 1, b.testMaxLen),
          1_000_004,
          b.evalSize,
        );
      for (const arm of POSITIONAL_ARMS) {
        for (const seed of seeds) {
          const out = trainSeq2Seq({
            task,
            model: { positional: arm },
            seed,
            steps: b.steps,
            batch: b.batch,
            lr: b.lr,
            evalSets,
          });
          for (const [group, h] of Object.entries(out.evals))
            rows.add(arm, group, { exact: h.exact, tokenAcc: h.tokenAcc });
          progress.next(`${arm} on ${taskName}, seed ${seed}`);
        }
      }
    }
    const table = rows.rows();
    const conclusions = [
      ...[...tasks, longer].map((g) => rankArms(table, EXACT_MATCH, g)),
      compareArms(table, EXACT_MATCH, "sinusoidal", "none", "reverse").sentence,
      orderSentence(table, tasks),
    ];
    const plots: PlotSpec[] = [
      {
        kind: "bars",
        metric: "exact",
        title: "Held-out exact match by positional encoding",
        yLabel: "exact match",
      },
    ];
    return {
      budget: {
        ...b,
        model: "d_model 64, 4 heads, 2+2 layers",
        trainLengths: `1–${b.trainMaxLen}`,
        longerLengths: `${b.trainMaxLen + 1}–${b.testMaxLen}`,
      },
      metrics: [EXACT_MATCH, TOKEN_ACCURACY],
      rows: table,
      conclusions,
      plots,
    };
  },
};

/** Whether "none" loses only where order matters (its gap to sinusoidal on reverse vs on bag). */
function orderSentence(rows: ReturnType<RowBuilder["rows"]>, tasks: readonly string[]): string {
  const gap = (g: string) =>
    findCell(rows, "sinusoidal", g, "exact").mean - findCell(rows, "none", g, "exact").mean;
  const parts = tasks.map((g) => `${(100 * gap(g)).toFixed(1)} points on ${g}`);
  return `Without positions (none vs sinusoidal) the model loses ${parts.join(", ")}; bag's answer does not depend on order.`;
}
