/** The concept figures of attention, its scaling, masks and heads (see concept-figures.ts). */
import { getTask, makeSplit } from "../src/data/tasks.js";
import { causalMask, keyPaddingMask } from "../src/nn/masks.js";
import { fromArray, noGrad, tidy } from "../src/tensor/index.js";
import {
  DATE,
  type Seq2Seq,
  attentionHeatmap,
  cells,
  checkpoint,
  datePass,
  dates,
  record,
  tap,
  tokenLabels,
} from "./concept-models.js";
import { LABEL_AFTER_BAR, type Spec, histogram, orderedKeys, sdOf } from "./concept-svg.js";

const CROSS = "decoder.layers.1.cross_attn.weights";

export function attentionCross(): Spec {
  const { tensors, srcLabels, predicted } = datePass(DATE, (n) => n === CROSS);
  const w = tap(tensors, CROSS);
  const [, H, T, S] = w.shape;
  const mean = new Float64Array(T * S);
  for (let h = 0; h < H; h++)
    for (let i = 0; i < T * S; i++) mean[i] += w.values[h * T * S + i] / H;
  return {
    title: {
      text: `Cross-attention of the dates model on “${DATE}”`,
      subtitle: `last decoder layer, mean of its ${H} heads; each row sums to 1`,
    },
    data: { values: cells(mean, 0, orderedKeys(predicted), orderedKeys(srcLabels)) },
    ...attentionHeatmap("source character (key)", "output being predicted (query)"),
  };
}

/** Mean over rows of the largest softmax weight of each row. */
function meanMaxWeight(rows: number[][]): number {
  let total = 0;
  for (const r of rows) {
    const m = Math.max(...r);
    const z = r.reduce((a, x) => a + Math.exp(x - m), 0);
    total += 1 / z / rows.length;
  }
  return total;
}

/** Encoder self-attention scores over a batch of dates, with and without the 1/√d_k factor. */
export function attentionScores(): Spec {
  const { model, tok } = dates();
  const { eosId, padId, dModel, heads } = model.config;
  const seqs = makeSplit(getTask("dates"), 11, 16).map((p) => [...tok.encode(p.src), eosId]);
  const S = Math.max(...seqs.map((s) => s.length));
  const ids = seqs.flatMap((s) => [...s, ...new Array(S - s.length).fill(padId)]);
  const tensors = record(
    () => void model.encode(fromArray(ids, [seqs.length, S], "int32")),
    (n) => n.endsWith("self_attn.scores"),
  );
  const dk = dModel / heads;
  // Rows of scores over the real (unpadded) keys of each real query.
  const rows: number[][] = [];
  for (const r of tensors.values()) {
    const [B, H, Tq, Tk] = r.shape;
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < seqs[b].length; i++) {
          const at = ((b * H + h) * Tq + i) * Tk;
          rows.push(Array.from(r.values.subarray(at, at + seqs[b].length)));
        }
  }
  const unscaled = rows.map((r) => r.map((x) => x * Math.sqrt(dk)));
  const scaledLabel = "q·k / √d_k (what the model computes)";
  const values = histogram(
    { [scaledLabel]: rows.flat(), "q·k (unscaled)": unscaled.flat() },
    -30,
    30,
    1,
  );
  const f1 = (x: number) => x.toFixed(1);
  const f2 = (x: number) => x.toFixed(2);
  return {
    title: {
      text: "Attention scores of the dates model, with and without 1/√d_k",
      subtitle: [
        `encoder self-attention, ${tensors.size} layers × ${heads} heads, 16 dates, d_k = ${dk}; clipped to ±30`,
        `sd ${f1(sdOf(rows.flat()))} scaled vs ${f1(sdOf(unscaled.flat()))} unscaled; the largest softmax weight of a row is ${f2(meanMaxWeight(rows))} on average, ${f2(meanMaxWeight(unscaled))} unscaled`,
      ],
    },
    width: 420,
    height: 200,
    data: { values },
    mark: { type: "bar", opacity: 0.6, aria: false, binSpacing: 0 },
    encoding: {
      x: { field: "bin", type: "quantitative", bin: { binned: true, step: 1 }, title: "score" },
      x2: { field: "bin2" },
      y: { field: "share", type: "quantitative", stack: null, title: "share of scores" },
      color: { field: "series", type: "nominal", title: null, legend: { orient: "top" } },
    },
  };
}

/** A padded batch of the reverse model's targets (decoder inputs: BOS + the reversed string). */
function maskBatch() {
  const { model, tok } = checkpoint<Seq2Seq>("reverse-sinusoidal");
  const { bosId, eosId, padId } = model.config;
  const sources = ["gfedcba", "ace", "bdfca"];
  const targets = sources.map((s) => [bosId, ...tok.encode([...s].reverse().join(""))]);
  const T = Math.max(...targets.map((r) => r.length));
  const S = Math.max(...sources.map((s) => s.length)) + 1;
  const pad = (r: number[], n: number) => [...r, ...new Array(n - r.length).fill(padId)];
  const ids = targets.flatMap((r) => pad(r, T));
  const srcIds = sources.flatMap((s) => pad([...tok.encode(s), eosId], S));
  const title = (b: number) => `${b + 1}: target “${[...sources[b]].reverse().join("")}”`;
  const keys = (b: number) => orderedKeys(tokenLabels(tok, ids.slice(b * T, (b + 1) * T)));
  return { model, sources, T, S, ids, srcIds, title, keys, padId };
}

/** 16 px cells. (Vega-Lite's step sizes fail in facets with independent scales, so the size is fixed.) */
const cellSize = (T: number) => ({ width: 16 * T, height: 16 * T });

const maskAxes = (colTitle: string, rowTitle: string) => ({
  x: {
    field: "col",
    type: "ordinal",
    sort: null,
    title: colTitle,
    axis: { labelExpr: LABEL_AFTER_BAR, labelAngle: -45 },
  },
  y: {
    field: "row",
    type: "ordinal",
    sort: null,
    title: rowTitle,
    axis: { labelExpr: LABEL_AFTER_BAR },
  },
});

export function masksCombined(): Spec {
  const { sources, T, ids, title, keys, padId } = maskBatch();
  const B = sources.length;
  const { causal, padding } = noGrad(() =>
    tidy(() => ({
      causal: causalMask(T).readSync(),
      padding: keyPaddingMask(fromArray(ids, [B, T], "int32"), padId).readSync(),
    })),
  );
  const kinds = ["allowed", "future (causal mask)", "padding (padding mask)", "both"];
  const values = sources.flatMap((_, b) =>
    keys(b).flatMap((q, i) =>
      keys(b).map((k, j) => {
        const c = causal[i * T + j] === 1;
        const p = padding[b * T + j] === 1;
        return { example: title(b), row: q, col: k, what: kinds[(c ? 1 : 0) + (p ? 2 : 0)] };
      }),
    ),
  );
  return {
    title: {
      text: "The decoder's self-attention mask for a padded batch",
      subtitle:
        "causalMask(T) combined with keyPaddingMask(ids), as Transformer.targetMask builds it; hidden cells become −∞",
    },
    data: { values },
    facet: { column: { field: "example", type: "nominal", title: null } },
    spec: {
      ...cellSize(T),
      mark: { type: "rect", stroke: "white", strokeWidth: 0.5, aria: false },
      encoding: {
        ...maskAxes("key", "query"),
        color: {
          field: "what",
          type: "nominal",
          title: null,
          scale: { domain: kinds, range: ["#deebf7", "#fdae6b", "#bdbdbd", "#636363"] },
          legend: { orient: "bottom" },
        },
      },
    },
    resolve: { scale: { x: "independent", y: "independent" } },
  };
}

export function masksWeights(): Spec {
  const { model, sources, T, S, ids, srcIds, title, keys } = maskBatch();
  const name = "decoder.layers.0.self_attn.weights";
  const B = sources.length;
  const tensors = record(
    () => void model.forward(fromArray(srcIds, [B, S], "int32"), fromArray(ids, [B, T], "int32")),
    (n) => n === name,
  );
  const w = tap(tensors, name);
  const H = w.shape[1];
  const values = sources.flatMap((_, b) =>
    cells(w.values, b * H * T * T, keys(b), keys(b)).map((c) => ({ ...c, example: title(b) })),
  );
  const heat = attentionHeatmap("key", "query", {
    column: { field: "example", type: "nominal", title: null },
  });
  return {
    title: {
      text: "…and the weights it leaves: reverse-sinusoidal, decoder layer 0, head 1",
      subtitle:
        "hidden cells get weight exactly 0 and each row still sums to 1 (rows of PAD queries are computed, then ignored by the loss)",
    },
    data: { values },
    ...heat,
    spec: {
      ...(heat.spec as Spec),
      ...cellSize(T),
      encoding: { ...((heat.spec as Spec).encoding as Spec), ...maskAxes("key", "query") },
    },
    resolve: { scale: { x: "independent", y: "independent" } },
  };
}

export function multiHead(): Spec {
  const { tensors, srcLabels, predicted } = datePass(DATE, (n) => n === CROSS);
  const w = tap(tensors, CROSS);
  const [, H, T, S] = w.shape;
  const values = Array.from({ length: H }, (_, h) =>
    cells(w.values, h * T * S, orderedKeys(predicted), orderedKeys(srcLabels)).map((c) => ({
      ...c,
      head: `head ${h + 1}`,
    })),
  ).flat();
  return {
    title: {
      text: `The ${H} cross-attention heads of the dates model's last decoder layer on “${DATE}”`,
      subtitle: `each head has its own W^Q, W^K, W^V (d_k = ${dates().model.config.dModel / H}) and looks somewhere else`,
    },
    data: { values },
    ...attentionHeatmap("source", "predicting", { field: "head", type: "nominal", title: null }, 2),
  };
}
