/**
 * feed-forward: how wide does the position-wise network need to be? FFN(x) =
 * max(0, x W1 + b1) W2 + b2 with inner width d_ff (§3.3; the paper: d_ff =
 * 4 · d_model). Table 3 row (C) varies it too.
 */
import { getTask, makeSplit } from "../data/tasks.js";
import { type ExperimentDef, Progress } from "./experiment.js";
import { SMALL_SEQ2SEQ, trainSeq2Seq } from "./harness.js";
import {
  type MetricSpec,
  RowBuilder,
  compareArms,
  rankArms,
  EXACT_MATCH,
  HELD_OUT_LOSS,
} from "./result.js";

/** d_ff as a multiple of d_model 64: ¼×, 1×, 4× (the paper's ratio) and 16×. */
export const FFN_WIDTHS = [16, 64, 256, 1024];
const armName = (w: number) => `d_ff ${w}`;

const MS: MetricSpec = { key: "msPerStep", label: "ms / step", better: "lower" };

/** "Attention Is All You Need", Table 3 row (C), newstest2013 dev: d_ff and the base model (2048). */
export const PAPER_TABLE3_DFF = [
  { dFF: 1024, ppl: 5.12, bleu: 25.4 },
  { dFF: 2048, ppl: 4.92, bleu: 25.8 },
  { dFF: 4096, ppl: 4.75, bleu: 26.2 },
];

export function feedForwardBudget(quick: boolean) {
  return quick
    ? { steps: 300, batch: 64, evalSize: 150 }
    : { steps: 800, batch: 64, evalSize: 500 };
}

export const feedForward: ExperimentDef = {
  name: "feed-forward",
  title: "Feed-forward width d_ff",
  question:
    "The position-wise feed-forward network holds most of a layer's parameters; how much does its width matter?",
  arms: `${FFN_WIDTHS.map(armName).join(" | ")} at d_model ${SMALL_SEQ2SEQ.dModel} (the paper's ratio is 4×), on dates`,
  chapter: "docs/concepts/feed-forward.md",
  paper: "§3.3, Table 3 (C)",
  run({ quick, seeds, log }) {
    const b = feedForwardBudget(quick);
    const task = getTask("dates");
    const heldOut = makeSplit(task, 1_000_003, b.evalSize);
    const rows = new RowBuilder();
    const progress = new Progress("feed-forward", FFN_WIDTHS.length * seeds.length, log);
    for (const w of FFN_WIDTHS) {
      for (const seed of seeds) {
        const out = trainSeq2Seq({
          task,
          model: { dFF: w },
          seed,
          steps: b.steps,
          batch: b.batch,
          evalSets: { dates: heldOut },
        });
        const params = out.model.parameters().reduce((n, p) => n + p.size, 0);
        rows.add(armName(w), "", {
          exact: out.evals.dates.exact,
          loss: out.evals.dates.loss,
          msPerStep: out.trainMs / b.steps,
          params,
        });
        progress.next(`d_ff ${w}, seed ${seed}`);
      }
    }
    const table = rows.rows();
    return {
      budget: { ...b, model: "d_model 64, 4 heads, 2+2 layers", task: "dates" },
      metrics: [
        EXACT_MATCH,
        HELD_OUT_LOSS,
        MS,
        { key: "params", label: "parameters", format: "count" },
      ],
      rows: table,
      conclusions: [
        rankArms(table, HELD_OUT_LOSS),
        compareArms(table, HELD_OUT_LOSS, armName(256), armName(16)).sentence,
        compareArms(table, HELD_OUT_LOSS, armName(1024), armName(256)).sentence,
        `For comparison, the paper (Table 3 (C), full scale): d_ff ${PAPER_TABLE3_DFF.map((r) => r.dFF).join(" / ")} gave dev perplexity ${PAPER_TABLE3_DFF.map((r) => r.ppl).join(" / ")}.`,
      ],
      plots: [{ kind: "bars", metric: "loss", title: "Held-out loss by feed-forward width" }],
      extra: { paperTable3C: PAPER_TABLE3_DFF },
    };
  },
};
