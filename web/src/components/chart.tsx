/**
 * Line charts with uPlot (small, fast, canvas-based; its legend shows the
 * values under the cursor). The chart is created once per series layout and
 * only gets new data afterwards, so live training curves update cheaply.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { exact, fmt } from "../lib.js";

export interface Series {
  label: string;
  color: string;
  /** y values aligned with x; null = no point. */
  values: (number | null)[];
  dash?: boolean;
  points?: boolean;
}

export interface LineChartProps {
  testId?: string;
  title: string;
  x: number[];
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  yRange?: [number, number];
  /** Marks the values of the last point in data attributes (for tests and screen readers). */
  describeLast?: boolean;
}

/** The content width of the box the chart sits in (a phone's screen may be narrower than the chart). */
function roomFor(el: HTMLElement): number {
  const box = el.closest<HTMLElement>(".compare-positions, .chapter, .card");
  if (!box) return Number.POSITIVE_INFINITY;
  const cs = getComputedStyle(box);
  return box.clientWidth - Number.parseFloat(cs.paddingLeft) - Number.parseFloat(cs.paddingRight);
}

export function LineChart(p: LineChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // Bumped on window resizes: the chart is redrawn at the width that fits.
  const [resized, setResized] = useState(0);
  useEffect(() => {
    let t: ReturnType<typeof setTimeout> | undefined;
    const on = () => {
      clearTimeout(t);
      t = setTimeout(() => setResized((n) => n + 1), 150);
    };
    addEventListener("resize", on);
    return () => {
      clearTimeout(t);
      removeEventListener("resize", on);
    };
  }, []);
  const key = `${p.series.map((s) => s.label).join("|")}:${p.width}:${p.height}:${p.yRange?.join(",")}:${resized}`;

  useEffect(() => {
    if (!host.current) return;
    const opts: uPlot.Options = {
      width: Math.max(200, Math.min(p.width ?? 520, Math.floor(roomFor(host.current)))),
      height: p.height ?? 220,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false }, y: p.yRange ? { range: p.yRange } : { auto: true } },
      axes: [
        { label: p.xLabel, stroke: "#52525b", grid: { stroke: "#f1f1f4" } },
        { label: p.yLabel, stroke: "#52525b", grid: { stroke: "#f1f1f4" }, size: 50 },
      ],
      series: [
        { label: p.xLabel },
        ...p.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          dash: s.dash ? [6, 4] : undefined,
          spanGaps: true,
          points: { show: s.points ?? false, size: 5 },
          value: (_u: uPlot, v: number | null) => (v === null ? "–" : fmt(v, 3)),
        })),
      ],
    };
    const u = new uPlot(
      opts,
      [p.x, ...p.series.map((s) => s.values)] as uPlot.AlignedData,
      host.current,
    );
    plot.current = u;
    return () => {
      u.destroy();
      plot.current = null;
    };
  }, [key]);

  useEffect(() => {
    plot.current?.setData([p.x, ...p.series.map((s) => s.values)] as uPlot.AlignedData);
  });

  const last = p.series.map((s) => {
    for (let i = s.values.length - 1; i >= 0; i--)
      if (s.values[i] !== null) return s.values[i] as number;
    return null;
  });
  return (
    <figure
      class="chart"
      data-testid={p.testId}
      style={{ maxWidth: `min(${p.width ?? 520}px, 100%)` }}
    >
      <figcaption class="fig-title">{p.title}</figcaption>
      <div ref={host} />
      {p.describeLast && (
        <p class="sr-only">
          {p.series.map((s, i) => (
            <span data-series={s.label} data-value={last[i] === null ? "" : exact(last[i]!)}>
              {s.label}: {last[i] === null ? "none" : fmt(last[i]!, 4)}.{" "}
            </span>
          ))}
        </p>
      )}
    </figure>
  );
}
