/**
 * The figures of docs/concepts/: each one computed from a shipped, trained
 * checkpoint (web/public/checkpoints/) with the library itself (loadRun,
 * recordIntermediates, decodeBatch...), then drawn with Vega-Lite. They run
 * on the reference "js" backend, whose results are the same on every machine,
 * and round what they plot, so a rerun writes the same bytes.
 *
 * Here: the registry and the embedding and position figures; attention,
 * masks and heads in concept-attention.ts; residual stream, feed-forward,
 * output and decoding in concept-layers.ts; Table 1 in concept-paths.ts.
 */
import { useBackend } from "../src/backend/select.js";
import { getBackend, setBackend } from "../src/tensor/engine.js";
import { pca2 } from "../src/experiments/pca.js";
import { sinusoidalPositionalEncoding } from "../src/nn/positional.js";
import { noGrad, tidy } from "../src/tensor/index.js";
import { decodingBeam, ffnHidden, outputDistribution, residualNorms } from "./concept-layers.js";
import {
  attentionCross,
  attentionScores,
  masksCombined,
  masksWeights,
  multiHead,
} from "./concept-attention.js";
import { type Seq2Seq, checkpoint, dates } from "./concept-models.js";
import { pathLengthSpec } from "./concept-paths.js";
import { type Spec, heatmapSpec, r3, showToken } from "./concept-svg.js";

export const FIGURES_DIR = "docs/concepts/figures";

/** What kind of character a token is, to colour the PCA. */
function tokenKind(t: string): string {
  if (t.startsWith("<")) return "special";
  if (/\d/.test(t)) return "digit";
  if (/[A-Z]/.test(t)) return "capital";
  if (/[a-z]/.test(t)) return "lower case";
  return "punctuation, space";
}

function embeddingsPca(): Spec {
  const { model, tok } = dates();
  const w = model.tgtTable.readSync();
  const [V, d] = model.tgtTable.shape;
  const p = pca2(w, V, d);
  const values = Array.from({ length: V }, (_, i) => {
    const t = tok.idToToken(i);
    return { x: r3(p.x[i]), y: r3(p.y[i]), token: showToken(t), kind: tokenKind(t) };
  });
  const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
  return {
    title: {
      text: "The dates model's token embeddings, projected to 2-D",
      subtitle: `PCA of the ${V} × ${d} table (shared by encoder, decoder and output); the axes keep ${pct(p.explained[0])} and ${pct(p.explained[1])} of the variance`,
    },
    width: 420,
    height: 320,
    data: { values },
    encoding: {
      x: { field: "x", type: "quantitative", title: "first principal axis" },
      y: { field: "y", type: "quantitative", title: "second principal axis" },
      color: { field: "kind", type: "nominal", title: null },
    },
    layer: [
      { mark: { type: "point", filled: true, size: 30, aria: false } },
      {
        mark: { type: "text", dx: 7, align: "left", fontSize: 10, aria: false },
        encoding: { text: { field: "token" } },
      },
    ],
  };
}

function positionalSinusoidal(): Spec {
  const P = 64;
  const d = 64;
  const pe = noGrad(() => tidy(() => sinusoidalPositionalEncoding(P, d).readSync()));
  return heatmapSpec({
    values: pe,
    rows: P,
    cols: d,
    limit: 1,
    title: "Sinusoidal positional encoding, d_model = 64",
    subtitle: "row pos: PE(pos, 2i) = sin(pos / 10000^(2i/64)), PE(pos, 2i+1) = cos(…)",
    xTitle: "dimension",
    yTitle: "position",
  });
}

function positionalLearned(): Spec {
  const { model } = checkpoint<Seq2Seq>("reverse-learned");
  const table = model.encoder.pos_embed!.weight;
  const [P, d] = table.shape;
  const v = table.readSync();
  let max = 0;
  for (const x of v) max = Math.max(max, Math.abs(x));
  return heatmapSpec({
    values: v,
    rows: P,
    cols: d,
    limit: Math.ceil(10 * max) / 10,
    title: "Learned positions of the reverse-learned model (encoder)",
    subtitle:
      "trained on strings of 1–10 letters + EOS (positions 0–10); rows 11–63 never received a gradient",
    xTitle: "dimension",
    yTitle: "position",
  });
}

/** Cosine similarity of one position's vector with every other, both kinds. */
function positionalSimilarity(): Spec {
  const P = 32;
  const anchor = 5;
  const { model } = checkpoint<Seq2Seq>("reverse-learned");
  const learned = model.encoder.pos_embed!.weight.readSync();
  const d = model.config.dModel;
  const sin = noGrad(() => tidy(() => sinusoidalPositionalEncoding(P, d).readSync()));
  const cos = (t: ArrayLike<number>, a: number, b: number) => {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let k = 0; k < d; k++) {
      ab += t[a * d + k] * t[b * d + k];
      aa += t[a * d + k] ** 2;
      bb += t[b * d + k] ** 2;
    }
    return ab / Math.sqrt(aa * bb);
  };
  const values = Array.from({ length: P }, (_, p) => [
    { pos: p, kind: "sinusoidal", sim: r3(cos(sin, anchor, p)) },
    { pos: p, kind: "learned (reverse-learned)", sim: r3(cos(learned, anchor, p)) },
  ]).flat();
  return {
    title: {
      text: `How similar position ${anchor} is to every other position`,
      subtitle:
        "cosine of the two position vectors; the learned table was trained on positions 0–10 only",
    },
    width: 420,
    height: 200,
    data: { values },
    mark: { type: "line", point: true, aria: false },
    encoding: {
      x: { field: "pos", type: "quantitative", title: "position" },
      y: { field: "sim", type: "quantitative", title: `cos(PE[${anchor}], PE[pos])` },
      color: { field: "kind", type: "nominal", title: null, legend: { orient: "top" } },
    },
  };
}

export interface Figure {
  file: string;
  /** The chapter (docs/concepts/NAME.md) that shows it. */
  chapter: string;
  build(): Spec;
}

export const FIGURES: readonly Figure[] = [
  { file: "embeddings-pca.svg", chapter: "embeddings.md", build: embeddingsPca },
  {
    file: "positional-sinusoidal.svg",
    chapter: "positional-encoding.md",
    build: positionalSinusoidal,
  },
  { file: "positional-learned.svg", chapter: "positional-encoding.md", build: positionalLearned },
  {
    file: "positional-similarity.svg",
    chapter: "positional-encoding.md",
    build: positionalSimilarity,
  },
  { file: "attention-cross.svg", chapter: "attention.md", build: attentionCross },
  { file: "attention-scores.svg", chapter: "attention.md", build: attentionScores },
  { file: "masks-combined.svg", chapter: "masks.md", build: masksCombined },
  { file: "masks-weights.svg", chapter: "masks.md", build: masksWeights },
  { file: "multi-head.svg", chapter: "multi-head.md", build: multiHead },
  { file: "residual-norms.svg", chapter: "residual-layer-norm.md", build: residualNorms },
  { file: "ffn-hidden.svg", chapter: "feed-forward.md", build: ffnHidden },
  {
    file: "output-distribution.svg",
    chapter: "output-label-smoothing.md",
    build: outputDistribution,
  },
  { file: "decoding-beam.svg", chapter: "decoding.md", build: decodingBeam },
  { file: "rnn-path-length.svg", chapter: "rnn-vs-transformer.md", build: pathLengthSpec },
];

/** Every figure's SVG text by file name, computed on the reference backend (then the previous one is restored). */
export async function renderFigures(
  render: (s: Spec) => Promise<string>,
): Promise<Map<string, string>> {
  const previous = getBackend();
  useBackend("js");
  try {
    const out = new Map<string, string>();
    for (const f of FIGURES) out.set(f.file, await render(f.build()));
    return out;
  } finally {
    setBackend(previous);
  }
}
