/**
 * An experiment's plots as Vega-Lite specifications (plain JSON: browser-safe),
 * and their rendering to SVG with the vega and vega-lite libraries, in Node
 * (`attn experiment` writes plot-*.svg) and in the explorer alike.
 */
import type { ExperimentResult, PlotSpec } from "./result.js";

type Spec = Record<string, unknown>;

const WIDTH = 150;

/** Bars of one metric per arm with ±sd error bars, one panel per condition. */
function barSpec(r: ExperimentResult, p: PlotSpec): Spec {
  const metric = r.metrics.find((m) => m.key === p.metric);
  const percent = metric?.format === "percent";
  const k = percent ? 100 : 1;
  const values = r.rows
    .filter((row) => row.cells[p.metric])
    .map((row) => {
      const c = row.cells[p.metric];
      return {
        arm: row.arm,
        condition: row.group || r.experiment,
        mean: k * c.mean,
        lo: k * (c.mean - c.sd),
        hi: k * (c.mean + c.sd),
      };
    });
  const arms = [...new Set(values.map((v) => v.arm))];
  const y = {
    type: "quantitative",
    title: `${p.yLabel ?? metric?.label ?? p.metric}${percent ? " (%)" : ""}`,
  };
  return {
    title: { text: p.title, subtitle: subtitle(r) },
    data: { values },
    facet: { column: { field: "condition", type: "nominal", title: null, sort: null } },
    spec: {
      width: WIDTH,
      height: 180,
      layer: [
        {
          mark: { type: "bar" },
          encoding: {
            x: {
              field: "arm",
              type: "nominal",
              sort: arms,
              title: null,
              axis: { labelAngle: -40 },
            },
            y: { field: "mean", ...y },
            color: { field: "arm", type: "nominal", sort: arms, legend: null },
          },
        },
        {
          mark: { type: "rule", color: "black" },
          encoding: {
            x: { field: "arm", type: "nominal", sort: arms },
            y: { field: "lo", type: "quantitative" },
            y2: { field: "hi" },
          },
        },
      ],
    },
  };
}

/** Lines of mean ± sd against x, one per arm. */
function lineSpec(r: ExperimentResult, p: PlotSpec): Spec {
  const values = (p.series ?? []).flatMap((s) =>
    s.points.map((pt) => ({
      arm: s.arm,
      x: pt.x,
      mean: pt.mean,
      lo: pt.mean - pt.sd,
      hi: pt.mean + pt.sd,
    })),
  );
  const x = { field: "x", type: "quantitative", title: p.xLabel ?? "x" };
  return {
    title: { text: p.title, subtitle: subtitle(r) },
    width: 360,
    height: 220,
    data: { values },
    layer: [
      {
        mark: { type: "area", opacity: 0.2 },
        encoding: {
          x,
          y: { field: "lo", type: "quantitative" },
          y2: { field: "hi" },
          color: { field: "arm", type: "nominal" },
        },
      },
      {
        mark: { type: "line", point: true },
        encoding: {
          x,
          y: { field: "mean", type: "quantitative", title: p.yLabel ?? p.metric },
          color: { field: "arm", type: "nominal", title: null },
        },
      },
    ],
  };
}

function subtitle(r: ExperimentResult): string {
  return `mean ± sd over seeds ${r.seeds.join(", ")}${r.quick ? " (--quick)" : ""}; backend ${r.backend}`;
}

export function vegaLiteSpec(r: ExperimentResult, p: PlotSpec): Spec {
  const spec = p.kind === "lines" ? lineSpec(r, p) : barSpec(r, p);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    background: "white",
    ...spec,
  };
}

/** Renders a plot to an SVG string (vega-lite compiles, vega renders headless). */
export async function plotToSvg(r: ExperimentResult, p: PlotSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  // biome-ignore lint/suspicious/noExplicitAny: vega-lite's TopLevelSpec is a wide union of its own types.
  const compiled = vl.compile(vegaLiteSpec(r, p) as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
