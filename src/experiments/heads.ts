/**
 * heads: 1, 2, 4 or 8 attention heads at a fixed d_model (so d_k = d_v =
 * d_model / h shrinks as h grows), everything else the same; compared with
 * the trend of the paper's Table 3, rows (A).
 */
import { getTask, makeSplit, type Pair, type Task } from "../data/tasks.js";
import { type ExperimentDef, Progress } from "./experiment.js";
import { trainSeq2Seq } from "./harness.js";
import {
  type PlotSpec,
  type Row,
  RowBuilder,
  findCell,
  formatCell,
  overlaps,
  rankArms,
  EXACT_MATCH,
  TOKEN_ACCURACY,
  PERPLEXITY,
} from "./result.js";
import { lengthTask } from "./tasks.js";

export const HEAD_COUNTS = [1, 2, 4, 8];

/** "Attention Is All You Need", Table 3, the base model and rows (A). */
export const PAPER_TABLE3_A = {
  source:
    "Vaswani et al. (2017), Attention Is All You Need, Table 3, base and rows (A): English-to-German, perplexity per wordpiece and BLEU on the development set newstest2013; d_model 512, the amount of computation held constant",
  rows: [
    { row: "base", h: 8, dK: 64, dV: 64, ppl: 4.92, bleu: 25.8 },
    { row: "(A)", h: 1, dK: 512, dV: 512, ppl: 5.29, bleu: 24.9 },
    { row: "(A)", h: 4, dK: 128, dV: 128, ppl: 5.0, bleu: 25.5 },
    { row: "(A)", h: 16, dK: 32, dV: 32, ppl: 4.91, bleu: 25.8 },
    { row: "(A)", h: 32, dK: 16, dV: 16, ppl: 5.01, bleu: 25.4 },
  ],
};

export function headsBudget(quick: boolean) {
  return quick
    ? { dModel: 64, batch: 32, evalSize: 100, tasks: [{ name: "reverse 1–16", steps: 200 }] }
    : {
        dModel: 64,
        batch: 32,
        evalSize: 400,
        tasks: [
          { name: "reverse 1–16", steps: 600 },
          { name: "dates", steps: 500 },
        ],
      };
}

function taskOf(name: string): Task {
  return name === "dates" ? getTask("dates") : lengthTask("reverse", 1, 16);
}

const armName = (h: number, dModel: number) => `${h} head${h > 1 ? "s" : ""} (d_k ${dModel / h})`;

export const heads: ExperimentDef = {
  name: "heads",
  title: "Multi-head attention: 1, 2, 4 or 8 heads at a fixed d_model",
  question:
    "At a fixed d_model, does splitting attention into more, smaller heads help, as Table 3 (A) found (one head worst, too many also worse)?",
  arms: `${HEAD_COUNTS.join(" | ")} heads (config.heads; d_k = d_v = d_model / h), d_model 64, same model and steps otherwise; tasks: reverse at lengths 1–16 (quick and full) and dates (full)`,
  chapter: "docs/concepts/multi-head.md",
  paper: "§3.2.2, Table 3 (A)",
  run({ quick, seeds, log }) {
    const b = headsBudget(quick);
    const rows = new RowBuilder();
    const progress = new Progress("heads", b.tasks.length * HEAD_COUNTS.length * seeds.length, log);
    for (const t of b.tasks) {
      const task = taskOf(t.name);
      const held: Pair[] = makeSplit(task, 1_000_003, b.evalSize);
      for (const h of HEAD_COUNTS) {
        for (const seed of seeds) {
          const out = trainSeq2Seq({
            task,
            model: { dModel: b.dModel, heads: h },
            seed,
            steps: t.steps,
            batch: b.batch,
            evalSets: { [t.name]: held },
          });
          const e = out.evals[t.name];
          rows.add(armName(h, b.dModel), t.name, {
            exact: e.exact,
            tokenAcc: e.tokenAcc,
            ppl: Math.exp(e.loss),
          });
          progress.next(`${h} heads on ${t.name}, seed ${seed}`);
        }
      }
    }
    const table = rows.rows();
    const conclusions = b.tasks.flatMap((t) => [
      rankArms(table, PERPLEXITY, t.name),
      rankArms(table, EXACT_MATCH, t.name),
      trendSentence(table, t.name, b.dModel),
    ]);
    const plots: PlotSpec[] = [
      {
        kind: "bars",
        metric: "ppl",
        title: "Held-out perplexity by number of heads (d_model 64)",
        yLabel: "perplexity",
      },
      {
        kind: "bars",
        metric: "exact",
        title: "Held-out exact match by number of heads",
        yLabel: "exact match",
      },
    ];
    return {
      budget: {
        model: `d_model ${b.dModel}, d_ff 256, 2+2 layers`,
        batch: b.batch,
        evalSize: b.evalSize,
        steps: b.tasks.map((t) => `${t.name}: ${t.steps}`).join(", "),
      },
      metrics: [PERPLEXITY, EXACT_MATCH, TOKEN_ACCURACY],
      rows: table,
      conclusions,
      plots,
      extra: { paperTable3A: PAPER_TABLE3_A },
    };
  },
};

/** Our trend on a task (is one head worst, do many small heads drop?) against Table 3 (A)'s. */
function trendSentence(rows: readonly Row[], group: string, dModel: number): string {
  const cells = HEAD_COUNTS.map((h) => ({
    h,
    c: findCell(rows, armName(h, dModel), group, "ppl"),
  }));
  const byPpl = [...cells].sort((a, b) => a.c.mean - b.c.mean);
  const best = byPpl[0];
  const one = cells[0];
  const most = cells[cells.length - 1];
  const others = cells.slice(1);
  const fmt = (x: { c: (typeof cells)[0]["c"] }) => formatCell(x.c, "number");
  const oneWorst = byPpl[byPpl.length - 1].h === 1 && others.every((o) => !overlaps(one.c, o.c));
  const oneBehind = one !== best && !overlaps(one.c, best.c);
  const restTied = others.every((o) => others.every((p) => overlaps(o.c, p.c)));
  const mostBehind = most !== best && !overlaps(most.c, best.c);
  const list = cells.map((x) => `${x.h}: ${fmt(x)}`).join(", ");
  const gap = (x: (typeof cells)[0]) => (x.c.mean - best.c.mean).toFixed(3);
  let ours: string;
  if (oneWorst) ours = `1 head is worst, ${gap(one)} above the best (${best.h} heads)`;
  else if (oneBehind)
    ours = `1 head is behind the best (${best.h} heads) by ${gap(one)} but not clearly worst of all`;
  else ours = `1 head overlaps the best (${best.h} heads) within the spread`;
  ours += restTied ? `; ${others.map((o) => o.h).join(", ")} heads overlap within the spread` : "";
  ours += mostBehind
    ? `; ${most.h} heads (d_k ${dModel / most.h}) is behind the best by ${gap(most)}`
    : `; ${most.h} heads (d_k ${dModel / most.h}) is not clearly behind the best`;
  const single =
    oneWorst || oneBehind
      ? "shows the paper's single-head penalty"
      : "does not show the paper's single-head penalty";
  const many = mostBehind
    ? "shows its drop with too many (small) heads"
    : "does not show its drop with too many heads";
  return (
    `On ${group}, perplexity by heads ${list}: ${ours}. ` +
    `Table 3 (A): 1 head is worst (PERPLEXITY 5.29 vs 4.92, BLEU 24.9 vs 25.8), and 32 heads (d_k 16) drop too (5.01, 25.4); at this scale ours ${single} and ${many}.`
  );
}
