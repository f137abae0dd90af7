/** Small shared views: token chips, probability bars, the PCA scatter of the embedding table. */
import { useRef, useState } from "preact/hooks";
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

const KINDS: [string, string][] = [
  ["digit", "digits"],
  ["lower", "lowercase letters"],
  ["upper", "capital letters"],
  ["other", "punctuation and space"],
  ["special", "specials (<pad>, <bos>, <eos>)"],
];

function tokenKind(t: string): string {
  if (t.startsWith("<") && t.length > 1) return "special";
  if (/^[0-9]$/.test(t)) return "digit";
  if (/^[a-z]$/.test(t)) return "lower";
  if (/^[A-Z]$/.test(t)) return "upper";
  return "other";
}

/** Frames of the projection kept for trails (the current one included). */
const TRAIL = 4;

/**
 * The embedding table projected on its first two principal axes. The axes keep their
 * extent while a model trains (they grow when a point leaves, and shrink only when the
 * cloud has become much smaller), each token trails its last few positions, a key names
 * the colours, and hovering a point shows its token and coordinates.
 */
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
  const [hover, setHover] = useState<number | null>(null);
  const view = useRef<{
    vocab: string;
    extent: number;
    frames: { x: Float32Array; y: Float32Array }[];
  }>({
    vocab: "",
    extent: 0,
    frames: [],
  });
  let mx = 1e-9;
  for (let i = 0; i < p.x.length; i++) mx = Math.max(mx, Math.abs(p.x[i]), Math.abs(p.y[i]));
  const v = view.current;
  const vocabKey = p.vocab.join("\u0000");
  if (v.vocab !== vocabKey) {
    v.vocab = vocabKey;
    v.extent = mx;
    v.frames = [];
  } else if (mx > v.extent || mx < 0.4 * v.extent) v.extent = mx * 1.1;
  const lastFrame = v.frames[v.frames.length - 1];
  if (lastFrame?.x !== p.x) v.frames = [...v.frames, { x: p.x, y: p.y }].slice(-TRAIL);
  const ext = v.extent;
  const sx = (u: number) => W / 2 + (u / ext) * (W / 2 - pad);
  const sy = (u: number) => H / 2 - (u / ext) * (H / 2 - pad);
  const hl = new Set(p.highlight ?? []);
  const motion = reducedMotion() ? "" : " animate";
  const present = new Set(p.vocab.map(tokenKind));
  const kindName = new Map(KINDS);
  const h = hover !== null && hover < p.vocab.length ? hover : null;
  return (
    <figure class="pca" data-testid="pca">
      <figcaption class="fig-title">
        Embedding table, PCA: axis 1 {(p.explained[0] * 100).toFixed(0)}% and axis 2{" "}
        {(p.explained[1] * 100).toFixed(0)}% of the variance
      </figcaption>
      <ul class="pca-key" data-testid="pca-key" aria-label="colour key">
        {KINDS.filter(([k]) => present.has(k)).map(([k, name]) => (
          <li class={`pt ${k}`}>
            <svg width="10" height="10" aria-hidden="true">
              <circle cx="5" cy="5" r="4" />
            </svg>
            {name}
          </li>
        ))}
      </ul>
      <svg
        class="pca-svg"
        width={W}
        height={H}
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label="2-D projection of the embedding table; each token is a point"
        onMouseMove={(ev) => {
          // The nearest point within 12 px of the pointer.
          const r = ev.currentTarget.getBoundingClientRect();
          const mx = ((ev.clientX - r.left) * W) / r.width;
          const my = ((ev.clientY - r.top) * H) / r.height;
          let best: number | null = null;
          let bestD = 144;
          for (let i = 0; i < p.x.length; i++) {
            const dd = (sx(p.x[i]) - mx) ** 2 + (sy(p.y[i]) - my) ** 2;
            if (dd < bestD) [best, bestD] = [i, dd];
          }
          setHover(best);
        }}
        onMouseLeave={() => setHover(null)}
      >
        <line x1={0} y1={H / 2} x2={W} y2={H / 2} class="axis" />
        <line x1={W / 2} y1={0} x2={W / 2} y2={H} class="axis" />
        {v.frames.length > 1 &&
          p.vocab.map((t, i) => (
            <polyline
              class={`trail ${tokenKind(t)}`}
              points={v.frames
                .map((f) => `${sx(f.x[i]).toFixed(1)},${sy(f.y[i]).toFixed(1)}`)
                .join(" ")}
            />
          ))}
        {p.vocab.map((t, i) => (
          <g
            class={`pt ${tokenKind(t)}${hl.has(i) ? " hl" : ""}${i === h ? " hover" : ""}${motion}`}
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
      <div class="hm-cursor" data-testid="pca-readout">
        {h === null
          ? "Hover a point for its token and coordinates."
          : `“${tokenText(p.vocab[h])}” (id ${h}, ${kindName.get(tokenKind(p.vocab[h]))}): axis 1 ${fmt(p.x[h], 3)}, axis 2 ${fmt(p.y[h], 3)}`}
      </div>
    </figure>
  );
}
