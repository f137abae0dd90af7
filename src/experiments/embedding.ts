/**
 * embedding: the input embedding is a row lookup, which is one-hot × E
 * without the multiplications; what ×√d_model and tying the source, target
 * and output embeddings (§3.4) change on the dates task; and how the table's
 * geometry moves in training (a 2-D PCA and nearest neighbours).
 */
import { getTask, makeSplit } from "../data/tasks.js";
import type { EncoderDecoderConfig } from "../models/config.js";
import {
  Mulberry32,
  type Tensor,
  embedding,
  fromArray,
  matmul,
  noGrad,
  randn,
  tidy,
} from "../tensor/index.js";
import { type ExperimentDef, Progress } from "./experiment.js";
import { trainSeq2Seq } from "./harness.js";
import { pca2 } from "./pca.js";
import {
  type PlotSpec,
  RowBuilder,
  compareArms,
  EXACT_MATCH,
  TOKEN_ACCURACY,
  HELD_OUT_LOSS,
} from "./result.js";

/** The size of the lookup-vs-matmul timing: a realistic vocabulary and width. */
export const LOOKUP_SIZE = { vocab: 8000, dModel: 256, tokens: 1000 };

/** Tokens whose nearest neighbours are reported: digits, a letter, separators. */
const PROBES = ["1", "5", "a", "-", "/"];

export function embeddingBudget(quick: boolean) {
  return quick
    ? { steps: 150, batch: 32, evalSize: 100, lookupRepeats: 5 }
    : { steps: 600, batch: 32, evalSize: 500, lookupRepeats: 11 };
}

interface EmbeddingArm {
  model: Partial<EncoderDecoderConfig>;
  /** The (arm, group) rows this training fills: the paper's model is the reference of both groups. */
  rows: [string, string][];
  fullOnly?: boolean;
}

const ARMS: EmbeddingArm[] = [
  {
    model: {},
    rows: [
      ["×√d_model", "scale"],
      ["tied", "tying"],
    ],
  },
  { model: { scaleEmbedding: false }, rows: [["no scale", "scale"]] },
  // One table for source and target, a separate output projection: one field from the paper's model.
  { model: { tieOutput: false }, rows: [["untied output", "tying"]] },
  // Three tables: one field from "untied output".
  {
    model: { tieOutput: false, shareEmbeddings: false },
    rows: [["untied all", "tying"]],
    fullOnly: true,
  },
];

export interface LookupCheck {
  vocab: number;
  dModel: number;
  tokens: number;
  /** max |one-hot(ids)·E − embedding(E, ids)| over every element. */
  maxAbsDiff: number;
  /** Median milliseconds of each (repeats after one warm-up); the one-hot matrix is built beforehand. */
  matmulMs: number;
  lookupMs: number;
  /** The matmul's multiply-adds (tokens·V·d) and the lookup's copied numbers (tokens·d). */
  matmulMultiplyAdds: number;
  lookupCopies: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** one-hot(ids) · E against the row lookup embedding(E, ids): their difference and time. */
export function oneHotVsLookup(
  table: Tensor,
  ids: readonly number[],
  repeats: number,
): LookupCheck {
  const [V, D] = table.shape;
  const T = ids.length;
  const hot = new Float32Array(T * V);
  ids.forEach((id, t) => {
    hot[t * V + id] = 1;
  });
  return noGrad(() =>
    tidy(() => {
      const idT = fromArray(ids, [T], "int32");
      const oneHot = fromArray(hot, [T, V]);
      const a = matmul(oneHot, table).readSync();
      const b = embedding(table, idT).readSync();
      let maxAbsDiff = 0;
      for (let i = 0; i < a.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i] - b[i]));
      const time = (f: () => Tensor) => {
        const ms: number[] = [];
        for (let r = 0; r <= repeats; r++) {
          const t0 = performance.now();
          tidy(() => {
            f();
          });
          if (r > 0) ms.push(performance.now() - t0);
        }
        return median(ms);
      };
      return {
        vocab: V,
        dModel: D,
        tokens: T,
        maxAbsDiff,
        matmulMs: time(() => matmul(oneHot, table)),
        lookupMs: time(() => embedding(table, idT)),
        matmulMultiplyAdds: T * V * D,
        lookupCopies: T * D,
      };
    }),
  );
}

/** Rows of the alphabet's tokens, taken out of the flat [V, d] table. */
function rowsOf(table: Float32Array, d: number, ids: number[]): Float32Array {
  const out = new Float32Array(ids.length * d);
  ids.forEach((id, r) => {
    out.set(table.subarray(id * d, (id + 1) * d), r * d);
  });
  return out;
}

function cosines(rows: Float32Array, n: number, d: number): Float64Array {
  const norms = Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += rows[i * d + j] ** 2;
    return Math.sqrt(s) || 1;
  });
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += rows[i * d + j] * rows[k * d + j];
      c[i * n + k] = s / (norms[i] * norms[k]);
    }
  return c;
}

/** The k tokens nearest (cosine) to token i, itself excluded. */
function nearest(c: Float64Array, n: number, i: number, k: number): number[] {
  return Array.from({ length: n }, (_, j) => j)
    .filter((j) => j !== i)
    .sort((a, b) => c[i * n + b] - c[i * n + a])
    .slice(0, k);
}

function charClass(ch: string): string {
  return /[0-9]/.test(ch) ? "digit" : /[a-z]/i.test(ch) ? "letter" : "other";
}

/** The table's geometry over the alphabet: 2-D PCA, probes' neighbours, class and case agreement. */
function geometry(table: Float32Array, d: number, chars: string[], ids: number[]) {
  const n = chars.length;
  const rows = rowsOf(table, d, ids);
  const p = pca2(rows, n, d);
  const c = cosines(rows, n, d);
  const nn = chars.map((_, i) => nearest(c, n, i, 3));
  const neighbours: Record<string, { token: string; cosine: number }[]> = {};
  for (const probe of PROBES) {
    const i = chars.indexOf(probe);
    if (i >= 0)
      neighbours[probe] = nn[i].map((j) => ({ token: chars[j], cosine: +c[i * n + j].toFixed(3) }));
  }
  // How often a token's 3 nearest neighbours are of its class (digit, letter, other).
  const sameClass =
    chars.reduce(
      (s, ch, i) => s + nn[i].filter((j) => charClass(chars[j]) === charClass(ch)).length,
      0,
    ) /
    (3 * n);
  // How often a letter's other case (m/M: the same to the task) is among its 3 nearest neighbours.
  const twins = chars.map((ch, i) => ({
    i,
    twin: chars.indexOf(ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()),
  }));
  const withTwin = twins.filter((t) => t.twin >= 0 && t.twin !== t.i);
  const caseTwins =
    withTwin.filter((t) => nn[t.i].includes(t.twin)).length / Math.max(1, withTwin.length);
  return {
    projection: {
      x: [...p.x].map((v) => +v.toFixed(4)),
      y: [...p.y].map((v) => +v.toFixed(4)),
      explained: p.explained.map((v) => +v.toFixed(3)),
    },
    neighbours,
    sameClass,
    caseTwins,
  };
}

/** The chance rate of same-class neighbours: a random other token's class matching. */
function sameClassChance(chars: string[]): number {
  const n = chars.length;
  const size = (cl: string) => chars.filter((c) => charClass(c) === cl).length;
  return chars.reduce((s, ch) => s + (size(charClass(ch)) - 1) / (n - 1), 0) / n;
}

export const embeddingExperiment: ExperimentDef = {
  name: "embedding",
  title: "Embeddings: a lookup is one-hot × E; ×√d_model; tied or untied",
  question:
    "Is the embedding lookup the same as multiplying a one-hot vector by E, and what do the paper's ×√d_model and its tied source, target and output embeddings change?",
  arms: "scale: ×√d_model | no scale (config.scaleEmbedding); tying: tied (source = target = output, the paper) | untied output (config.tieOutput false) | untied all (also config.shareEmbeddings false; full run only); task: dates. Plus one-hot × E vs the row lookup at V=8000, d=256, and the table's PCA and nearest neighbours before and after training",
  chapter: "docs/concepts/embeddings.md",
  paper: "§3.4",
  run({ quick, seeds, log }) {
    const b = embeddingBudget(quick);
    const task = getTask("dates");
    const held = makeSplit(task, 1_000_003, b.evalSize);
    const arms = ARMS.filter((a) => !quick || !a.fullOnly);
    const progress = new Progress("embedding", arms.length * seeds.length, log);
    const rows = new RowBuilder();
    // The paper's model at the first seed: its table at init and after training.
    const ref: {
      initial?: Float32Array;
      trained?: {
        table: Float32Array;
        d: number;
        ids: number[];
        chars: string[];
        check: LookupCheck;
      };
    } = {};
    for (const arm of arms) {
      for (const seed of seeds) {
        const reference = arm === ARMS[0] && seed === seeds[0];
        const out = trainSeq2Seq({
          task,
          model: arm.model,
          seed,
          steps: b.steps,
          batch: b.batch,
          evalSets: { dates: held },
          onInit: reference
            ? (model) => {
                ref.initial = Float32Array.from(model.srcTable.readSync());
              }
            : undefined,
        });
        const h = out.evals.dates;
        for (const [name, group] of arm.rows)
          rows.add(name, group, { exact: h.exact, tokenAcc: h.tokenAcc, loss: h.loss });
        if (reference) {
          const chars = [...task.alphabet];
          const srcIds = held.flatMap((p) => out.tokenizer.encode(p.src));
          ref.trained = {
            table: Float32Array.from(out.model.srcTable.readSync()),
            d: out.model.config.dModel,
            ids: chars.map((ch) => out.tokenizer.encode(ch)[0]),
            chars,
            check: oneHotVsLookup(out.model.srcTable, srcIds, b.lookupRepeats),
          };
        }
        progress.next(`${arm.rows[0][0]}, seed ${seed}`);
      }
    }
    const big = randn([LOOKUP_SIZE.vocab, LOOKUP_SIZE.dModel], {
      std: LOOKUP_SIZE.dModel ** -0.5,
      rng: new Mulberry32(7),
    });
    const idRng = new Mulberry32(8);
    const bigIds = Array.from({ length: LOOKUP_SIZE.tokens }, () =>
      idRng.intIn(0, LOOKUP_SIZE.vocab - 1),
    );
    const check = oneHotVsLookup(big, bigIds, b.lookupRepeats);
    big.dispose();
    const t = ref.trained!;
    const before = geometry(ref.initial!, t.d, t.chars, t.ids);
    const after = geometry(t.table, t.d, t.chars, t.ids);
    // Group by group (the reference model was added to both groups first).
    const groupOrder = ["scale", "tying"];
    const table = rows
      .rows()
      .sort((x, y) => groupOrder.indexOf(x.group) - groupOrder.indexOf(y.group));
    const conclusions = [
      lookupSentence(check, t.check),
      compareArms(table, HELD_OUT_LOSS, "×√d_model", "no scale", "scale").sentence,
      compareArms(table, EXACT_MATCH, "×√d_model", "no scale", "scale").sentence,
      compareArms(table, HELD_OUT_LOSS, "tied", "untied output", "tying").sentence,
      compareArms(table, EXACT_MATCH, "tied", "untied output", "tying").sentence,
      ...(quick
        ? []
        : [compareArms(table, HELD_OUT_LOSS, "untied output", "untied all", "tying").sentence]),
      geometrySentence(before, after, sameClassChance(t.chars), seeds[0]),
    ];
    const plots: PlotSpec[] = [
      {
        kind: "bars",
        metric: "loss",
        title: "Held-out loss on dates: embedding scale and tying",
        yLabel: "loss (nats/token)",
      },
      {
        kind: "bars",
        metric: "exact",
        title: "Held-out exact match on dates",
        yLabel: "exact match",
      },
    ];
    const round = (x: number) => +x.toFixed(4);
    return {
      budget: {
        ...b,
        task: "dates",
        model: "d_model 64, 4 heads, 2+2 layers",
        lookupSize: "V=8000, d=256, 1000 tokens",
      },
      metrics: [EXACT_MATCH, TOKEN_ACCURACY, HELD_OUT_LOSS],
      rows: table,
      conclusions,
      plots,
      extra: {
        lookup: { ...check, matmulMs: round(check.matmulMs), lookupMs: round(check.lookupMs) },
        lookupTrainedTable: {
          ...t.check,
          matmulMs: round(t.check.matmulMs),
          lookupMs: round(t.check.lookupMs),
        },
        // A scatter the plot kinds cannot draw: the coordinates of each alphabet token, before and after.
        projection: {
          arm: "×√d_model / tied (the paper's model)",
          seed: seeds[0],
          tokens: t.chars,
          before: before.projection,
          after: after.projection,
        },
        neighbours: { before: before.neighbours, after: after.neighbours },
        sameClassNeighbours: {
          before: round(before.sameClass),
          after: round(after.sameClass),
          chance: round(sameClassChance(t.chars)),
        },
        caseTwinNeighbours: { before: round(before.caseTwins), after: round(after.caseTwins) },
      },
    };
  },
};

function lookupSentence(big: LookupCheck, small: LookupCheck): string {
  const ratio = big.matmulMs / Math.max(big.lookupMs, 1e-6);
  return (
    `one-hot × E equals the row lookup: max |difference| ${big.maxAbsDiff.toExponential(1)} at V=${big.vocab}, d=${big.dModel} ` +
    `(${small.maxAbsDiff.toExponential(1)} on the trained ${small.vocab}×${small.dModel} table); for ${big.tokens} tokens the matmul does ` +
    `${(big.matmulMultiplyAdds / 1e9).toFixed(2)} G multiply-adds (V·d = ${big.vocab * big.dModel} per token) in ${big.matmulMs.toFixed(1)} ms, ` +
    `the lookup copies ${big.lookupCopies} numbers in ${big.lookupMs.toFixed(3)} ms (${ratio.toFixed(0)}× faster).`
  );
}

function geometrySentence(
  before: ReturnType<typeof geometry>,
  after: ReturnType<typeof geometry>,
  chance: number,
  seed: number,
): string {
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  const nn = (g: ReturnType<typeof geometry>, p: string) =>
    g.neighbours[p] ? g.neighbours[p].map((x) => JSON.stringify(x.token)).join(" ") : "—";
  return (
    `Embedding table, seed ${seed}: a token's 3 nearest neighbours (cosine) share its class (digit, letter, other) ` +
    `${pct(before.sameClass)} of the time before training and ${pct(after.sameClass)} after (chance ${pct(chance)}); ` +
    `a letter's other case is among them ${pct(before.caseTwins)} before and ${pct(after.caseTwins)} after; ` +
    `"5" is nearest ${nn(before, "5")} before and ${nn(after, "5")} after.`
  );
}
