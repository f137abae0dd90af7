/**
 * A canvas heatmap with row/column labels and a colour bar. Hover, click or the
 * arrow keys move a cursor cell (reported through onCell), whose row, column and
 * value are shown under the map and read to screen readers; a "Table" button
 * shows the same numbers as an HTML table (with exact values in data-value).
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { divColor, exact, fmt, type Matrix, rampGradient, seqColor } from "../lib.js";

export interface HeatmapProps {
  testId?: string;
  title: string;
  m: Matrix;
  rowLabels?: string[];
  colLabels?: string[];
  /** "seq": low to high in one hue; "div": symmetric around 0. */
  scale?: "seq" | "div";
  range?: [number, number];
  /** Says why the range was given, e.g. "shared with E[id]·√d" (shown by the colour bar). */
  rangeNote?: string;
  /** Colour ∝ ((v - lo) / (hi - lo))^gamma on the "seq" scale; 0.5 makes small weights visible. */
  gamma?: number;
  /** Cell size in px (default: fit maxWidth, at most 26). */
  cell?: number;
  maxWidth?: number;
  /** Largest cell size when fitting maxWidth (default 26). */
  maxCell?: number;
  selected?: [number, number] | null;
  onCell?: (i: number, j: number) => void;
  highlightRow?: number;
  describe?: (i: number, j: number, v: number) => string;
  small?: boolean;
}

const FONT = "11px system-ui, sans-serif";
/** Half the height of a label line: rows thinner than a line need this much room above and below. */
const HALF_LINE = 7;

let measurer: CanvasRenderingContext2D | null = null;
/** Width of a label in FONT, as the canvas will draw it (the fonts differ between systems). */
function textWidth(s: string): number {
  measurer ??= document.createElement("canvas").getContext("2d");
  if (!measurer) return 6.6 * s.length;
  measurer.font = FONT;
  return measurer.measureText(s).width;
}

function widest(labels: string[] | undefined): number {
  return labels ? Math.max(0, ...labels.map(textWidth)) : 0;
}

function finiteRange(v: Float32Array, scale: "seq" | "div"): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const x of v) {
    if (!Number.isFinite(x)) continue;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (lo > hi) return [0, 1];
  if (scale === "div") {
    const a = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return [-a, a];
  }
  return lo === hi ? [lo, lo + 1] : [lo, hi];
}

export function Heatmap(p: HeatmapProps) {
  const { m } = p;
  const scale = p.scale ?? "seq";
  const canvas = useRef<HTMLCanvasElement>(null);
  const [cursor, setCursor] = useState<[number, number] | null>(null);
  const [table, setTable] = useState(false);
  const range = p.range ?? finiteRange(m.values, scale);
  const gamma = p.gamma ?? 1;
  const cur = p.selected ?? cursor;
  const masked = useMemo(() => hasMasked(m.values), [m.values]);

  const layout = useMemo(() => {
    const maxW = p.maxWidth ?? 560;
    const rowLabelW = p.rowLabels ? Math.ceil(Math.min(170, 8 + widest(p.rowLabels))) : 0;
    const cell =
      p.cell ??
      Math.max(2, Math.min(p.maxCell ?? 26, Math.floor((maxW - rowLabelW) / Math.max(1, m.cols))));
    // Wide, short matrices get taller cells so their rows stay readable.
    const cellH = m.rows === 1 ? Math.max(cell, 14) : cell < 10 && m.rows <= 40 ? 10 : cell;
    // Column labels wider than a cell are drawn vertically (when cells are tall enough for a line of text).
    const labelW = widest(p.colLabels);
    const rotate = labelW > cell - 2 && cell >= 11;
    const colLabelH = p.colLabels ? (rotate ? Math.ceil(Math.min(80, labelW + 6)) : 16) : 0;
    // Margins so that the first and last labels are drawn whole: a row label is a line tall
    // even when its row is thinner, and a centred column label may be wider than its cell.
    const rowPad = p.rowLabels ? Math.max(0, Math.ceil(HALF_LINE - cellH / 2)) : 0;
    const padTop = p.colLabels ? 0 : rowPad;
    const padX = p.colLabels && !rotate ? Math.max(0, Math.ceil(labelW / 2 - cell / 2)) : 0;
    const x0 = Math.max(rowLabelW, padX);
    const y0 = padTop + colLabelH;
    return {
      x0,
      y0,
      cell,
      cellH,
      rotate,
      w: x0 + cell * m.cols + padX,
      h: y0 + cellH * m.rows + rowPad,
    };
  }, [m.rows, m.cols, p.cell, p.maxWidth, p.maxCell, p.rowLabels, p.colLabels]);

  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.ceil(layout.w * dpr);
    c.height = Math.ceil(layout.h * dpr);
    c.style.width = `${layout.w}px`;
    c.style.height = `${layout.h}px`;
    const g = c.getContext("2d")!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, layout.w, layout.h);
    const { x0, y0, cell, cellH } = layout;
    const [lo, hi] = range;
    for (let i = 0; i < m.rows; i++) {
      for (let j = 0; j < m.cols; j++) {
        const v = m.values[i * m.cols + j];
        const x = x0 + j * cell;
        const y = y0 + i * cellH;
        if (v === Number.NEGATIVE_INFINITY) {
          g.fillStyle = "#e4e4e7";
          g.fillRect(x, y, cell, cellH);
          g.strokeStyle = "#a1a1aa";
          g.beginPath();
          g.moveTo(x, y + cellH);
          g.lineTo(x + cell, y);
          g.stroke();
          continue;
        }
        g.fillStyle =
          scale === "div"
            ? divColor(v / hi)
            : seqColor(Math.max(0, (v - lo) / (hi - lo || 1)) ** gamma);
        g.fillRect(x, y, cell, cellH);
      }
    }
    g.font = FONT;
    g.fillStyle = "#3f3f46";
    g.textBaseline = "middle";
    if (p.rowLabels) {
      g.textAlign = "right";
      const every = Math.ceil(11 / cellH);
      p.rowLabels.forEach((l, i) => {
        if (i % every === 0) g.fillText(l, x0 - 4, y0 + i * cellH + cellH / 2);
      });
    }
    if (p.colLabels && layout.rotate) {
      g.textAlign = "left";
      p.colLabels.forEach((l, j) => {
        g.save();
        g.translate(x0 + j * cell + cell / 2, y0 - 3);
        g.rotate(-Math.PI / 2);
        g.fillText(l, 0, 0);
        g.restore();
      });
    } else if (p.colLabels) {
      g.textAlign = "center";
      const every = Math.ceil(Math.max(...p.colLabels.map((l) => l.length * 7 + 2)) / cell);
      p.colLabels.forEach((l, j) => {
        if (j % every === 0) g.fillText(l, x0 + j * cell + cell / 2, y0 - 8);
      });
    }
    if (p.highlightRow !== undefined) {
      g.strokeStyle = "#f59e0b";
      g.lineWidth = 2;
      g.strokeRect(x0 + 1, y0 + p.highlightRow * cellH + 1, m.cols * cell - 2, cellH - 2);
    }
    if (cur) {
      g.strokeStyle = "#111827";
      g.lineWidth = 2;
      g.strokeRect(x0 + cur[1] * cell + 1, y0 + cur[0] * cellH + 1, cell - 2, cellH - 2);
    }
  }, [
    m,
    layout,
    range[0],
    range[1],
    cur?.[0],
    cur?.[1],
    p.highlightRow,
    scale,
    gamma,
    p.rowLabels,
    p.colLabels,
  ]);

  const move = (i: number, j: number) => {
    const ii = Math.max(0, Math.min(m.rows - 1, i));
    const jj = Math.max(0, Math.min(m.cols - 1, j));
    setCursor([ii, jj]);
    p.onCell?.(ii, jj);
  };
  const fromMouse = (ev: MouseEvent) => {
    const r = (ev.currentTarget as HTMLCanvasElement).getBoundingClientRect();
    const j = Math.floor((ev.clientX - r.left - layout.x0) / layout.cell);
    const i = Math.floor((ev.clientY - r.top - layout.y0) / layout.cellH);
    if (i >= 0 && j >= 0 && i < m.rows && j < m.cols) move(i, j);
  };
  const onKey = (ev: KeyboardEvent) => {
    const [i, j] = cur ?? [0, 0];
    const moves: Record<string, [number, number]> = {
      ArrowUp: [i - 1, j],
      ArrowDown: [i + 1, j],
      ArrowLeft: [i, j - 1],
      ArrowRight: [i, j + 1],
      Home: [i, 0],
      End: [i, m.cols - 1],
    };
    const to = moves[ev.key];
    if (!to) return;
    ev.preventDefault();
    move(to[0], to[1]);
  };
  const v = cur ? m.values[cur[0] * m.cols + cur[1]] : 0;
  const said = cur
    ? (p.describe?.(cur[0], cur[1], v) ??
      `${p.rowLabels?.[cur[0]] ?? `row ${cur[0]}`}, ${p.colLabels?.[cur[1]] ?? `column ${cur[1]}`}: ${fmt(v, 4)}`)
    : "";

  return (
    <figure
      class={`heatmap${p.small ? " small" : ""}`}
      data-testid={p.testId}
      style={{ maxWidth: `min(${Math.max(layout.w, p.small ? 160 : 420)}px, 100%)` }}
    >
      <figcaption class="hm-caption">
        <span class="hm-title">{p.title}</span>
        <ColorBar scale={scale} range={range} gamma={gamma} note={p.rangeNote} masked={masked} />
        <button type="button" class="link" aria-pressed={table} onClick={() => setTable(!table)}>
          {table ? "Hide table" : "Table"}
        </button>
      </figcaption>
      {/* A heatmap wider than the screen scrolls inside this box, not the page. */}
      <div class="hm-scroll">
        <canvas
          class="hm-canvas"
          ref={canvas}
          tabIndex={0}
          role="img"
          data-grid={`${layout.x0},${layout.y0},${layout.cell},${layout.cellH}`}
          aria-label={`${p.title}: heatmap of ${m.rows} by ${m.cols} values. Arrow keys move between cells; the Table button shows all values.`}
          onMouseMove={fromMouse}
          onClick={fromMouse}
          onKeyDown={onKey}
        />
      </div>
      <div class="sr-only" aria-live="polite">
        {said}
      </div>
      <div class="hm-cursor" data-testid="hm-readout">
        {cur ? said : p.small ? "" : "Hover or tap a cell for its value."}
      </div>
      {table && <DataTable {...p} />}
    </figure>
  );
}

function hasMasked(v: Float32Array): boolean {
  for (const x of v) if (x === Number.NEGATIVE_INFINITY) return true;
  return false;
}

/** The colour scale: low end, the ramp, high end (and 0 in the middle of a diverging scale). */
function ColorBar(p: {
  scale: "seq" | "div";
  range: [number, number];
  gamma: number;
  note?: string;
  masked: boolean;
}) {
  const [lo, hi] = p.scale === "div" ? [-p.range[1], p.range[1]] : p.range;
  return (
    <span class="hm-bar" data-testid="colorbar" data-lo={exact(lo)} data-hi={exact(hi)}>
      <span class="hm-bar-end">{fmt(lo, 2)}</span>
      <span class="hm-bar-ramp" style={{ background: rampGradient(p.scale, p.gamma) }}>
        {p.scale === "div" && <span class="hm-bar-zero" title="0" />}
      </span>
      <span class="hm-bar-end">{fmt(hi, 2)}</span>
      {p.gamma !== 1 && <span class="hm-bar-note">colour ∝ √value</span>}
      {p.masked && (
        <span class="hm-bar-note">
          <span class="hm-masked-swatch" aria-hidden="true" /> −∞ (masked)
        </span>
      )}
      {p.note && <span class="hm-bar-note">{p.note}</span>}
    </span>
  );
}

function DataTable(p: HeatmapProps) {
  const { m } = p;
  return (
    <div class="table-wrap">
      <table class="data">
        <caption>{p.title}</caption>
        <thead>
          <tr>
            <th scope="col" />
            {Array.from({ length: m.cols }, (_, j) => (
              <th scope="col">{p.colLabels?.[j] ?? j}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {Array.from({ length: m.rows }, (_, i) => (
            <tr>
              <th scope="row">{p.rowLabels?.[i] ?? i}</th>
              {Array.from({ length: m.cols }, (_, j) => {
                const v = m.values[i * m.cols + j];
                return (
                  <td data-row={i} data-col={j} data-value={exact(v)}>
                    {fmt(v, 3)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
