/** Multi-head attention: every layer and head at once, a head view with lines, and zeroing heads. */
import { attentionPath, attentionTap } from "../../../src/browser.js";
import { useEffect, useState } from "preact/hooks";
import { Heatmap } from "../components/heatmap.js";
import { CompareTable, headLabel } from "../components/interventions.js";
import { mat, reducedMotion } from "../lib.js";
import {
  BLOCK_NAMES,
  type Block,
  type ChapterProps,
  blockFor,
  blocksOf,
  blockTokens,
  isGpt,
  layersOf,
  nth,
} from "./types.js";

const HEAD_COLORS = [
  "#2563eb",
  "#dc2626",
  "#16a34a",
  "#9333ea",
  "#ea580c",
  "#0891b2",
  "#be185d",
  "#4d7c0f",
];

function HeadView({ props, block, layer }: { props: ChapterProps; block: Block; layer: number }) {
  const { a, info, ui } = props;
  const [hover, setHover] = useState<number | null>(null);
  const rec = a.tensors[attentionTap(block, layer, "weights")];
  const { q, k } = blockTokens(a, info, block);
  const H = info.config.heads;
  const [shown, setShown] = useState<number[]>([ui.head]);
  const rowH = 18;
  const height = Math.max(q.length, k.length) * rowH + 10;
  const left = 60;
  const right = 300;
  return (
    <figure class="headview">
      <figcaption>
        Head view, {BLOCK_NAMES[block]}, layer {nth(layer)}: a line from each query (left) to each
        key (right), as opaque as its weight. Hover a token on the left, or pick it below, to follow
        only its lines.
      </figcaption>
      <fieldset class="inline">
        <legend>Heads</legend>
        {Array.from({ length: H }, (_, h) => (
          <label class="check" style={{ color: HEAD_COLORS[h % HEAD_COLORS.length] }}>
            <input
              type="checkbox"
              checked={shown.includes(h)}
              onChange={(e) =>
                setShown(e.currentTarget.checked ? [...shown, h] : shown.filter((x) => x !== h))
              }
            />
            head {nth(h)}
          </label>
        ))}
        <label>
          follow one query{" "}
          <select
            value={hover ?? ""}
            onChange={(e) =>
              setHover(e.currentTarget.value === "" ? null : Number(e.currentTarget.value))
            }
          >
            <option value="">all</option>
            {q.map((t, i) => (
              <option value={i}>
                {i}: {t}
              </option>
            ))}
          </select>
        </label>
      </fieldset>
      <svg
        class="headview-svg"
        width={right + 60}
        height={height}
        viewBox={`0 0 ${right + 60} ${height}`}
        role="img"
        aria-label="lines between query and key tokens"
        onMouseMove={(e) => {
          const r = e.currentTarget.getBoundingClientRect();
          const i = Math.floor((e.clientY - r.top) / rowH);
          setHover(e.clientX - r.left < left + 10 && i >= 0 && i < q.length ? i : null);
        }}
      >
        {shown.map((h) => {
          const W = mat(rec, [0, h]);
          const lines = [];
          for (let i = 0; i < W.rows; i++) {
            if (hover !== null && hover !== i) continue;
            for (let j = 0; j < W.cols; j++) {
              const w = W.values[i * W.cols + j];
              if (w < 0.02) continue;
              lines.push(
                <line
                  x1={left}
                  y1={10 + i * rowH}
                  x2={right}
                  y2={10 + j * rowH}
                  stroke={HEAD_COLORS[h % HEAD_COLORS.length]}
                  stroke-opacity={Math.min(1, w * (shown.length > 1 ? 0.8 : 1))}
                  stroke-width={1 + 2 * w}
                />,
              );
            }
          }
          return <g>{lines}</g>;
        })}
        {q.map((t, i) => (
          <text
            x={left - 8}
            y={14 + i * rowH}
            text-anchor="end"
            class={hover === i ? "hv hv-on" : "hv"}
          >
            {t}
          </text>
        ))}
        {k.map((t, j) => (
          <text x={right + 8} y={14 + j * rowH} class="hv">
            {t}
          </text>
        ))}
      </svg>
    </figure>
  );
}

/**
 * The intact model against the changed one, in the chapter where heads are
 * zeroed: it sticks to the bottom of the window while the grid scrolls, so a
 * click on "zero" anywhere in it gets its answer on screen.
 */
function ZeroFeedback({
  a,
  info,
  pending,
  restore,
}: {
  a: ChapterProps["a"];
  info: ChapterProps["info"];
  pending: boolean;
  restore(key: string | null): void;
}) {
  const zeroed = a.interventions.zeroHeads;
  if (!pending && !a.baseline) return null;
  return (
    <section
      class="iv-inline"
      data-testid="mh-compare"
      aria-live="polite"
      aria-label="what zeroing changed"
    >
      {pending ? (
        <p class="ref-line">Computing the changed model…</p>
      ) : (
        <>
          {zeroed.length > 0 ? (
            <p class="iv-inline-heads">
              Zeroed:{" "}
              {zeroed.map((k) => (
                <span class="chip">
                  {headLabel(k)}{" "}
                  <button type="button" class="link" onClick={() => restore(k)}>
                    restore
                  </button>
                </span>
              ))}
              {zeroed.length > 1 && (
                <button type="button" class="link" onClick={() => restore(null)}>
                  restore all
                </button>
              )}
            </p>
          ) : (
            <p class="iv-inline-heads">
              No head is zeroed; other interventions are on (see Interventions).
            </p>
          )}
          <CompareTable a={a} gpt={isGpt(info)} />
        </>
      )}
    </section>
  );
}

export function MultiHead(props: ChapterProps) {
  const { a, info, ui, act } = props;
  const H = info.config.heads;
  const zero = new Set(a.interventions.zeroHeads);
  // Set by a click here, cleared by the analysis that answers it.
  const [pending, setPending] = useState(false);
  useEffect(() => setPending(false), [a]);
  const restore = (key: string | null) => {
    setPending(true);
    const iv = a.interventions;
    act.setInterventions({ ...iv, zeroHeads: key ? iv.zeroHeads.filter((x) => x !== key) : [] });
  };
  const toggleZero = (key: string) => {
    const iv = a.interventions;
    setPending(true);
    act.setInterventions({
      ...iv,
      zeroHeads: zero.has(key) ? iv.zeroHeads.filter((x) => x !== key) : [...iv.zeroHeads, key],
    });
  };
  const block = blockFor(info, ui.block);
  const layer = Math.min(ui.layer, layersOf(info, block) - 1);
  return (
    <div class={reducedMotion() ? "" : "fade"}>
      {blocksOf(info).map((b: Block) => {
        const { q, k } = blockTokens(a, info, b);
        return (
          <section class="heads-block">
            <h3>{BLOCK_NAMES[b]}</h3>
            {Array.from({ length: layersOf(info, b) }, (_, l) => (
              <div class="heads-row">
                <span class="layer-label">layer {nth(l)}</span>
                {Array.from({ length: H }, (_, h) => {
                  const key = `${attentionPath(b, l)}:${h}`;
                  const on = block === b && layer === l && ui.head === h;
                  const rec = a.tensors[attentionTap(b, l, "weights")];
                  return (
                    <div
                      class={`head-cell${on ? " head-on" : ""}${zero.has(key) ? " zeroed" : ""}`}
                    >
                      <Heatmap
                        title={`layer ${nth(l)}, head ${nth(h)}`}
                        m={mat(rec, [0, h])}
                        rowLabels={q}
                        range={[0, 1]}
                        gamma={0.5}
                        maxWidth={170}
                        describe={(i, j, v) => `query ${q[i]} to key ${k[j]}: ${v.toFixed(4)}`}
                        small
                      />
                      <div class="head-actions">
                        <button
                          type="button"
                          class="link"
                          onClick={() => act.setUi({ block: b, layer: l, head: h, cell: null })}
                        >
                          {on ? "selected" : "select"}
                        </button>
                        <button
                          type="button"
                          class="link"
                          aria-pressed={zero.has(key)}
                          data-testid={`zero-${key}`}
                          onClick={() => toggleZero(key)}
                        >
                          {zero.has(key) ? "restore" : "zero"}
                        </button>
                        <button
                          type="button"
                          class="link"
                          onClick={() => {
                            act.setUi({ block: b, layer: l, head: h, cell: null });
                            act.go("attention");
                          }}
                        >
                          inspect
                        </button>
                      </div>
                    </div>
                  );
                })}
              </div>
            ))}
          </section>
        );
      })}
      <HeadView key={`${block}-${layer}-${ui.head}`} props={props} block={block} layer={layer} />
      <ZeroFeedback a={a} info={info} pending={pending} restore={restore} />
    </div>
  );
}
