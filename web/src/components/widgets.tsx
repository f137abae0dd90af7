/** Small shared views: token chips, probability bars, the PCA scatter of the embedding table. */
import { exact, fmt, reducedMotion, tokenText } from "../lib.js";

export function Tokens(p: {
  labels: string[];
  ids?: number[];
  selected?: number;
  onSelect?: (i: number) => void;
  label: string;
}) {
  return (
    <ol class="tokens" aria-label={p.label}>
      {p.labels.map((t, i) => (
        <li>
          <button
            type="button"
            class={i === p.selected ? "tok tok-on" : "tok"}
            aria-pressed={i === p.selected}
            disabled={!p.onSelect}
            onClick={() => p.onSelect?.(i)}
          >
            <span class="glyph">{t}</span>
            {p.ids && <span class="tok-id">{p.ids[i]}</span>}
          </button>
        </li>
      ))}
    </ol>
  );
}

export interface Bar {
  label: string;
  value: number;
  /** Shown next to the bar (default: the value). */
  note?: string;
  mark?: boolean;
  id?: number;
}

/** Horizontal bars of values in [0, max]. */
export function Bars(p: { bars: Bar[]; max?: number; testId?: string; caption: string }) {
  const max = p.max ?? Math.max(1e-9, ...p.bars.map((b) => b.value));
  return (
    <table class="bars" data-testid={p.testId}>
      <caption class="sr-only">{p.caption}</caption>
      <tbody>
        {p.bars.map((b) => (
          <tr data-id={b.id}>
            <th scope="row" class="bars-label">
              {tokenText(b.label)}
            </th>
            <td class="bars-cell">
              <span
                class={b.mark ? "bar bar-mark" : "bar"}
                style={{ width: `${Math.max(0, (b.value / max) * 100)}%` }}
              />
            </td>
            <td class="bars-num" data-value={exact(b.value)}>
              {b.note ?? fmt(b.value, 3)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function tokenKind(t: string): string {
  if (t.startsWith("<")) return "special";
  if (/^[0-9]$/.test(t)) return "digit";
  if (/^[a-z]$/.test(t)) return "lower";
  if (/^[A-Z]$/.test(t)) return "upper";
  return "other";
}

/** The embedding table projected on its first two principal axes; hover a point for its token. */
export function PcaPlot(p: {
  x: Float32Array;
  y: Float32Array;
  vocab: string[];
  explained: [number, number];
  highlight?: number[];
  size?: number;
}) {
  const W = p.size ?? 360;
  const H = p.size ?? 360;
  const pad = 18;
  let mx = 1e-9;
  for (let i = 0; i < p.x.length; i++) mx = Math.max(mx, Math.abs(p.x[i]), Math.abs(p.y[i]));
  const sx = (v: number) => W / 2 + (v / mx) * (W / 2 - pad);
  const sy = (v: number) => H / 2 - (v / mx) * (H / 2 - pad);
  const hl = new Set(p.highlight ?? []);
  const motion = reducedMotion() ? "" : " animate";
  return (
    <figure class="pca">
      <figcaption class="fig-title">
        Embedding table, PCA: axis 1 {(p.explained[0] * 100).toFixed(0)}% and axis 2{" "}
        {(p.explained[1] * 100).toFixed(0)}% of the variance
      </figcaption>
      <svg
        class="pca-svg"
        width={W}
        height={H}
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label="2-D projection of the embedding table; each token is a point"
      >
        <line x1={0} y1={H / 2} x2={W} y2={H / 2} class="axis" />
        <line x1={W / 2} y1={0} x2={W / 2} y2={H} class="axis" />
        {p.vocab.map((t, i) => (
          <g
            class={`pt ${tokenKind(t)}${hl.has(i) ? " hl" : ""}${motion}`}
            transform={`translate(${sx(p.x[i])},${sy(p.y[i])})`}
          >
            <title>
              {tokenText(t)} (id {i}): ({fmt(p.x[i], 2)}, {fmt(p.y[i], 2)})
            </title>
            <circle r={hl.has(i) ? 5 : 3} />
            <text x={5} y={-4}>
              {tokenText(t)}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}
