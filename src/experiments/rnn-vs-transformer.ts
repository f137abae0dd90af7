/**
 * rnn-vs-transformer: the model the Transformer replaced. A GRU
 * encoder-decoder with additive attention (models/rnn.ts) against the small
 * Transformer, at matched parameter counts and equal wall-clock, on reverse at
 * growing lengths and on dates; and how strongly the loss at an output reaches
 * a source token as the distance between them grows (§4: a recurrent path
 * between two positions is O(n) steps long, a self-attention path O(1)).
 */
import { AttnError } from "../errors.js";
import { type Pair, type Task, getTask, makeSplit } from "../data/tasks.js";
import { RNNSeq2Seq, matchHidden } from "../models/rnn.js";
import { withTapHook } from "../nn/hooks.js";
import { type Tensor, contiguous, crossEntropy, detach, fromArray, tidy } from "../tensor/index.js";
import { type ExperimentDef, Progress } from "./experiment.js";
import {
  type Seq2SeqLearner,
  type Seq2SeqTrial,
  batchTensors,
  encodePairs,
  smallSeq2SeqModel,
  taskTokenizer,
  trainSeq2Seq,
} from "./harness.js";
import {
  type PlotSpec,
  type Row,
  RowBuilder,
  type Series,
  cell,
  compareArms,
  findCell,
  formatCell,
  overlaps,
  EXACT_MATCH,
  TOKEN_ACCURACY,
} from "./result.js";
import { lengthTask } from "./tasks.js";

export const RNN_ARMS = ["transformer", "gru+attention"] as const;
export type RNNArm = (typeof RNN_ARMS)[number];

/** The RNN's embedding width: the Transformer's d_model. */
const EMBED = 64;
/** Steps of the timing run before the clock starts, and timed steps. */
const WARM = 2;
const TIMED = 4;

/** Budgets: the quick run (CI, the explorer) and the full one (docs/concepts). */
export function rnnVsTransformerBudget(quick: boolean) {
  return quick
    ? { transformerSteps: 150, batch: 32, lengths: [4, 8, 12], evalSize: 100, probeSize: 16 }
    : { transformerSteps: 800, batch: 32, lengths: [4, 8, 16, 24], evalSize: 300, probeSize: 32 };
}

/** The GRU arm for a vocabulary: hidden width chosen so its parameter count matches the Transformer's. */
export function gruArm(vocabSize: number): {
  hidden: number;
  rnnParams: number;
  transformerParams: number;
} {
  const transformerParams = smallSeq2SeqModel(vocabSize, {}).numParameters();
  const hidden = matchHidden(vocabSize, EMBED, transformerParams);
  const rnnParams = new RNNSeq2Seq({ vocabSize, embed: EMBED, hidden }).parameterCount;
  return { hidden, rnnParams, transformerParams };
}

function trial(
  arm: RNNArm,
  task: Task,
  hidden: number,
): Pick<Seq2SeqTrial<Seq2SeqLearner>, "task" | "makeModel"> {
  return {
    task,
    makeModel:
      arm === "gru+attention"
        ? (vocabSize, seed) => new RNNSeq2Seq({ vocabSize, embed: EMBED, hidden, seed })
        : (vocabSize, seed) => smallSeq2SeqModel(vocabSize, { seed }),
  };
}

/**
 * Milliseconds per training step of each arm on this task: WARM steps, then
 * TIMED steps on the clock, twice per arm in alternation, keeping the faster
 * run (a load spike on a shared machine only ever slows a run down).
 */
function msPerStep(task: Task, batch: number, hidden: number): Record<RNNArm, number> {
  const best: Record<RNNArm, number> = { transformer: Infinity, "gru+attention": Infinity };
  for (let rep = 0; rep < 2; rep++) {
    for (const arm of RNN_ARMS) {
      let t0 = 0;
      let t1 = 0;
      trainSeq2Seq({
        ...trial(arm, task, hidden),
        seed: 1,
        steps: WARM + TIMED,
        batch,
        onStep: ({ step }) => {
          if (step === WARM) t0 = performance.now();
          if (step === WARM + TIMED) t1 = performance.now();
        },
      });
      best[arm] = Math.min(best[arm], (t1 - t0) / TIMED);
    }
  }
  return best;
}

/**
 * G[t][s]: the norm of ∂(loss at output t)/∂(embedded source token s), mean
 * over the rows of `pairs` (all of one length, so no padding). The embedded
 * source is the tap `encoder.embed` of both models, replaced by a leaf.
 */
export function sourceGradients(
  model: Seq2SeqLearner,
  tok: ReturnType<typeof taskTokenizer>,
  pairs: Pair[],
): number[][] {
  const b = encodePairs(tok, pairs);
  const [S, T] = [b.srcLen, b.tgtLen];
  const G = Array.from({ length: T }, () => new Array<number>(S).fill(0));
  // Only the source embeddings need gradients here: the parameters sit this out.
  const params = model.parameters();
  for (const p of params) p.requiresGrad = false;
  try {
    tidy(() => {
      const { src, tin, tout } = batchTensors(b);
      let leaf: Tensor | null = null;
      const logits = withTapHook(
        (name, t) => {
          if (name !== "encoder.embed") return undefined;
          leaf = contiguous(detach(t));
          leaf.requiresGrad = true;
          return leaf;
        },
        () => model.forward(src, tin),
      );
      const x = leaf as Tensor | null;
      if (!x) throw new AttnError("rnn-vs-transformer: the model has no encoder.embed tap");
      const perToken = crossEntropy(logits, tout, { reduction: "none" }); // [B, T]
      const E = x.shape[2];
      for (let t = 0; t < T; t++) {
        // Rows are independent: seeding every row's loss at t gives each row its own gradient.
        const seed = new Float32Array(b.size * T);
        for (let r = 0; r < b.size; r++) seed[r * T + t] = 1;
        x.grad?.dispose();
        x.grad = null;
        perToken.backward(fromArray(seed, [b.size, T], perToken.dtype), { retainGraph: t < T - 1 });
        const g = (x.grad as Tensor | null)?.readSync() ?? new Float32Array(x.size);
        for (let r = 0; r < b.size; r++)
          for (let s = 0; s < S; s++) {
            let q = 0;
            for (let e = 0; e < E; e++) q += g[(r * S + s) * E + e] ** 2;
            G[t][s] += Math.sqrt(q) / b.size;
          }
      }
      x.grad?.dispose();
    });
  } finally {
    for (const p of params) p.requiresGrad = true;
  }
  return G;
}

/**
 * Distance from source token s to output t: the recurrent steps between
 * reading x_s and emitting y_t, (S − s) + t, the path length of an
 * encoder-decoder RNN (in the Transformer every pair is a constant number
 * of layers apart; there d only says where the pair sits). Returns the mean of G/ref at each distance, and the
 * curve of the token each output of reverse needs (s = L − 1 − t, distance 2t + 2).
 */
function distanceCurves(G: number[][], ref: number) {
  const S = G[0].length;
  const L = S - 1; // the source ends with EOS
  const byD = new Map<number, number[]>();
  for (let t = 0; t < G.length; t++)
    for (let s = 0; s < S; s++) {
      const d = S - s + t;
      byD.set(d, [...(byD.get(d) ?? []), G[t][s] / ref]);
    }
  const all = [...byD]
    .sort((a, b) => a[0] - b[0])
    .map(([d, v]) => ({ x: d, y: v.reduce((a, b) => a + b, 0) / v.length }));
  const needed = Array.from({ length: L }, (_, t) => ({ x: 2 * t + 2, y: G[t][L - 1 - t] / ref }));
  return { all, needed };
}

/** exp(slope) of the least-squares line through (x, ln y): the factor per step of distance. */
export function decayPerStep(points: { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + Math.log(p.y), 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (Math.log(p.y) - my);
    den += (p.x - mx) ** 2;
  }
  return Math.exp(num / den);
}

const meanOf = (G: number[][]) => G.flat().reduce((a, b) => a + b, 0) / G.flat().length;

type Curve = { x: number; y: number }[];
const CURVES = [
  "transformer: all pairs",
  "gru+attention: all pairs",
  "gru+attention: recurrence only",
  "transformer: needed token",
  "gru+attention: needed token",
] as const;

export const rnnVsTransformer: ExperimentDef = {
  name: "rnn-vs-transformer",
  title: "RNN with attention vs Transformer: length and gradient path",
  question:
    "At equal parameters and equal training time, how does a GRU encoder-decoder with additive attention compare with the Transformer as strings grow, and how does the gradient from an output reach a distant source token in each?",
  arms: `${RNN_ARMS.join(" | ")}: the small Transformer (d_model 64, 2+2 layers) or a GRU encoder-decoder with Bahdanau attention of the same parameter count (±10%), each trained for the same wall-clock; tasks: reverse (accuracy by length) and dates`,
  chapter: "docs/concepts/rnn-vs-transformer.md",
  paper: "§4 (Why Self-Attention)",
  run({ quick, seeds, log }) {
    const b = rnnVsTransformerBudget(quick);
    const maxL = b.lengths[b.lengths.length - 1];
    const reverse = lengthTask("reverse", 1, maxL);
    const dates = getTask("dates");
    const conditions = [
      {
        name: "reverse",
        task: reverse,
        evalSets: Object.fromEntries(
          b.lengths.map((L) => [
            `reverse L=${L}`,
            makeSplit(lengthTask("reverse", L, L), 1_000_000 + L, b.evalSize),
          ]),
        ),
      },
      { name: "dates", task: dates, evalSets: { dates: makeSplit(dates, 1_000_003, b.evalSize) } },
    ];
    const rows = new RowBuilder();
    const progress = new Progress(
      "rnn-vs-transformer",
      conditions.length * RNN_ARMS.length * seeds.length,
      log,
    );
    const budget: Record<string, number | string> = {
      batch: b.batch,
      transformerSteps: b.transformerSteps,
    };
    const curves = new Map<string, Curve[]>(CURVES.map((c) => [c, []]));
    const probePairs = makeSplit(lengthTask("reverse", maxL, maxL), 1_000_100, b.probeSize);
    for (const c of conditions) {
      const arm = gruArm(taskTokenizer(c.task.alphabet).vocabSize);
      const ms = msPerStep(c.task, b.batch, arm.hidden);
      // Equal wall-clock: the time the Transformer's steps take here, in steps of each arm.
      const steps: Record<RNNArm, number> = {
        transformer: b.transformerSteps,
        "gru+attention": Math.max(
          1,
          Math.round((b.transformerSteps * ms.transformer) / ms["gru+attention"]),
        ),
      };
      budget[`${c.name}: params`] =
        `transformer ${arm.transformerParams}, gru+attention ${arm.rnnParams} (hidden ${arm.hidden})`;
      budget[`${c.name}: ms/step`] =
        `transformer ${ms.transformer.toFixed(1)}, gru+attention ${ms["gru+attention"].toFixed(1)}`;
      budget[`${c.name}: steps`] =
        `transformer ${steps.transformer}, gru+attention ${steps["gru+attention"]} (${((b.transformerSteps * ms.transformer) / 1000).toFixed(1)} s each)`;
      for (const seed of seeds) {
        const probes = new Map<RNNArm, number[][]>();
        let recurrence: number[][] = [];
        for (const a of RNN_ARMS) {
          const out = trainSeq2Seq({
            ...trial(a, c.task, arm.hidden),
            seed,
            steps: steps[a],
            batch: b.batch,
            evalSets: c.evalSets,
          });
          for (const [group, h] of Object.entries(out.evals))
            rows.add(a, group, { exact: h.exact, tokenAcc: h.tokenAcc });
          // The probe reads trained models: which source token an output needs is
          // learned (at initialisation none is needed more than another).
          if (c.name === "reverse") {
            probes.set(a, sourceGradients(out.model, out.tokenizer, probePairs));
            if (out.model instanceof RNNSeq2Seq) {
              out.model.interventions.detachMemory = true;
              recurrence = sourceGradients(out.model, out.tokenizer, probePairs);
            }
          }
          progress.next(`${a} on ${c.name}, seed ${seed}`);
        }
        if (c.name !== "reverse") continue;
        const tr = probes.get("transformer") as number[][];
        const rnn = probes.get("gru+attention") as number[][];
        const ct = distanceCurves(tr, meanOf(tr));
        const cr = distanceCurves(rnn, meanOf(rnn));
        const push = (k: (typeof CURVES)[number], v: Curve) => curves.get(k)?.push(v);
        push("transformer: all pairs", ct.all);
        push("gru+attention: all pairs", cr.all);
        // Relative to the whole model's mean: the share of the gradient the recurrence carries.
        push("gru+attention: recurrence only", distanceCurves(recurrence, meanOf(rnn)).all);
        push("transformer: needed token", ct.needed);
        push("gru+attention: needed token", cr.needed);
      }
    }
    const table = rows.rows();
    const series: Series[] = CURVES.map((k) => {
      const perSeed = curves.get(k) ?? [];
      return {
        arm: k,
        points: perSeed[0].map((p, i) => {
          const c = cell(perSeed.map((s) => s[i].y));
          return { x: p.x, mean: c.mean, sd: c.sd };
        }),
      };
    });
    const groups = [...b.lengths.map((L) => `reverse L=${L}`), "dates"];
    const decay = Object.fromEntries(
      CURVES.map((k) => [k, cell((curves.get(k) ?? []).map(decayPerStep))]),
    );
    const neededRatio = Object.fromEntries(
      (["transformer: needed token", "gru+attention: needed token"] as const).map((k) => [
        k,
        cell((curves.get(k) ?? []).map((cv) => cv.reduce((a, p) => a + p.y, 0) / cv.length)),
      ]),
    );
    const conclusions = [
      ...groups.map(
        (g) => compareArms(table, EXACT_MATCH, "transformer", "gru+attention", g).sentence,
      ),
      lengthSentence(table, b.lengths),
      gradientSentence(decay, maxL),
      `After training, the source token that a reverse output needs gets ${formatCell(neededRatio["transformer: needed token"], "number")}× the mean gradient of a source token in the Transformer and ${formatCell(neededRatio["gru+attention: needed token"], "number")}× in the GRU.`,
    ];
    const plots: PlotSpec[] = [
      {
        kind: "lines",
        metric: "exact",
        title: "Reverse: held-out exact match by string length",
        xLabel: "length",
        yLabel: "exact match",
        series: RNN_ARMS.map((a) => ({
          arm: a,
          points: b.lengths.map((L) => {
            const c = findCell(table, a, `reverse L=${L}`, "exact");
            return { x: L, mean: c.mean, sd: c.sd };
          }),
        })),
      },
      {
        kind: "lines",
        metric: "gradient",
        title: `Gradient of the loss at an output w.r.t. a source embedding, reverse of length ${maxL}`,
        xLabel: "distance (recurrent steps from source token to output)",
        yLabel: "gradient norm / model's mean",
        series,
      },
    ];
    return {
      budget: {
        ...budget,
        equalTime:
          "each arm's ms/step measured over 4 steps after 2 warm-up steps (faster of two alternating runs); the GRU gets the Transformer's time budget in its own steps",
        trainLengths: `reverse 1–${maxL}`,
        probe: `${b.probeSize} reverse strings of length ${maxL}, trained models`,
      },
      metrics: [EXACT_MATCH, TOKEN_ACCURACY],
      rows: table,
      conclusions,
      plots,
      extra: { decayPerStep: decay, neededRatio },
    };
  },
};

/** The longest length at which each arm keeps at least half its strings exact. */
function lengthSentence(rows: Row[], lengths: number[]): string {
  const parts = RNN_ARMS.map((a) => {
    const ok = lengths.filter((L) => findCell(rows, a, `reverse L=${L}`, "exact").mean >= 0.5);
    const last = lengths[lengths.length - 1];
    const where =
      ok.length === lengths.length
        ? `up to length ${last}`
        : ok.length
          ? `up to length ${ok[ok.length - 1]}`
          : "at no length tested";
    const exact = formatCell(findCell(rows, a, `reverse L=${last}`, "exact"), "percent");
    return `${a} ${where} (${exact} at ${last})`;
  });
  return `Reverse, exact match of at least 50%: ${parts.join("; ")}.`;
}

function gradientSentence(decay: Record<string, ReturnType<typeof cell>>, maxL: number): string {
  const f = (k: string) => formatCell(decay[k], "number");
  const tr = decay["transformer: all pairs"];
  const rnn = decay["gru+attention: all pairs"];
  const rec = decay["gru+attention: recurrence only"];
  const cmp = overlaps(tr, rnn)
    ? "the two overlap within the spread (no difference claimed)"
    : `the ${tr.mean < rnn.mean ? "Transformer's" : "GRU's"} falls faster`;
  return `Per step of distance (trained models, reverse of length ${maxL}), the gradient reaching a source token changes by a factor of ${f("transformer: all pairs")} in the Transformer and ${f("gru+attention: all pairs")} in the GRU with attention: ${cmp}; through the GRU's recurrence alone it falls by ${f("gru+attention: recurrence only")} per step, to ${(100 * rec.mean ** 10).toFixed(1)}% after 10 steps.`;
}
