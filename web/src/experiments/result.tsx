/**
 * One experiment's result as the CLI reports it: what was run, the table of
 * mean ± sd per arm and condition (formatCell, as `attn experiment` prints
 * it), the conclusions drawn from the numbers, and the plots (plotToSvg: the
 * same Vega-Lite specs and SVG as the CLI's plot-*.svg; vega loads on first use).
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  type ExperimentResult,
  formatCell,
  type PlotSpec,
  plotToSvg,
} from "../../../src/browser.js";

export interface Shown {
  result: ExperimentResult;
  /** Where it came from (a file, the committed full run, a run in this page). */
  source: string;
  /** A run in this page: offer its results.json. */
  download?: boolean;
}

function duration(ms: number): string {
  const s = ms / 1000;
  return s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`;
}

export function ResultView({ shown }: { shown: Shown }) {
  const r = shown.result;
  const href = useMemo(
    () =>
      shown.download
        ? URL.createObjectURL(
            new Blob([`${JSON.stringify(r, null, 1)}\n`], { type: "application/json" }),
          )
        : null,
    [shown],
  );
  useEffect(() => () => href && URL.revokeObjectURL(href), [href]);
  const budget = Object.entries(r.budget)
    .map(([k, v]) => `${k} ${v}`)
    .join(" · ");
  return (
    <section
      class="exp-result"
      data-testid="exp-result"
      data-experiment={r.experiment}
      aria-labelledby="exp-result-title"
    >
      <h3 id="exp-result-title">{r.title}</h3>
      <p class="exp-source" data-testid="exp-source">
        {shown.source}
      </p>
      <p class="exp-question">{r.question}</p>
      <dl class="exp-meta">
        <dt>Run</dt>
        <dd>
          {r.quick ? "--quick" : "full"} · {r.date.slice(0, 16).replace("T", " ")} UTC · took{" "}
          {duration(r.wallMs)}
        </dd>
        <dt>Budget</dt>
        <dd>{budget}</dd>
        <dt>Seeds</dt>
        <dd>{r.seeds.join(", ")}</dd>
        <dt>Backend</dt>
        <dd>{r.backend}</dd>
        <dt>Commit</dt>
        <dd>
          <code>{r.commit ?? "not recorded"}</code>
        </dd>
      </dl>
      <ResultTable r={r} />
      <h4>Conclusions</h4>
      <ul class="exp-conclusions" data-testid="exp-conclusions">
        {r.conclusions.map((c) => (
          <li>{c}</li>
        ))}
      </ul>
      <div class="exp-plots">
        {r.plots.map((p) => (
          <Plot r={r} p={p} />
        ))}
      </div>
      {href && (
        <p>
          <a class="exp-download" href={href} download="results.json" data-testid="exp-download">
            Download results.json
          </a>
        </p>
      )}
    </section>
  );
}

/** Mean ± sd over seeds, one row per (condition, arm), one column per metric. */
function ResultTable({ r }: { r: ExperimentResult }) {
  const grouped = r.rows.some((row) => row.group !== "");
  return (
    <div class="table-wrap">
      <table class="data exp-table" data-testid="exp-table">
        <caption>Mean ± sd over seeds {r.seeds.join(", ")}</caption>
        <thead>
          <tr>
            {grouped && <th scope="col">condition</th>}
            <th scope="col">arm</th>
            {r.metrics.map((m) => (
              <th scope="col" title={m.better ? `${m.better} is better` : undefined}>
                {m.label}
                {m.better === "higher" ? " ↑" : m.better === "lower" ? " ↓" : ""}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {r.rows.map((row) => (
            <tr data-arm={row.arm} data-group={row.group}>
              {grouped && <td class="left">{row.group}</td>}
              <th scope="row" class="left">
                {row.arm}
              </th>
              {r.metrics.map((m) => {
                const c = row.cells[m.key];
                return (
                  <td data-metric={m.key} data-value={c ? String(c.mean) : ""}>
                    {c ? formatCell(c, m.format) : "—"}
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

function Plot({ r, p }: { r: ExperimentResult; p: PlotSpec }) {
  const box = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<"drawing" | "done" | "error">("drawing");
  const [error, setError] = useState("");
  useEffect(() => {
    let live = true;
    setState("drawing");
    plotToSvg(r, p).then(
      (svg) => {
        if (!live || !box.current) return;
        // vega's SVG writer escapes every text and attribute it takes from the data.
        box.current.innerHTML = svg;
        setState("done");
      },
      (e) => {
        if (!live) return;
        setError(e instanceof Error ? e.message : String(e));
        setState("error");
      },
    );
    return () => {
      live = false;
    };
  }, [r, p]);
  return (
    <figure class="exp-plot" data-testid="exp-plot" data-state={state}>
      <div ref={box} class="exp-svg" role="img" aria-label={p.title} />
      {state === "drawing" && <figcaption class="muted">Drawing “{p.title}”…</figcaption>}
      {state === "error" && (
        <figcaption class="error-inline">
          “{p.title}” could not be drawn: {error}
        </figcaption>
      )}
    </figure>
  );
}
