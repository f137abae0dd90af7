/**
 * What an experiment measures and how it reports it: every number is a mean
 * ± standard deviation over seeds, and a conclusion is drawn only where two
 * arms' spreads do not overlap. Pure and browser-safe.
 */
import { AttnError } from "../errors.js";

/** A column of the table. */
export interface MetricSpec {
  key: string;
  label: string;
  /** Which direction is better (none: a descriptive number). */
  better?: "higher" | "lower";
  /** How to print it: a fraction as a percentage, a whole count, or a plain number. */
  format?: "percent" | "count" | "number";
}

/** The columns most experiments share. */
export const EXACT_MATCH: MetricSpec = {
  key: "exact",
  label: "exact match",
  better: "higher",
  format: "percent",
};
export const TOKEN_ACCURACY: MetricSpec = {
  key: "tokenAcc",
  label: "token acc",
  better: "higher",
  format: "percent",
};
export const HELD_OUT_LOSS: MetricSpec = { key: "loss", label: "held-out loss", better: "lower" };
export const PERPLEXITY: MetricSpec = { key: "ppl", label: "perplexity", better: "lower" };

/** One metric of one arm: the per-seed values and their summary. */
export interface Cell {
  mean: number;
  /** Sample standard deviation over seeds (0 with one seed). */
  sd: number;
  values: number[];
}

/** One row of the table: an arm (what was changed) under a condition (task, length, d_k...). */
export interface Row {
  arm: string;
  /** The condition the arm ran under ("" when the experiment has one). */
  group: string;
  cells: Record<string, Cell>;
}

/** A line series for the plot (e.g. accuracy against length), one per arm. */
export interface Series {
  arm: string;
  /** x values and the mean ± sd at each. */
  points: { x: number; mean: number; sd: number }[];
}

export interface PlotSpec {
  /** "bars": the metric per arm, one panel per group. "lines": the series against x. */
  kind: "bars" | "lines";
  metric: string;
  title: string;
  xLabel?: string;
  yLabel?: string;
  series?: Series[];
}

export interface ExperimentResult {
  format: "attention-lab-experiment";
  version: 1;
  experiment: string;
  title: string;
  question: string;
  quick: boolean;
  seeds: number[];
  /** The training budget of each arm (steps, batch size, model size...). */
  budget: Record<string, number | string>;
  backend: string;
  /** The git commit the code was at (null when unknown, e.g. in the browser). */
  commit: string | null;
  date: string;
  wallMs: number;
  metrics: MetricSpec[];
  rows: Row[];
  /** Sentences drawn from the numbers (see compareArms). */
  conclusions: string[];
  plots: PlotSpec[];
  /** Anything else an experiment records (curves, nearest neighbours...). */
  extra?: Record<string, unknown>;
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1); 0 for a single value. */
export function sd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export function cell(values: readonly number[]): Cell {
  return { mean: mean(values), sd: sd(values), values: [...values] };
}

/** Builds rows from per-seed measurements: (arm, group) -> metric -> values. */
export class RowBuilder {
  private readonly data = new Map<
    string,
    { arm: string; group: string; m: Map<string, number[]> }
  >();

  add(arm: string, group: string, metrics: Record<string, number>): void {
    const key = `${group}\u0000${arm}`;
    let r = this.data.get(key);
    if (!r) {
      r = { arm, group, m: new Map() };
      this.data.set(key, r);
    }
    for (const [k, v] of Object.entries(metrics)) {
      const list = r.m.get(k) ?? [];
      list.push(v);
      r.m.set(k, list);
    }
  }

  rows(): Row[] {
    return [...this.data.values()].map((r) => ({
      arm: r.arm,
      group: r.group,
      cells: Object.fromEntries([...r.m].map(([k, v]) => [k, cell(v)])),
    }));
  }
}

export function findCell(rows: readonly Row[], arm: string, group: string, metric: string): Cell {
  const c = rows.find((r) => r.arm === arm && r.group === group)?.cells[metric];
  if (!c) throw new AttnError(`experiment: no ${metric} for arm "${arm}" in group "${group}"`);
  return c;
}

/** Two cells overlap when their means are within the sum of their spreads (mean ± sd intervals touch). */
export function overlaps(a: Cell, b: Cell): boolean {
  return Math.abs(a.mean - b.mean) <= a.sd + b.sd;
}

export function formatValue(v: number, format: MetricSpec["format"] = "number"): string {
  if (!Number.isFinite(v)) return String(v);
  if (format === "percent") return `${(100 * v).toFixed(1)}%`;
  if (format === "count") return Math.round(v).toLocaleString("en-US");
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return v.toFixed(a < 1 ? 3 : a < 100 ? 2 : 1);
}

export function formatCell(c: Cell, format: MetricSpec["format"]): string {
  if (c.values.length < 2 || (format === "count" && c.sd === 0)) return formatValue(c.mean, format);
  const spread = format === "percent" ? `${(100 * c.sd).toFixed(1)}` : formatValue(c.sd, "number");
  return `${formatValue(c.mean, format)} ± ${spread}`;
}

/**
 * One sentence comparing arm a with arm b on a metric, from the numbers: which
 * is better and by how much, or that they overlap within the spread (and so
 * no effect is claimed).
 */
export function compareArms(
  rows: readonly Row[],
  metric: MetricSpec,
  a: string,
  b: string,
  group = "",
): { sentence: string; overlap: boolean; aBetter: boolean | null } {
  const ca = findCell(rows, a, group, metric.key);
  const cb = findCell(rows, b, group, metric.key);
  const where = group ? ` on ${group}` : "";
  const va = formatCell(ca, metric.format);
  const vb = formatCell(cb, metric.format);
  if (overlaps(ca, cb)) {
    return {
      sentence: `${a} and ${b} overlap within the spread on ${metric.label}${where} (${va} vs ${vb}): no effect claimed.`,
      overlap: true,
      aBetter: null,
    };
  }
  const higher = ca.mean > cb.mean;
  const aBetter = metric.better ? (metric.better === "higher") === higher : null;
  const verb =
    aBetter === null
      ? higher
        ? "is higher than"
        : "is lower than"
      : aBetter
        ? "beats"
        : "is worse than";
  const subject = aBetter === null ? `${metric.label} of ${a}` : a;
  const object = aBetter === null ? b : `${b} on ${metric.label}`;
  return {
    sentence: `${subject} ${verb} ${object}${where}: ${va} vs ${vb}.`,
    overlap: false,
    aBetter,
  };
}

/**
 * The best arm of a group on a metric, and the arms that overlap with it (tied
 * within the spread). One sentence.
 */
export function rankArms(rows: readonly Row[], metric: MetricSpec, group = ""): string {
  const inGroup = rows.filter((r) => r.group === group && r.cells[metric.key]);
  if (inGroup.length === 0) throw new AttnError(`experiment: no rows for group "${group}"`);
  const sign = metric.better === "lower" ? -1 : 1;
  const sorted = [...inGroup].sort(
    (x, y) => sign * (y.cells[metric.key].mean - x.cells[metric.key].mean),
  );
  const best = sorted[0];
  const tied = sorted.slice(1).filter((r) => overlaps(r.cells[metric.key], best.cells[metric.key]));
  const rest = sorted.slice(1).filter((r) => !tied.includes(r));
  const where = group ? `On ${group}` : "Overall";
  const v = (r: Row) => `${r.arm} ${formatCell(r.cells[metric.key], metric.format)}`;
  let s = `${where}, ${metric.label}: best ${v(best)}`;
  if (tied.length) s += `; tied within the spread: ${tied.map(v).join(", ")}`;
  if (rest.length) s += `; clearly behind: ${rest.map(v).join(", ")}`;
  return `${s}.`;
}

/** The table as fixed-width text: one line per (group, arm), one column per metric. */
export function formatTable(result: Pick<ExperimentResult, "metrics" | "rows">): string {
  const hasGroup = result.rows.some((r) => r.group !== "");
  const header = [...(hasGroup ? ["condition"] : []), "arm", ...result.metrics.map((m) => m.label)];
  const lines = result.rows.map((r) => [
    ...(hasGroup ? [r.group] : []),
    r.arm,
    ...result.metrics.map((m) => (r.cells[m.key] ? formatCell(r.cells[m.key], m.format) : "—")),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmtLine = (l: string[]) =>
    l
      .map((s, i) => s.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [fmtLine(header), widths.map((w) => "─".repeat(w)).join("  "), ...lines.map(fmtLine)].join(
    "\n",
  );
}

/** The table as Markdown (for docs/concepts). */
export function formatMarkdownTable(result: Pick<ExperimentResult, "metrics" | "rows">): string {
  const hasGroup = result.rows.some((r) => r.group !== "");
  const header = [...(hasGroup ? ["condition"] : []), "arm", ...result.metrics.map((m) => m.label)];
  const lines = result.rows.map((r) => [
    ...(hasGroup ? [r.group] : []),
    r.arm,
    ...result.metrics.map((m) => (r.cells[m.key] ? formatCell(r.cells[m.key], m.format) : "—")),
  ]);
  const row = (l: string[]) => `| ${l.join(" | ")} |`;
  return [row(header), row(header.map(() => "---")), ...lines.map(row)].join("\n");
}
