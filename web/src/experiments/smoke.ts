/**
 * "smoke": the shortest run that goes through every part of the Experiments
 * view (two arms, three seeds, a table, bars and lines), for the browser test,
 * which must finish a live run within seconds on WebAssembly. The registry's
 * --quick runs take minutes there. Not listed in the page; `?ch=experiments
 * &exp=smoke` opens it. Too few steps to conclude anything about positions.
 */
import {
  type ExperimentDef,
  getTask,
  makeSplit,
  type MetricSpec,
  Progress,
  RowBuilder,
  type Series,
  compareArms,
  rankArms,
  trainSeq2Seq,
} from "../../../src/browser.js";

const ARMS = ["sinusoidal", "none"] as const;
const EXACT: MetricSpec = {
  key: "exact",
  label: "exact match",
  better: "higher",
  format: "percent",
};
const TOKEN: MetricSpec = {
  key: "tokenAcc",
  label: "token acc",
  better: "higher",
  format: "percent",
};
const LOSS: MetricSpec = { key: "loss", label: "held-out loss", better: "lower", format: "number" };
/** Training loss is averaged over windows of this many steps for the line plot. */
const WINDOW = 10;

export const SMOKE: ExperimentDef = {
  name: "smoke",
  title: "Smoke run: sinusoidal positions or none, for a few steps",
  question:
    "Does an experiment run end to end in this page? (Far too few steps to say anything about positions.)",
  arms: `${ARMS.join(" | ")} (config.positional) on reverse, lengths 1–5, a 1+1-layer model at d_model 32`,
  chapter: "docs/explorer.md",
  paper: "§3.5",
  run({ seeds, log }) {
    const b = { steps: 40, batch: 16, lr: 4e-3, maxLen: 5, evalSize: 30 };
    const task = getTask("reverse", { minLen: 1, maxLen: b.maxLen });
    const evalSets = { reverse: makeSplit(task, 1_000_003, b.evalSize) };
    const rows = new RowBuilder();
    const progress = new Progress("smoke", ARMS.length * seeds.length, log);
    const series: Series[] = [];
    for (const arm of ARMS) {
      const curves: number[][] = [];
      for (const seed of seeds) {
        const out = trainSeq2Seq({
          task,
          model: {
            positional: arm,
            dModel: 32,
            heads: 2,
            dFF: 64,
            encoderLayers: 1,
            decoderLayers: 1,
          },
          seed,
          steps: b.steps,
          batch: b.batch,
          lr: b.lr,
          evalSets,
        });
        const h = out.evals.reverse;
        rows.add(arm, "reverse", { exact: h.exact, tokenAcc: h.tokenAcc, loss: h.loss });
        curves.push(windowMeans(out.losses));
        progress.next(`${arm}, seed ${seed}`);
      }
      series.push({
        arm,
        points: curves[0].map((_, i) => {
          const at = curves.map((c) => c[i]);
          const m = at.reduce((x, y) => x + y, 0) / at.length;
          const sd = Math.sqrt(
            at.reduce((x, y) => x + (y - m) ** 2, 0) / Math.max(1, at.length - 1),
          );
          return { x: (i + 1) * WINDOW, mean: m, sd };
        }),
      });
    }
    const table = rows.rows();
    return {
      budget: { ...b, model: "d_model 32, 2 heads, 1+1 layers" },
      metrics: [EXACT, TOKEN, LOSS],
      rows: table,
      conclusions: [
        rankArms(table, TOKEN, "reverse"),
        compareArms(table, LOSS, "sinusoidal", "none", "reverse").sentence,
      ],
      plots: [
        { kind: "bars", metric: "tokenAcc", title: "Held-out token accuracy", yLabel: "token acc" },
        {
          kind: "lines",
          metric: "trainLoss",
          title: "Training loss",
          xLabel: "step",
          yLabel: "training loss",
          series,
        },
      ],
    };
  },
};

/** The mean of each window of WINDOW steps. */
function windowMeans(losses: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i + WINDOW <= losses.length; i += WINDOW)
    out.push(losses.slice(i, i + WINDOW).reduce((a, b) => a + b, 0) / WINDOW);
  return out;
}
