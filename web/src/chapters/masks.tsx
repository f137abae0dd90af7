/** Masks: a padded batch, the decoder's causal and padding masks and their union per row, and scores before/after −∞ with the softmax rows. */
import { attentionTap, type AttentionTap } from "../../../src/browser.js";
import { useState } from "preact/hooks";
import { Heatmap } from "../components/heatmap.js";
import { type Matrix, mat } from "../lib.js";
import { type ChapterProps, isGpt, layersOf, nth, PAD_LABEL, tok } from "./types.js";

const ROWS = ["your input", "example 1", "example 2"];

function BatchGrid(p: {
  ids: number[][];
  pad: number[][];
  label: string;
  vocab: (id: number) => string;
  testId: string;
}) {
  return (
    <div class="scroll-x">
      <table class="batch" data-testid={p.testId}>
        <caption>{p.label}</caption>
        <tbody>
          {p.ids.map((row, r) => (
            <tr>
              <th scope="row" class="batch-row">
                {ROWS[r] ?? `row ${r}`}
              </th>
              {row.map((id, c) => (
                <td
                  class={p.pad[r][c] ? "batch-cell pad" : "batch-cell"}
                  data-pad={p.pad[r][c]}
                  title={p.pad[r][c] ? "padding" : `id ${id}`}
                >
                  {p.pad[r][c] ? PAD_LABEL : p.vocab(id)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

type MaskKind = "causal" | "pad" | "both" | "";

/** What forbids key j to query i: the causal mask (j after i), the key being padding, or both. */
function kindOf(i: number, j: number, pad: number[], causal: boolean): MaskKind {
  const c = causal && j > i;
  const p = pad[j] === 1;
  return c && p ? "both" : c ? "causal" : p ? "pad" : "";
}

/** A [T, T] mask as a small table (rows: queries, columns: keys); PAD key columns are marked. */
function MaskGrid(p: {
  title: string;
  labels: string[];
  pad: number[];
  on: (i: number, j: number) => boolean;
  kind: (i: number, j: number) => MaskKind;
  testId: string;
}) {
  const T = p.labels.length;
  return (
    <table class="mgrid" data-testid={p.testId}>
      <caption>{p.title}</caption>
      <thead>
        <tr>
          <th />
          {p.labels.map((l, j) => (
            <th scope="col" class={p.pad[j] ? "mg-key pad-col" : "mg-key"}>
              {p.pad[j] ? "P" : l}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {Array.from({ length: T }, (_, i) => (
          <tr>
            <th scope="row" class="mg-q">
              {p.pad[i] ? "P" : p.labels[i]}
            </th>
            {Array.from({ length: T }, (_, j) => {
              const on = p.on(i, j);
              const k = p.kind(i, j);
              return (
                <td
                  class={`mg-cell${on ? ` mg-${k || "on"}` : ""}${p.pad[j] ? " pad-col" : ""}`}
                  data-masked={on ? 1 : 0}
                  data-kind={k}
                  title={`query ${i}, key ${j}: ${on ? "not allowed" : "allowed"}`}
                />
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The decoder's two masks for every row of the batch, and their union: the
 * −∞ cells the model actually added (read from its masked scores).
 */
function MasksTogether({ a, info }: Pick<ChapterProps, "a" | "info">) {
  const mb = a.maskBatch!;
  const causal = !a.interventions.noCausalMask;
  return (
    <section data-testid="mask-together">
      <h3>Decoder self-attention: both masks at once</h3>
      <p>
        In the decoder, position i may not read a later position (the causal mask: the future) nor a{" "}
        {PAD_LABEL} position (the padding mask: filler that is not part of the text). The model adds
        −∞ to the score wherever either one forbids it, so the mask it uses is their union. Here are
        the three targets of the batch (P marks a {PAD_LABEL} key column; rows: queries, columns:
        keys).
        {mb.tgtCut &&
          " This task's answers all have one length, so the two examples' targets are cut short here to show padding."}
      </p>
      <p class="mg-legend">
        <span class="mg-swatch mg-causal" /> future (causal) <span class="mg-swatch mg-pad" />{" "}
        {PAD_LABEL} key (padding) <span class="mg-swatch mg-both" /> both <span class="mg-swatch" />{" "}
        allowed
      </p>
      {mb.tgtIn.map((ids, r) => {
        const pad = mb.tgtPad[r];
        const labels = ids.map((id, c) => (pad[c] ? PAD_LABEL : tok(info, id)));
        const masked = mat(mb.dec.masked, [r, 0]);
        const kind = (i: number, j: number) => kindOf(i, j, pad, causal);
        return (
          <div class="scroll-x">
            <div class="row mg-row" data-testid={`mask-together-${r}`}>
              <MaskGrid
                testId="mask-causal"
                title={`${ROWS[r] ?? `row ${r}`}: causal${causal ? "" : " (switched off)"}`}
                labels={labels}
                pad={pad}
                on={(i, j) => causal && j > i}
                kind={(i, j) => (causal && j > i ? "causal" : "")}
              />
              <MaskGrid
                testId="mask-padding"
                title="padding"
                labels={labels}
                pad={pad}
                on={(_, j) => pad[j] === 1}
                kind={(_, j) => (pad[j] === 1 ? "pad" : "")}
              />
              <MaskGrid
                testId="mask-union"
                title="union (the model's −∞)"
                labels={labels}
                pad={pad}
                on={(i, j) => masked.values[i * masked.cols + j] === Number.NEGATIVE_INFINITY}
                kind={kind}
              />
            </div>
          </div>
        );
      })}
    </section>
  );
}

/** A GPT's masks: the causal mask of its self-attention over the prompt (no padding: it trains on equal chunks). */
function GptMasks({ a, info }: ChapterProps) {
  const [layer, setLayer] = useState(0);
  const [head, setHead] = useState(0);
  const l = Math.min(layer, layersOf(info, "self") - 1);
  const get = (n: AttentionTap) => a.tensors[attentionTap("self", l, n)];
  const masked = mat(get("masked_scores"), [0, head]);
  const scores = mat(get("scores"), [0, head]);
  const weights = mat(get("weights"), [0, head]);
  const maskM = {
    rows: masked.rows,
    cols: masked.cols,
    values: masked.values.map((v) => (v === Number.NEGATIVE_INFINITY ? 1 : 0)),
  };
  const labels = a.srcIds.map((id) => tok(info, id));
  const common = { rowLabels: labels, colLabels: labels, maxWidth: 420 };
  return (
    <div>
      <p>
        Your prompt, {labels.length} tokens. Row i of each matrix is what position i may look at:
        itself and the positions before it. A GPT learns from chunks of text that all have the same
        length, so it needs no padding mask.
      </p>
      <fieldset class="picker">
        <legend class="sr-only">which attention</legend>
        <label>
          Layer
          <select
            data-testid="mask-layer"
            value={l}
            onChange={(e) => setLayer(Number(e.currentTarget.value))}
          >
            {Array.from({ length: layersOf(info, "self") }, (_, i) => (
              <option value={i}>{nth(i)}</option>
            ))}
          </select>
        </label>
        <label>
          Head
          <select value={head} onChange={(e) => setHead(Number(e.currentTarget.value))}>
            {Array.from({ length: info.config.heads }, (_, i) => (
              <option value={i}>{nth(i)}</option>
            ))}
          </select>
        </label>
      </fieldset>
      {a.interventions.noCausalMask && (
        <p class="note warn">
          The causal mask is switched off (interventions): nothing is masked now, and every position
          reads the whole prompt, the future included.
        </p>
      )}
      <MaskStages
        maskTitle="1. Causal mask (1 = not allowed: a later position; rows: queries, columns: keys)"
        weightsTitle="4. Softmax of each row: the future gets exactly 0"
        m={{ maskM, scores, masked, weights }}
        common={common}
      />
    </div>
  );
}

/** The four stages of a masked softmax, as heatmaps: mask, scores, scores + −∞, weights. */
function MaskStages(p: {
  maskTitle: string;
  weightsTitle: string;
  m: { maskM: Matrix; scores: Matrix; masked: Matrix; weights: Matrix };
  common: { rowLabels: string[]; colLabels: string[]; maxWidth: number };
}) {
  const { m, common } = p;
  return (
    <>
      <div class="row">
        <Heatmap testId="mask-mask" title={p.maskTitle} m={m.maskM} range={[0, 1]} {...common} />
        <Heatmap
          testId="mask-scores"
          title="2. Scores q·k/√d_k before the mask"
          m={m.scores}
          scale="div"
          {...common}
        />
      </div>
      <div class="row">
        <Heatmap
          testId="mask-masked"
          title="3. After adding −∞ where masked (hatched)"
          m={m.masked}
          scale="div"
          {...common}
        />
        <Heatmap
          testId="mask-weights"
          title={p.weightsTitle}
          m={m.weights}
          range={[0, 1]}
          {...common}
        />
      </div>
    </>
  );
}

export function Masks(props: ChapterProps) {
  if (isGpt(props.info) || !props.a.maskBatch) return <GptMasks {...props} />;
  return <Seq2SeqMasks {...props} />;
}

function Seq2SeqMasks({ a, info }: ChapterProps) {
  const [row, setRow] = useState(0);
  const [stack, setStack] = useState<"enc" | "dec">("dec");
  const [head, setHead] = useState(0);
  const mb = a.maskBatch!;
  const part = stack === "enc" ? mb.enc : mb.dec;
  const ids = stack === "enc" ? mb.srcIds : mb.tgtIn;
  const labels = ids[row].map((id, c) =>
    (stack === "enc" ? mb.srcPad : mb.tgtPad)[row][c] ? PAD_LABEL : tok(info, id),
  );
  const scores = mat(part.scores, [row, head]);
  const masked = mat(part.masked, [row, head]);
  const weights = mat(part.weights, [row, head]);
  const maskM = {
    rows: masked.rows,
    cols: masked.cols,
    values: masked.values.map((v) => (v === Number.NEGATIVE_INFINITY ? 1 : 0)),
  };
  const vocab = (id: number) => tok(info, id);
  const common = { rowLabels: labels, colLabels: labels, maxWidth: 330 };
  return (
    <div>
      <p>
        Three sequences batched together: yours and two task examples. Shorter ones are padded to
        the longest with the pad token ({PAD_LABEL}, id 0; hatched below), which must never be
        attended to.
      </p>
      <div class="row">
        <BatchGrid
          testId="mask-src-batch"
          ids={mb.srcIds}
          pad={mb.srcPad}
          label="Source batch (encoder input)"
          vocab={vocab}
        />
        <BatchGrid
          testId="mask-tgt-batch"
          ids={mb.tgtIn}
          pad={mb.tgtPad}
          label="Target batch (decoder input)"
          vocab={vocab}
        />
      </div>
      <MasksTogether a={a} info={info} />
      <h3>One row, step by step</h3>
      <fieldset class="picker">
        <legend class="sr-only">which attention</legend>
        <label>
          Attention
          <select value={stack} onChange={(e) => setStack(e.currentTarget.value as "enc" | "dec")}>
            <option value="enc">encoder self-attention (padding mask)</option>
            <option value="dec">decoder self-attention (causal + padding)</option>
          </select>
        </label>
        <label>
          Row
          <select value={row} onChange={(e) => setRow(Number(e.currentTarget.value))}>
            {ROWS.map((r, i) => (
              <option value={i}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Head (layer 1)
          <select value={head} onChange={(e) => setHead(Number(e.currentTarget.value))}>
            {Array.from({ length: info.config.heads }, (_, i) => (
              <option value={i}>{nth(i)}</option>
            ))}
          </select>
        </label>
      </fieldset>
      {stack === "dec" && a.interventions.noCausalMask && (
        <p class="note warn">
          The causal mask is switched off (interventions): only padding is masked now.
        </p>
      )}
      <MaskStages
        maskTitle="1. Mask (1 = not allowed; rows: queries, columns: keys)"
        weightsTitle="4. Softmax of each row: masked keys get exactly 0"
        m={{ maskM, scores, masked, weights }}
        common={common}
      />
    </div>
  );
}
