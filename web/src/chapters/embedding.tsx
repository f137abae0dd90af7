/** Input embedding: ids, one-hot × E = row lookup, ×√d_model, and the PCA of the table. */
import { stackPath, tapName } from "../../../src/browser.js";
import { useState } from "preact/hooks";
import { Heatmap } from "../components/heatmap.js";
import { Bars, PcaPlot, Tokens } from "../components/widgets.js";
import { fmt, mat, norm, rowOf, sharedRange } from "../lib.js";
import { type ChapterProps, inputStack, isGpt, tok } from "./types.js";

export function Embedding({ a, info }: ChapterProps) {
  const [sel, setSel] = useState(0);
  const i = Math.min(sel, a.srcIds.length - 1);
  const id = a.srcIds[i];
  const E = mat(a.embedTable);
  const V = E.rows;
  const d = E.cols;
  const onehot = new Float32Array(V);
  onehot[id] = 1;
  // The matrix product, written out: (one-hot · E)_j = Σ_v onehot_v E_vj.
  const product = new Float32Array(d);
  for (let v = 0; v < V; v++)
    for (let j = 0; j < d; j++) product[j] += onehot[v] * E.values[v * d + j];
  const lookup = rowOf(E, id);
  let diff = 0;
  for (let j = 0; j < d; j++) diff = Math.max(diff, Math.abs(product[j] - lookup[j]));
  const gpt = isGpt(info);
  const embedKey = tapName(stackPath(inputStack(info)), "embed");
  const embed = a.tensors[embedKey];
  const scaled = embed ? rowOf(mat(embed, [0]), i) : null;
  const scale = info.config.scaleEmbedding ? Math.sqrt(d) : 1;
  const peKey = tapName(stackPath(inputStack(info)), "pos");
  const pe = a.tensors[peKey] ? rowOf(mat(a.tensors[peKey], [0]), i) : null;
  const dims = Array.from({ length: d }, (_, j) => String(j));
  // One colour scale for every d_model strip, so that ×√d_model is visible as deeper colour.
  const range = sharedRange(lookup, scaled, pe);
  const strip = (title: string, values: Float32Array, testId?: string, shared = true) => (
    <Heatmap
      testId={testId}
      title={title}
      m={{ rows: 1, cols: values.length, values }}
      colLabels={values.length === d ? dims : undefined}
      scale="div"
      range={shared ? range : undefined}
      rangeNote={shared ? "one scale for every strip of this column" : undefined}
      maxWidth={560}
      small
    />
  );
  return (
    <div>
      <h3>Text → tokens → ids</h3>
      <p>
        Each character of the {gpt ? "prompt" : "source"} is a token; its id is its row in the
        embedding table. Pick one:
      </p>
      <Tokens
        label={`${gpt ? "prompt" : "source"} tokens; choose one`}
        labels={a.srcIds.map((t) => tok(info, t))}
        ids={a.srcIds}
        selected={i}
        onSelect={setSel}
      />
      <div class="row">
        <div class="col">
          <h3>
            One-hot × E = row lookup (token “{tok(info, id)}”, id {id})
          </h3>
          {strip(`one-hot vector of id ${id} (${V} entries, a single 1)`, onehot, undefined, false)}
          <p class="op">
            × E, the embedding table ({V} × {d}; row {id} outlined)
          </p>
          <Heatmap
            title={`embedding table E (${V} tokens × d_model ${d})`}
            m={E}
            rowLabels={info.vocab.map((t) => (t === " " ? "␣" : t))}
            scale="div"
            cell={Math.max(2, Math.min(6, Math.floor(400 / d)))}
            highlightRow={id}
            small
          />
          <p class="op">= one-hot · E, computed as a sum over all {V} rows</p>
          {strip("one-hot · E", product, "emb-product")}
          <p class="op">
            and the lookup E[{id}] (what the model does, no multiplication at all): largest
            difference <strong data-testid="emb-diff">{fmt(diff, 6)}</strong>
          </p>
          {strip(`E[${id}]`, lookup, "emb-lookup")}
          <p class="op">
            {info.config.scaleEmbedding
              ? `× √d_model = √${d} = ${scale.toFixed(3)}: the vector the ${gpt ? "model" : "encoder"} receives (recorded tap ${embedKey})`
              : `This model does not scale its embeddings (scaleEmbedding is off${gpt ? ", as in GPT-2" : ""}): tap ${embedKey} is E[${id}] itself.`}
          </p>
          {scaled && strip(`${embedKey}, position ${i}`, scaled, "emb-scaled")}
          <WhyScale
            lookup={lookup}
            scaled={info.config.scaleEmbedding ? scaled : null}
            pe={pe}
            d={d}
            id={id}
            pos={i}
          />
        </div>
        <div class="col">
          <PcaPlot
            x={a.pca.x}
            y={a.pca.y}
            vocab={info.vocab}
            explained={a.pca.explained}
            highlight={a.srcIds}
          />
          <p class="note">
            Each point is one row of E. In a fresh model they are random; as it trains, tokens that
            play similar roles ({gpt ? "vowels, capitals, punctuation" : "digits, month letters"})
            drift together. The {gpt ? "prompt" : "source"}'s tokens are outlined.
          </p>
        </div>
      </div>
    </div>
  );
}

/**
 * Why ×√d_model: the sizes of E[id], E[id]·√d_model and the position's PE, which are
 * added next. With the paper's initialisation ‖E[id]‖ ≈ 1 while a sinusoidal PE has
 * ‖PE[pos]‖ = √(d_model/2) (each sin/cos pair has norm 1), so unscaled the position would
 * outweigh the token.
 */
function WhyScale(p: {
  lookup: Float32Array;
  scaled: Float32Array | null;
  pe: Float32Array | null;
  d: number;
  id: number;
  pos: number;
}) {
  if (!p.pe) return null;
  const nE = norm(p.lookup);
  const nS = p.scaled ? norm(p.scaled) : null;
  const nP = norm(p.pe);
  const bars = [
    { label: `‖E[${p.id}]‖`, value: nE },
    ...(nS === null ? [] : [{ label: `‖E·√${p.d}‖`, value: nS, mark: true }]),
    { label: `‖PE[${p.pos}]‖`, value: nP },
  ];
  const ratio = (x: number) =>
    x >= nP ? `${fmt(x / nP, 1)}× the size of` : `${fmt(nP / x, 1)}× smaller than`;
  return (
    <section class="why-scale" data-testid="why-scale">
      <h3>Why ×√d_model? Compare the two norms</h3>
      <Bars
        caption="vector sizes: the token's embedding, scaled, and the position's encoding"
        bars={bars}
        testId="why-scale-bars"
      />
      <p class="note">
        The next step adds the positional encoding to this vector. Unscaled, the token's vector E[
        {p.id}] is {ratio(nE)} PE[{p.pos}]
        {nS === null ? (
          <>; this model does not scale (it learned both tables to suit each other).</>
        ) : (
          <>
            ; ×√{p.d} = {fmt(Math.sqrt(p.d), 2)} makes it {ratio(nS)} PE[{p.pos}], so the sum keeps
            the token's identity and the position's. (With the paper's initialisation ‖E[id]‖ starts
            near 1, while a sinusoidal PE always has norm √(d_model/2) ={" "}
            {fmt(Math.sqrt(p.d / 2), 2)}.)
          </>
        )}
      </p>
    </section>
  );
}
