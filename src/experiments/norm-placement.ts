/**
 * norm-placement: the paper's post-LN (LayerNorm(x + Sublayer(x)), §3.1)
 * against pre-LN (x + Sublayer(LayerNorm(x)), with a final norm), in a deeper
 * stack, under several peak learning rates and with or without warm-up: which
 * placement trains under more of them.
 */
import { makeSplit } from "../data/tasks.js";
import { AttnError } from "../errors.js";
import type { NormPlacement } from "../models/blocks.js";
import { type ExperimentDef, Progress } from "./experiment.js";
import { trainSeq2Seq } from "./harness.js";
import {
  type MetricSpec,
  type PlotSpec,
  type Row,
  RowBuilder,
  compareArms,
  findCell,
  EXACT_MATCH,
  HELD_OUT_LOSS,
} from "./result.js";
import { lengthTask } from "./tasks.js";

export const PLACEMENTS: { arm: string; norm: NormPlacement }[] = [
  { arm: "post-LN", norm: "post" },
  { arm: "pre-LN", norm: "pre" },
];

const DIVERGED: MetricSpec = {
  key: "diverged",
  label: "diverged",
  better: "lower",
  format: "percent",
};

interface Condition {
  lr: number;
  /** Warm-up as a fraction of the steps (0: the peak rate from the first step). */
  warmup: number;
}

/** Budgets: the quick run spans the range (gentle, high lr, high lr without warm-up); the full run crosses them all. */
export function normPlacementBudget(quick: boolean) {
  const conditions: Condition[] = quick
    ? [
        { lr: 1e-3, warmup: 0.1 },
        { lr: 1e-2, warmup: 0.1 },
        { lr: 1e-2, warmup: 0 },
      ]
    : [1e-3, 3e-3, 1e-2].flatMap((lr) => [0, 0.1].map((warmup) => ({ lr, warmup })));
  return {
    layers: 4,
    steps: quick ? 150 : 400,
    batch: 16,
    maxLen: 8,
    evalSize: quick ? 100 : 400,
    conditions,
  };
}

export const conditionName = (c: Condition) =>
  `lr ${c.lr.toExponential(0)}, ${c.warmup ? `${Math.round(100 * c.warmup)}% warm-up` : "no warm-up"}`;

export const normPlacement: ExperimentDef = {
  name: "norm-placement",
  title: "LayerNorm placement: post-LN or pre-LN, under learning rate and warm-up",
  question:
    "Is the paper's post-LN more sensitive to the peak learning rate and to warm-up than pre-LN, in a 4+4-layer model?",
  arms: "post-LN | pre-LN (config.normPlacement; pre-LN adds a final LayerNorm per stack), 4+4 layers, same model and steps otherwise; conditions: peak lr 1e-3 / 1e-2 with 10% warm-up and 1e-2 without (quick), lr 1e-3, 3e-3, 1e-2 × no / 10% warm-up (full); task: reverse at lengths 1–8",
  chapter: "docs/concepts/residual-layer-norm.md",
  paper: "§3.1, §5.3",
  run({ quick, seeds, log }) {
    const b = normPlacementBudget(quick);
    const task = lengthTask("reverse", 1, b.maxLen);
    const held = makeSplit(task, 1_000_003, b.evalSize);
    const rows = new RowBuilder();
    const progress = new Progress(
      "norm-placement",
      b.conditions.length * PLACEMENTS.length * seeds.length,
      log,
    );
    for (const c of b.conditions) {
      const group = conditionName(c);
      for (const { arm, norm } of PLACEMENTS) {
        for (const seed of seeds) {
          try {
            const out = trainSeq2Seq({
              task,
              model: { normPlacement: norm, encoderLayers: b.layers, decoderLayers: b.layers },
              seed,
              steps: b.steps,
              batch: b.batch,
              lr: c.lr,
              warmup: Math.round(c.warmup * b.steps),
              evalSets: { reverse: held },
            });
            const h = out.evals.reverse;
            rows.add(arm, group, { exact: h.exact, loss: h.loss, diverged: 0 });
          } catch (err) {
            // trainStep stops on a non-finite loss: a diverged run counts, with nothing right.
            if (!(err instanceof AttnError && /diverged/.test(err.message))) throw err;
            rows.add(arm, group, { exact: 0, diverged: 1 });
          }
          progress.next(`${arm}, ${group}, seed ${seed}`);
        }
      }
    }
    const table = rows.rows();
    const groups = b.conditions.map(conditionName);
    const conclusions = [
      ...groups.map((g) => compareArms(table, EXACT_MATCH, "pre-LN", "post-LN", g).sentence),
      sensitivitySentence(table, groups),
      divergenceSentence(table, groups, seeds.length),
    ];
    const plots: PlotSpec[] = [
      {
        kind: "bars",
        metric: "exact",
        title: "Held-out exact match on reverse, by lr and warm-up (4+4 layers)",
        yLabel: "exact match",
      },
      {
        kind: "bars",
        metric: "loss",
        title: "Held-out loss on reverse, by lr and warm-up",
        yLabel: "loss (nats/token)",
      },
    ];
    return {
      budget: {
        task: `reverse 1–${b.maxLen}`,
        model: `d_model 64, 4 heads, ${b.layers}+${b.layers} layers`,
        steps: b.steps,
        batch: b.batch,
        evalSize: b.evalSize,
        conditions: groups.join("; "),
      },
      metrics: [EXACT_MATCH, HELD_OUT_LOSS, DIVERGED],
      rows: table,
      conclusions,
      plots,
    };
  },
};

/**
 * Sensitivity: how much of its best condition's exact match a placement keeps
 * across the conditions (on average and at worst), and in how many conditions
 * one placement beats the other outside the spread.
 */
function sensitivitySentence(rows: readonly Row[], groups: string[]): string {
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  const kept = PLACEMENTS.map(({ arm }) => {
    const m = groups.map((g) => findCell(rows, arm, g, "exact").mean);
    const best = Math.max(...m);
    const ratio = m.map((x) => (best > 0 ? x / best : 0));
    return {
      arm,
      mean: ratio.reduce((a, x) => a + x, 0) / ratio.length,
      worst: Math.min(...ratio),
    };
  });
  const wins = (a: string, b: string) =>
    groups.filter((g) => compareArms(rows, EXACT_MATCH, a, b, g).aBetter === true).length;
  const preWins = wins("pre-LN", "post-LN");
  const postWins = wins("post-LN", "pre-LN");
  const [post, pre] = kept;
  const parts = kept.map(
    (k) =>
      `${k.arm} keeps on average ${pct(k.mean)} of the exact match of its best condition (worst ${pct(k.worst)})`,
  );
  let verdict = "neither is clearly less sensitive";
  if (pre.mean > post.mean && preWins > 0 && postWins === 0)
    verdict = "pre-LN is the less sensitive";
  if (post.mean > pre.mean && postWins > 0 && preWins === 0)
    verdict = "post-LN is the less sensitive";
  return (
    `pre-LN beats post-LN outside the spread in ${preWins} of ${groups.length} conditions and post-LN beats pre-LN in ${postWins}; ` +
    `across them ${parts.join(", ")}: ${verdict}.`
  );
}

function divergenceSentence(rows: readonly Row[], groups: string[], seeds: number): string {
  const count = (arm: string) =>
    groups.reduce(
      (s, g) => s + findCell(rows, arm, g, "diverged").values.filter((v) => v > 0).length,
      0,
    );
  const n = groups.length * seeds;
  return `Runs stopped by a non-finite loss: post-LN ${count("post-LN")} of ${n}, pre-LN ${count("pre-LN")} of ${n} (gradients are clipped to norm 1).`;
}
