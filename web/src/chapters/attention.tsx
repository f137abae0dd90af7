/** One head's attention, and for any cell how its weight was computed: q·k/√d_k, the mask, the softmax. */
import { attentionPath, tapName, type AttentionTap } from "../../../src/browser.js";
import { Heatmap } from "../components/heatmap.js";
import { Bars } from "../components/widgets.js";
import { dot, exact, fmt, mat, rowOf } from "../lib.js";
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
  const cell = ui.cell && ui.cell[0] < W.rows && ui.cell[1] < W.cols ? ui.cell : [W.rows - 1, 0];
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
    </div>
  );
}
