/**
 * scaling: what the 1/√d_k in softmax(QKᵀ/√d_k)V buys. "We suspect that for
 * large values of d_k, the dot products grow large in magnitude, pushing the
 * softmax function into regions where it has extremely small gradients"
 * (§3.2.1; footnote 4: for q, k of independent unit-variance components,
 * q·k has variance d_k). Both arms at several d_k: the softmax at init
 * (entropy, saturation, logit spread), the gradient reaching W^Q and W^K,
 * and how far each learns in the same number of steps.
 */
import type { Pair } from "../data/tasks.js";
import { makeSplit } from "../data/tasks.js";
import type { Transformer } from "../models/transformer.js";
import { MultiHeadAttention } from "../nn/attention.js";
import { recordIntermediates } from "../nn/hooks.js";
import { tidy } from "../tensor/index.js";
import type { CharTokenizer } from "../tokenizers/char.js";
import { clearGrads } from "../train/optim.js";
import { type ExperimentDef, Progress } from "./experiment.js";
import { batchTensors, encodePairs, trainSeq2Seq } from "./harness.js";
import {
  type MetricSpec,
  type PlotSpec,
  type Series,
  RowBuilder,
  compareArms,
  findCell,
  mean,
  sd,
  HELD_OUT_LOSS,
} from "./result.js";
import { lengthTask } from "./tasks.js";

export const SCALING_ARMS = ["1/√d_k", "no scaling"] as const;
/** A row counts as saturated when its largest attention weight is at least this. */
export const SATURATION = 0.99;

const ENTROPY: MetricSpec = { key: "entropy", label: "entropy at init (nats)" };
const SATURATED: MetricSpec = {
  key: "saturated",
  label: "saturated rows at init",
  format: "percent",
};
const LOGIT_STD: MetricSpec = { key: "logitStd", label: "logit std at init" };
const QK_GRAD: MetricSpec = { key: "qkGrad", label: "‖∇W^Q,W^K‖ at init" };
const TOKEN: MetricSpec = {
  key: "tokenAcc",
  label: "held-out token acc",
  better: "higher",
  format: "percent",
};

export function scalingBudget(quick: boolean) {
  return quick
    ? {
        dKs: [16, 64, 128],
        dModel: 128,
        layers: 1,
        steps: 120,
        batch: 32,
        maxLen: 8,
        evalSize: 100,
        probe: 16,
      }
    : {
        dKs: [16, 32, 64, 128],
        dModel: 128,
        layers: 2,
        steps: 400,
        batch: 32,
        maxLen: 8,
        evalSize: 300,
        probe: 32,
      };
}

/** Sets (or clears) `noScale` on every attention module of the model. */
export function setNoScale(model: Transformer, on: boolean): void {
  for (const [, m] of model.namedModules())
    if (m instanceof MultiHeadAttention) m.interventions.noScale = on;
}

export interface InitStats {
  /** Mean entropy (nats) of the attention rows that may see at least 2 keys. */
  entropy: number;
  /** Fraction of those rows whose largest weight is ≥ SATURATION. */
  saturated: number;
  /** Standard deviation of the scores softmax sees (after any scaling), over every entry. */
  logitStd: number;
  /** Global gradient norm over every W^Q, and over every W^K, after one backward. */
  qGrad: number;
  kGrad: number;
}

/**
 * The softmax and the Q/K gradients of a model on one batch of pairs of one
 * length (no padding: every key of the encoder and of cross-attention is
 * allowed; the decoder's self-attention row t sees t + 1 keys).
 */
export function attentionStats(
  model: Transformer,
  tok: CharTokenizer,
  pairs: readonly Pair[],
): InitStats {
  const b = encodePairs(tok, pairs);
  const { tensors } = recordIntermediates(
    () =>
      tidy(() => {
        const { src, tin, tout } = batchTensors(b);
        model.loss(src, tin, tout).loss.backward();
      }),
    (name) => name.endsWith(".weights") || name.endsWith(".scores"),
  );
  let rows = 0;
  let entropySum = 0;
  let saturated = 0;
  let n = 0;
  let s1 = 0;
  let s2 = 0;
  for (const [name, t] of tensors) {
    const v = t.values;
    if (name.endsWith(".scores")) {
      for (let i = 0; i < v.length; i++) {
        s1 += v[i];
        s2 += v[i] * v[i];
      }
      n += v.length;
      continue;
    }
    const Tq = t.shape[t.shape.length - 2];
    const Tk = t.shape[t.shape.length - 1];
    const causal = name.startsWith("decoder.") && name.includes(".self_attn.");
    for (let r = 0; r < v.length / Tk; r++) {
      const keys = causal ? (r % Tq) + 1 : Tk;
      if (keys < 2) continue;
      let h = 0;
      let max = 0;
      for (let j = 0; j < keys; j++) {
        const w = v[r * Tk + j];
        if (w > 0) h -= w * Math.log(w);
        if (w > max) max = w;
      }
      entropySum += h;
      if (max >= SATURATION) saturated++;
      rows++;
    }
  }
  let q2 = 0;
  let k2 = 0;
  for (const [, m] of model.namedModules()) {
    if (!(m instanceof MultiHeadAttention)) continue;
    q2 += sumSquares(m.q_proj.weight.grad?.readSync());
    k2 += sumSquares(m.k_proj.weight.grad?.readSync());
  }
  clearGrads(model.parameters());
  const m1 = s1 / n;
  return {
    entropy: entropySum / rows,
    saturated: saturated / rows,
    logitStd: Math.sqrt(Math.max(0, s2 / n - m1 * m1)),
    qGrad: Math.sqrt(q2),
    kGrad: Math.sqrt(k2),
  };
}

function sumSquares(v: ArrayLike<number> | undefined): number {
  let s = 0;
  for (let i = 0; i < (v?.length ?? 0); i++) s += v![i] * v![i];
  return s;
}

/** The arms' mean training-loss curves at one d_k, averaged over windows of `every` steps. */
function lossSeries(curves: Map<string, number[][]>, every: number): Series[] {
  return [...curves].map(([arm, runs]) => {
    const points: Series["points"] = [];
    for (let s = 0; s + every <= runs[0].length; s += every) {
      const vals = runs.map((l) => mean(l.slice(s, s + every)));
      points.push({ x: s + every, mean: mean(vals), sd: sd(vals) });
    }
    return { arm, points };
  });
}

export const scaling: ExperimentDef = {
  name: "scaling",
  title: "Scaled dot-product: with and without 1/√d_k",
  question:
    "Does dividing the dot products by √d_k keep the softmax out of saturation at init, and does the model learn faster for it, as d_k grows?",
  arms: `${SCALING_ARMS.join(" | ")} (MultiHeadAttention.interventions.noScale on every attention module), same model and steps otherwise; conditions: d_k = d_model / heads at a fixed d_model`,
  chapter: "docs/concepts/attention.md",
  paper: "§3.2.1",
  run({ quick, seeds, log }) {
    const b = scalingBudget(quick);
    const task = lengthTask("reverse", 1, b.maxLen);
    const held = makeSplit(task, 1_000_003, b.evalSize);
    // The init probe: strings of the longest length, so no batch row is padded.
    const probe = makeSplit(lengthTask("reverse", b.maxLen, b.maxLen), 1_000_005, b.probe);
    const rows = new RowBuilder();
    const progress = new Progress(
      "scaling",
      b.dKs.length * SCALING_ARMS.length * seeds.length,
      log,
    );
    const curves = new Map<string, number[][]>();
    const every = Math.max(1, Math.round(b.steps / 12));
    for (const dK of b.dKs) {
      const group = `d_k ${dK}`;
      for (const arm of SCALING_ARMS) {
        for (const seed of seeds) {
          let init: InitStats | null = null;
          const out = trainSeq2Seq({
            task,
            model: {
              dModel: b.dModel,
              heads: b.dModel / dK,
              dFF: 2 * b.dModel,
              encoderLayers: b.layers,
              decoderLayers: b.layers,
            },
            seed,
            steps: b.steps,
            batch: b.batch,
            evalSets: { held },
            onInit: (model, tok) => {
              setNoScale(model, arm === "no scaling");
              init = attentionStats(model, tok, probe);
            },
          });
          const s = init as unknown as InitStats;
          rows.add(arm, group, {
            entropy: s.entropy,
            saturated: s.saturated,
            logitStd: s.logitStd,
            qkGrad: Math.hypot(s.qGrad, s.kGrad),
            loss: out.evals.held.loss,
            tokenAcc: out.evals.held.tokenAcc,
          });
          if (dK === 64) curves.set(arm, [...(curves.get(arm) ?? []), out.losses]);
          progress.next(`${arm} at d_k ${dK}, seed ${seed}`);
        }
      }
    }
    const table = rows.rows();
    const [scaled, unscaled] = SCALING_ARMS;
    const conclusions = [
      ...b.dKs.map((dK) => entropySentence(table, `d_k ${dK}`)),
      ...b.dKs.map(
        (dK) => compareArms(table, HELD_OUT_LOSS, scaled, unscaled, `d_k ${dK}`).sentence,
      ),
      compareArms(table, QK_GRAD, unscaled, scaled, "d_k 64").sentence,
      spreadSentence(table, b.dKs),
    ];
    const plots: PlotSpec[] = [
      {
        kind: "bars",
        metric: "entropy",
        title: "Attention entropy at init, by d_k",
        yLabel: "entropy (nats)",
      },
      {
        kind: "bars",
        metric: "loss",
        title: `Held-out loss after ${b.steps} steps, by d_k`,
        yLabel: "loss (nats/token)",
      },
      {
        kind: "lines",
        metric: "trainLoss",
        title: "Training loss at d_k 64",
        xLabel: "step",
        yLabel: "training loss",
        series: lossSeries(curves, every),
      },
    ];
    return {
      budget: {
        steps: b.steps,
        batch: b.batch,
        model: `d_model ${b.dModel}, heads d_model/d_k, d_ff ${2 * b.dModel}, ${b.layers}+${b.layers} layers, xavier-fused init`,
        task: `reverse 1–${b.maxLen}`,
        dK: b.dKs.join(", "),
        initProbe: `${b.probe} strings of length ${b.maxLen}`,
        saturation: `largest weight ≥ ${SATURATION}`,
        evalSize: b.evalSize,
      },
      metrics: [ENTROPY, SATURATED, LOGIT_STD, QK_GRAD, HELD_OUT_LOSS, TOKEN],
      rows: table,
      conclusions,
      plots,
      extra: { logitStdAtInit: logitStds(table, b.dKs) },
    };
  },
};

/** Entropy at init of the two arms at one d_k, against ln(keys) of a uniform row. */
function entropySentence(rows: ReturnType<RowBuilder["rows"]>, group: string): string {
  const [scaled, unscaled] = SCALING_ARMS;
  const a = findCell(rows, scaled, group, "entropy");
  const c = findCell(rows, unscaled, group, "entropy");
  const sa = findCell(rows, scaled, group, "saturated").mean;
  const sc = findCell(rows, unscaled, group, "saturated").mean;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const verdict = compareArms(rows, ENTROPY, unscaled, scaled, group).overlap
    ? "within the spread of each other (no effect claimed)"
    : c.mean < a.mean
      ? "lower without the scaling"
      : "higher without the scaling";
  return `At ${group} the attention entropy at init is ${verdict}: ${a.mean.toFixed(2)} nats with 1/√d_k vs ${c.mean.toFixed(2)} without; saturated rows ${pct(sa)} vs ${pct(sc)}.`;
}

/** How the logit spread at init grows with d_k in each arm (√d_k without scaling, flat with it). */
function spreadSentence(rows: ReturnType<RowBuilder["rows"]>, dKs: number[]): string {
  const [scaled, unscaled] = SCALING_ARMS;
  const std = (arm: string, dK: number) => findCell(rows, arm, `d_k ${dK}`, "logitStd").mean;
  const lo = dKs[0];
  const hi = dKs[dKs.length - 1];
  return `From d_k ${lo} to ${hi} the logit std at init goes ${std(unscaled, lo).toFixed(2)} → ${std(unscaled, hi).toFixed(2)} without scaling (×${(std(unscaled, hi) / std(unscaled, lo)).toFixed(2)}; √(${hi}/${lo}) = ${Math.sqrt(hi / lo).toFixed(2)}) and ${std(scaled, lo).toFixed(2)} → ${std(scaled, hi).toFixed(2)} with 1/√d_k.`;
}

function logitStds(
  rows: ReturnType<RowBuilder["rows"]>,
  dKs: number[],
): Record<string, Record<string, number>> {
  return Object.fromEntries(
    dKs.map((dK) => [
      `d_k ${dK}`,
      Object.fromEntries(
        SCALING_ARMS.map((a) => [a, findCell(rows, a, `d_k ${dK}`, "logitStd").mean]),
      ),
    ]),
  );
}
