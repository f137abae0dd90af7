/** One head's attention: for any cell how its weight was computed (q·k/√d_k, the mask, the softmax), then for its query V, weights · V, the heads concatenated and W^O. */
import { attentionPath, tapName, type AttentionTap } from "../../../src/browser.js";
import { Heatmap } from "../components/heatmap.js";
import { useState } from "preact/hooks";
import { Bars } from "../components/widgets.js";
import { dot, exact, fmt, type Matrix, mat, rowOf } from "../lib.js";
import {
  BLOCK_NAMES,
  type Block,
  type ChapterProps,
  blockFor,
  blocksOf,
  blockTokens,
  layersOf,
  nth,
} from "./types.js";

export function HeadPicker({ info, ui, act }: Pick<ChapterProps, "info" | "ui" | "act">) {
  const block = blockFor(info, ui.block);
  return (
    <fieldset class="picker">
      <legend class="sr-only">attention head</legend>
      <label>
        Block
        <select
          data-testid="pick-block"
          value={block}
          onChange={(e) =>
            act.setUi({ block: e.currentTarget.value as Block, layer: 0, cell: null })
          }
        >
          {blocksOf(info).map((b) => (
            <option value={b}>{BLOCK_NAMES[b]}</option>
          ))}
        </select>
      </label>
      <label>
        Layer
        <select
          data-testid="pick-layer"
          value={ui.layer}
          onChange={(e) => act.setUi({ layer: Number(e.currentTarget.value) })}
        >
          {Array.from({ length: layersOf(info, block) }, (_, i) => (
            <option value={i}>{nth(i)}</option>
          ))}
        </select>
      </label>
      <label>
        Head
        <select
          data-testid="pick-head"
          value={ui.head}
          onChange={(e) => act.setUi({ head: Number(e.currentTarget.value) })}
        >
          {Array.from({ length: info.config.heads }, (_, i) => (
            <option value={i}>{nth(i)}</option>
          ))}
        </select>
      </label>
    </fieldset>
  );
}

export function Attention(props: ChapterProps) {
  const { a, info, ui, act } = props;
  const block = blockFor(info, ui.block);
  const layer = Math.min(ui.layer, layersOf(info, block) - 1);
  const path = attentionPath(block, layer);
  const h = Math.min(ui.head, info.config.heads - 1);
  const get = (n: AttentionTap) => a.tensors[tapName(path, n)];
  const weights = get("weights");
  const { q: qTok, k: kTok } = blockTokens(a, info, block);
  if (!weights) return <p>No attention was recorded for {path}.</p>;
  const W = mat(weights, [0, h]);
  const S = mat(get("scores"), [0, h]);
  const M = mat(get("masked_scores"), [0, h]);
  const Q = mat(get("q"), [0, h]);
  const K = mat(get("k"), [0, h]);
  // By default the last query and the key it weighs most: the cell that says most about the row.
  const lastRow = W.rows - 1;
  const cell =
    ui.cell && ui.cell[0] < W.rows && ui.cell[1] < W.cols
      ? ui.cell
      : [lastRow, argmax(rowOf(W, lastRow))];
  const [i, j] = cell;
  const dk = Q.cols;
  const qi = rowOf(Q, i);
  const kj = rowOf(K, j);
  const raw = dot(qi, kj);
  const scaled = a.interventions.noScale ? raw : raw / Math.sqrt(dk);
  const masked = M.values[i * M.cols + j] === Number.NEGATIVE_INFINITY;
  const mrow = rowOf(M, i);
  let max = Number.NEGATIVE_INFINITY;
  for (const x of mrow) if (x > max) max = x;
  let sum = 0;
  for (const x of mrow) sum += Math.exp(x - max);
  const w = W.values[i * W.cols + j];
  const ref = `${path}.weights`;
  return (
    <div>
      <HeadPicker info={info} ui={ui} act={act} />
      <div class="row">
        <Heatmap
          testId="attn-heatmap"
          title={`${BLOCK_NAMES[block]}, layer ${nth(layer)}, head ${nth(h)}: weights (rows: queries, columns: keys)`}
          m={W}
          rowLabels={qTok}
          colLabels={kTok}
          range={[0, 1]}
          gamma={0.5}
          selected={cell as [number, number]}
          onCell={(r, c) => act.setUi({ cell: [r, c] })}
          maxWidth={560}
          maxCell={34}
          describe={(r, c, v) =>
            `query ${qTok[r]} (position ${r}) attends to key ${kTok[c]} (position ${c}) with weight ${fmt(v, 4)}`
          }
        />
        <div class="detail" data-testid="attn-detail" aria-live="polite">
          <h3>
            Query “{qTok[i]}” (position {i}) → key “{kTok[j]}” (position {j})
          </h3>
          <Heatmap
            title={`q (d_k = ${dk})`}
            m={{ rows: 1, cols: dk, values: qi }}
            scale="div"
            maxWidth={320}
            small
          />
          <Heatmap
            title="k"
            m={{ rows: 1, cols: dk, values: kj }}
            scale="div"
            maxWidth={320}
            small
          />
          <table class="calc">
            <tbody>
              <tr>
                <th scope="row" class="calc-label">
                  q · k
                </th>
                <td class="calc-value">{fmt(raw, 4)}</td>
              </tr>
              <tr>
                <th scope="row" class="calc-label">
                  {a.interventions.noScale
                    ? "scaling (switched off)"
                    : `÷ √d_k = ÷ ${Math.sqrt(dk).toFixed(3)}`}
                </th>
                <td class="calc-value">{fmt(scaled, 4)}</td>
              </tr>
              <tr>
                <th scope="row" class="calc-label">
                  score recorded by the model
                </th>
                <td data-testid="attn-score" data-value={exact(S.values[i * S.cols + j])}>
                  {fmt(S.values[i * S.cols + j], 4)}
                </td>
              </tr>
              <tr>
                <th scope="row" class="calc-label">
                  mask
                </th>
                <td class="calc-value">{masked ? "−∞ (not allowed)" : "0 (allowed)"}</td>
              </tr>
              <tr>
                <th scope="row" class="calc-label">
                  softmax: exp(s − max) / Σ exp(s − max)
                </th>
                <td class="calc-value">
                  {masked ? "0" : `${fmt(Math.exp(mrow[j] - max), 4)} / ${fmt(sum, 4)}`}
                </td>
              </tr>
              <tr>
                <th scope="row" class="calc-label calc-result">
                  weight
                </th>
                <td
                  class="calc-value calc-result"
                  data-testid="attn-weight"
                  data-value={exact(w)}
                  data-tensor={ref}
                  data-index={JSON.stringify([0, h, i, j])}
                >
                  {fmt(w, 4)}
                </td>
              </tr>
            </tbody>
          </table>
          <Bars
            caption={`softmax row of query ${qTok[i]}`}
            bars={kTok.map((t, c) => ({
              label: t,
              value: W.values[i * W.cols + c],
              mark: c === j,
            }))}
            max={1}
          />
        </div>
      </div>
      <ValuePath
        {...{ path, h, i, W, qTok, kTok }}
        V={mat(get("v"), [0, h])}
        heads={mat(get("heads"), [0, h])}
        concat={mat(get("concat"), [0])}
        out={mat(get("out"), [0])}
        zeroed={a.interventions.zeroHeads.includes(`${path}:${h}`)}
      />
    </div>
  );
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < v.length; c++) if (v[c] > v[best]) best = c;
  return best;
}

/**
 * The rest of Attention(Q, K, V) for query row i: the value vectors, the
 * weighted sum (the head's output), all heads side by side, and W^O's output.
 */
function ValuePath(p: {
  path: string;
  h: number;
  i: number;
  W: Matrix;
  V: Matrix;
  heads: Matrix;
  concat: Matrix;
  out: Matrix;
  qTok: string[];
  kTok: string[];
  zeroed: boolean;
}) {
  const { path, h, i, W, V, heads, concat, out, qTok, kTok } = p;
  const w = rowOf(W, i);
  const head = rowOf(heads, i);
  const dv = V.cols;
  // Work out the coordinate with the largest magnitude unless the learner picks another.
  const [picked, setPicked] = useState<number | null>(null);
  let big = 0;
  for (let c = 1; c < dv; c++) if (Math.abs(head[c]) > Math.abs(head[big])) big = c;
  const c = picked !== null && picked < dv ? picked : big;
  // Masked keys have weight exactly 0 and add nothing: list only the others.
  const keys = kTok.map((_, j) => j).filter((j) => w[j] !== 0);
  let sum = 0;
  for (const j of keys) sum += w[j] * V.values[j * dv + c];
  const concatRow = rowOf(concat, i);
  const coords = Array.from({ length: dv }, (_, k) => k);
  return (
    <section class="value-path" data-testid="attn-values">
      <h3>
        Then the values: what query “{qTok[i]}” (position {i}) reads
      </h3>
      <p>
        Each key position j also has a value vector v_j (V = x·W^V, split into heads like q and k).
        The head's output for the query is the weighted average Σ_j w_j · v_j, using the softmax row
        above as weights.
      </p>
      {p.zeroed && (
        <p class="note warn">
          This head is zeroed (interventions): the model multiplies its output by 0, so the recorded
          row is all zeros although the sum below is not.
        </p>
      )}
      <div class="row">
        <Heatmap
          testId="attn-v"
          title={`V of head ${nth(h)} (rows: keys, d_v = ${dv})`}
          m={V}
          rowLabels={kTok}
          scale="div"
          maxWidth={320}
        />
        <div class="detail scroll-x">
          <table class="calc" data-testid="attn-sum">
            <caption>
              Coordinate{" "}
              <select
                data-testid="pick-coord"
                value={c}
                onChange={(e) => setPicked(Number(e.currentTarget.value))}
              >
                {coords.map((k) => (
                  <option value={k}>{k}</option>
                ))}
              </select>{" "}
              of weights · V, worked out: Σ_j w_j · v_j[{c}]
            </caption>
            <thead>
              <tr>
                <th scope="col">key j</th>
                <th scope="col">w_j</th>
                <th scope="col">v_j[{c}]</th>
                <th scope="col">w_j · v_j[{c}]</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((j) => (
                <tr>
                  <th scope="row" class="calc-label">
                    “{kTok[j]}” ({j})
                  </th>
                  <td class="calc-value">{fmt(w[j], 4)}</td>
                  <td class="calc-value">{fmt(V.values[j * dv + c], 4)}</td>
                  <td class="calc-value">{fmt(w[j] * V.values[j * dv + c], 4)}</td>
                </tr>
              ))}
              <tr>
                <th scope="row" class="calc-label calc-result" colSpan={3}>
                  sum
                </th>
                <td class="calc-value calc-result">{fmt(sum, 4)}</td>
              </tr>
              <tr>
                <th scope="row" class="calc-label" colSpan={3}>
                  recorded by the model ({path}.heads)
                </th>
                <td class="calc-value" data-value={exact(head[c])}>
                  {fmt(head[c], 4)}
                </td>
              </tr>
            </tbody>
          </table>
        </div>
      </div>
      <div class="scroll-x">
        <table class="calc vec" data-testid="attn-head-out">
          <caption>weights · V: the output of head {nth(h)} for this query (d_v numbers)</caption>
          <tbody>
            <tr>
              {coords.map((k) => (
                <td
                  class={k === c ? "calc-value picked" : "calc-value"}
                  data-value={exact(head[k])}
                  data-tensor={`${path}.heads`}
                  data-index={JSON.stringify([0, h, i, k])}
                >
                  {fmt(head[k], 3)}
                </td>
              ))}
            </tr>
          </tbody>
        </table>
      </div>
      <p>
        Every head computes such a vector. Written side by side they make one vector of d_model ={" "}
        {concat.cols} numbers (the outlined cell is coordinate {c} of head {nth(h)}), and the output
        projection W^O mixes them into the attention's output, which is added to the residual
        stream.
      </p>
      <div class="row">
        <Heatmap
          testId="attn-concat"
          title={`Concat(head 1 … head ${concat.cols / dv}) (${path}.concat)`}
          m={{ rows: 1, cols: concatRow.length, values: concatRow }}
          scale="div"
          maxWidth={560}
          selected={[0, h * dv + c]}
          small
        />
        <Heatmap
          testId="attn-out"
          title={`× W^O: the attention's output (${path}.out)`}
          m={{ rows: 1, cols: out.cols, values: rowOf(out, i) }}
          scale="div"
          maxWidth={560}
          small
        />
      </div>
    </section>
  );
}
