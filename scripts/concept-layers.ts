/** The concept figures of the residual stream, the feed-forward network, the output and decoding (see concept-figures.ts). */
import { getTask, makeSplit } from "../src/data/tasks.js";
import { decodeBatch } from "../src/generate/decode.js";
import type { Recorded } from "../src/nn/hooks.js";
import { fromArray } from "../src/tensor/index.js";
import {
  AMBIGUOUS_DATE,
  DATE,
  GPT_PROMPT,
  type Lm,
  checkpoint,
  datePass,
  dates,
  record,
  tap,
  tokenLabels,
} from "./concept-models.js";
import { LABEL_AFTER_BAR, type Spec, histogram, orderedKeys, r3 } from "./concept-svg.js";

/** Mean ‖x‖ over positions of each recorded stage, in the order given. */
function norms(t: Map<string, Recorded>, stages: string[]): number[] {
  return stages.map((s) => {
    const r = tap(t, s);
    const d = r.shape[r.shape.length - 1];
    const n = r.values.length / d;
    let sum = 0;
    for (let p = 0; p < n; p++) {
      let q = 0;
      for (let k = 0; k < d; k++) q += r.values[p * d + k] ** 2;
      sum += Math.sqrt(q) / n;
    }
    return sum;
  });
}

export function residualNorms(): Spec {
  const encStages = ["encoder.input"];
  for (let l = 0; l < dates().model.config.encoderLayers; l++)
    for (const s of ["residual1", "norm1", "residual2", "norm2"])
      encStages.push(`encoder.layers.${l}.${s}`);
  const { tensors: et } = datePass(DATE, (n) => encStages.includes(n));
  const gpt = checkpoint<Lm>("kjv-gpt");
  const gptStages = ["input"];
  for (let l = 0; l < gpt.model.config.layers; l++)
    gptStages.push(`layers.${l}.residual1`, `layers.${l}.residual2`);
  gptStages.push("final_norm");
  const ids = gpt.tok.encode(GPT_PROMPT);
  const gt = record(
    () => void gpt.model.forward(fromArray(ids, [1, ids.length], "int32")),
    (n) => gptStages.includes(n),
  );
  const short = (s: string) => s.replace("encoder.", "").replace("layers.", "L");
  const kind = (s: string) => (/norm/.test(s) ? "after a LayerNorm" : "residual stream");
  const rows = (stages: string[], ns: number[]) =>
    stages.map((s, i) => ({
      stage: orderedKeys(stages.map(short))[i],
      norm: r3(ns[i]),
      kind: kind(s),
    }));
  const x = { field: "stage", type: "ordinal", sort: null };
  const chart = (title: string, values: object[]) => ({
    title,
    width: 300,
    height: 200,
    data: { values },
    layer: [
      {
        mark: { type: "line", color: "#999", aria: false },
        encoding: { x, y: { field: "norm", type: "quantitative" } },
      },
      {
        mark: { type: "point", filled: true, size: 50, aria: false },
        encoding: {
          x: { ...x, title: null, axis: { labelExpr: LABEL_AFTER_BAR, labelAngle: -50 } },
          y: { field: "norm", type: "quantitative", title: "mean ‖x‖ per token" },
          color: {
            field: "kind",
            type: "nominal",
            title: null,
            scale: { domain: ["residual stream", "after a LayerNorm"] },
          },
        },
      },
    ],
  });
  return {
    title: {
      text: "The size of each token's vector, sub-layer by sub-layer",
      subtitle:
        "post-LN (the paper) normalises the sum after every sub-layer; pre-LN (GPT-2) lets the stream grow until the final LayerNorm",
    },
    hconcat: [
      chart(`dates encoder, post-LN, “${DATE}”`, rows(encStages, norms(et, encStages))),
      chart("kjv-gpt, pre-LN, Genesis 1:1", rows(gptStages, norms(gt, gptStages))),
    ],
  };
}

/** Every FFN hidden activation of a pass. */
function hiddenUnits(fn: () => void): number[] {
  const out: number[] = [];
  for (const r of record(fn, (n) => n.endsWith("ffn.hidden")).values()) out.push(...r.values);
  return out;
}

export function ffnHidden(): Spec {
  const { model, tok } = dates();
  const { bosId, eosId } = model.config;
  const relu = makeSplit(getTask("dates"), 12, 16).flatMap((p) => {
    const src = [...tok.encode(p.src), eosId];
    const tgt = [bosId, ...tok.encode(p.tgt)];
    return hiddenUnits(
      () =>
        void model.forward(
          fromArray(src, [1, src.length], "int32"),
          fromArray(tgt, [1, tgt.length], "int32"),
        ),
    );
  });
  const gpt = checkpoint<Lm>("kjv-gpt");
  const ids = gpt.tok.encode(GPT_PROMPT);
  const gelu = hiddenUnits(() => void gpt.model.forward(fromArray(ids, [1, ids.length], "int32")));
  const share = (xs: number[], f: (x: number) => boolean) =>
    `${((100 * xs.filter(f).length) / xs.length).toFixed(0)}%`;
  const values = histogram(
    {
      [`dates, ReLU: ${share(relu, (x) => x === 0)} exactly 0`]: relu,
      [`kjv-gpt, GELU: ${share(gelu, (x) => x < 0)} below 0, ${share(gelu, (x) => x === 0)} exactly 0`]:
        gelu,
    },
    -1,
    3,
    0.1,
  );
  return {
    title: {
      text: "Hidden units of the feed-forward networks, act(x W1 + b1)",
      subtitle: `every FFN of each model: dates on 16 dates (d_ff = ${model.config.dFF}), kjv-gpt on one verse (d_ff = ${gpt.model.config.dFF}); clipped to [−1, 3]`,
    },
    data: { values },
    facet: {
      row: {
        field: "series",
        type: "nominal",
        title: null,
        header: { labelAngle: 0, labelAlign: "left", labelAnchor: "start", labelOrient: "top" },
      },
    },
    spec: {
      width: 420,
      height: 130,
      mark: { type: "bar", aria: false, binSpacing: 0 },
      encoding: {
        x: {
          field: "bin",
          type: "quantitative",
          bin: { binned: true, step: 0.1 },
          title: "activation",
        },
        x2: { field: "bin2" },
        y: {
          field: "share",
          type: "quantitative",
          title: "share of units",
          scale: { type: "sqrt" },
        },
        color: { field: "series", type: "nominal", legend: null },
      },
    },
  };
}

function softmaxRow(row: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(row));
  const e = Array.from(row, (x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

export function outputDistribution(): Spec {
  const { model, tok } = dates();
  const { tensors, out } = datePass(DATE, (n) => n === "logits");
  const logits = tap(tensors, "logits");
  const [, T, V] = logits.shape;
  const eps = 0.1; // the shipped checkpoints' train.labelSmoothing (the paper's ε_ls)
  const probs = Array.from({ length: T }, (_, t) =>
    softmaxRow(logits.values.subarray(t * V, (t + 1) * V)),
  );
  // The step the model is least sure of (the lowest top probability) shows the most.
  let pick = 0;
  for (let t = 1; t < T; t++) if (Math.max(...probs[t]) < Math.max(...probs[pick])) pick = t;
  const p = probs[pick];
  const target = pick < out.length ? out[pick] : model.config.eosId;
  const order = p
    .map((_, i) => i)
    .sort((a, b) => p[b] - p[a] || a - b)
    .slice(0, 8);
  const keys = orderedKeys(tokenLabels(tok, order));
  const smoothed = `label-smoothed target (ε = ${eps})`;
  const values = order.flatMap((id, i) => [
    { token: keys[i], series: "model's probability", p: Number(p[id].toPrecision(3)) },
    {
      token: keys[i],
      series: smoothed,
      p: Number(((id === target ? 1 - eps : 0) + eps / V).toPrecision(3)),
    },
  ]);
  return {
    title: {
      text: `The dates model's next-token distribution after “${tok.decode(out.slice(0, pick))}”`,
      subtitle: `input “${DATE}”; the 8 most likely of its ${V} tokens, log scale; it was trained toward targets smoothed with ε = ${eps}`,
    },
    width: 380,
    height: 220,
    data: { values },
    mark: { type: "bar", aria: false },
    encoding: {
      x: {
        field: "token",
        type: "ordinal",
        sort: null,
        title: "next token",
        axis: { labelExpr: LABEL_AFTER_BAR, labelAngle: 0 },
      },
      xOffset: { field: "series", type: "nominal", sort: ["model's probability", smoothed] },
      y: {
        field: "p",
        type: "quantitative",
        title: "probability",
        scale: { type: "log", domain: [1e-4, 1] },
      },
      y2: { datum: 1e-4 },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        sort: ["model's probability", smoothed],
        legend: { orient: "top" },
      },
    },
  };
}

export function decodingBeam(): Spec {
  const { model, tok } = dates();
  const ids = tok.encode(AMBIGUOUS_DATE);
  const beam = decodeBatch(model, [ids], { beam: 4, alpha: 0.6 })[0];
  // Beam search of width 1 is greedy decoding, with its probabilities computed.
  const greedy = decodeBatch(model, [ids], { beam: 1, search: "beam" })[0][0];
  const row = (key: string, what: string, h: (typeof beam)[number], search: string) => ({
    hyp: `${key}|${what}: “${tok.decode(h.tokens)}”, log P = ${h.logProb.toFixed(2)}`,
    score: r3(h.score),
    search,
  });
  const values = [
    ...beam.map((h, i) => row(String(i), `beam #${i + 1}`, h, "beam search, k = 4")),
    row("9", "greedy", greedy, "greedy"),
  ];
  return {
    title: {
      text: `Greedy decoding and beam search (k = 4, α = 0.6) on “${AMBIGUOUS_DATE}”`,
      subtitle:
        "score = log P(y) / lp(y), lp = ((5 + |y|) / 6)^α, |y| counting <eos>; nearer 0 is better",
    },
    width: 300,
    height: { step: 22 },
    data: { values },
    mark: { type: "bar", aria: false },
    encoding: {
      y: {
        field: "hyp",
        type: "ordinal",
        sort: null,
        title: null,
        axis: { labelExpr: LABEL_AFTER_BAR },
      },
      x: {
        field: "score",
        type: "quantitative",
        title: "score (length-normalised log-probability)",
      },
      color: { field: "search", type: "nominal", title: null, legend: { orient: "top" } },
    },
  };
}
