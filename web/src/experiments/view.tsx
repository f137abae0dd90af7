/**
 * The Experiments view: every experiment of the registry, a results.json to
 * open (file or drop), the committed full run when `attn explore` serves one,
 * and the --quick version run live in a worker on the WebAssembly backend.
 * Loaded on first visit (page.tsx), so the rest of the explorer does not wait
 * for it.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { DEFAULT_SEEDS } from "../../../src/browser.js";
import type { ExperimentInfo } from "../protocol.js";
import { parseResult } from "./parse.js";
import { ResultView, type Shown } from "./result.js";
import { type Listing, ExperimentRunner } from "./runner.js";
import "../styles/experiments.css";

export interface ExperimentsProps {
  /** The experiment the URL names (exp=), or null. */
  exp: string | null;
  setExp(name: string | null): void;
}

interface RunState {
  name: string;
  lines: string[];
  started: number;
  /** Trials done and in all, from the progress lines' "(k/n)". */
  done: number;
  total: number;
}

/**
 * A --quick run takes about a minute natively on an idle 2-core machine (its
 * budget in CI). The page's WebAssembly engine is slower: positional --quick
 * took 388 s in Chromium against 142 s natively, one after the other on the
 * same busy 2-core machine. The live estimate then follows the trainings done.
 */
const QUICK_NATIVE_MIN = 1;
const WASM_SLOWDOWN = 2.7;

function estimate(name: string): string {
  if (name === "smoke") return "a few seconds";
  const min = Math.round(QUICK_NATIVE_MIN * WASM_SLOWDOWN);
  return `about ${min} minutes here (attn experiment ${name} --quick: about a minute natively)`;
}

/** The experiments whose committed full run attn explore serves (explore.json; a plain static server: none). */
async function fullRuns(): Promise<string[]> {
  try {
    const r = await fetch("explore.json");
    if (!r.ok) return [];
    const j = (await r.json()) as { experiments?: unknown };
    return Array.isArray(j.experiments)
      ? j.experiments.filter((n): n is string => typeof n === "string")
      : [];
  } catch {
    return [];
  }
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function ExperimentsView({ exp, setExp }: ExperimentsProps) {
  const runner = useMemo(() => new ExperimentRunner(), []);
  const listed = useMemo(() => runner.list(), []);
  const [listing, setListing] = useState<Listing | null>(null);
  const [full, setFull] = useState<string[]>([]);
  const [shown, setShown] = useState<Shown | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [run, setRun] = useState<RunState | null>(null);
  const [now, setNow] = useState(0);
  const [over, setOver] = useState(false);
  const panel = useRef<HTMLDivElement>(null);

  useEffect(() => {
    void listed.then(setListing);
    void fullRuns().then(setFull);
    return () => runner.dispose();
  }, []);
  useEffect(() => {
    if (!run) return;
    const t = setInterval(() => setNow(performance.now()), 1000);
    return () => clearInterval(t);
  }, [run?.name]);
  useEffect(() => panel.current?.scrollIntoView({ block: "nearest" }), [shown, run?.name]);
  // Opened from a chapter's link: bring its card into view.
  useEffect(() => {
    if (listing && exp)
      document
        .querySelector(`[data-testid="exp-card-${CSS.escape(exp)}"]`)
        ?.scrollIntoView({ block: "nearest" });
  }, [listing, exp]);

  const all = listing ? [...listing.experiments, ...listing.hidden] : [];
  const selected = exp ? all.find((e) => e.name === exp) : undefined;
  const unknown = listing && exp && !selected;
  const cards =
    selected && !listing?.experiments.includes(selected)
      ? [selected, ...(listing?.experiments ?? [])]
      : (listing?.experiments ?? []);

  const show = async (s: Shown) => {
    setShown(s);
    setError(null);
    const l = await listed;
    if ([...l.experiments, ...l.hidden].some((e) => e.name === s.result.experiment))
      setExp(s.result.experiment);
  };

  const openFile = async (f: File) => {
    try {
      await show({ result: parseResult(await f.text(), f.name), source: `Opened ${f.name}.` });
    } catch (e) {
      setError(message(e));
    }
  };

  const showFull = async (name: string) => {
    const url = `experiments/${name}/results.json`;
    try {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`${url}: ${r.status} ${r.statusText}`);
      await show({
        result: parseResult(await r.text(), url),
        source: `The full run committed in docs/concepts/results/${name}/results.json.`,
      });
    } catch (e) {
      setError(message(e));
    }
  };

  const start = async (e: ExperimentInfo) => {
    setExp(e.name);
    setError(null);
    const started = performance.now();
    setNow(started);
    setRun({ name: e.name, lines: [], started, done: 0, total: 0 });
    try {
      const { result, engine } = await runner.run(e.name, DEFAULT_SEEDS, (line) =>
        setRun((r) => {
          if (!r) return r;
          const m = /\((\d+)\/(\d+)\)\s*$/.exec(line);
          const lines = [...r.lines.slice(-199), line];
          return m ? { ...r, lines, done: Number(m[1]), total: Number(m[2]) } : { ...r, lines };
        }),
      );
      const s = ((performance.now() - started) / 1000).toFixed(0);
      await show({
        result,
        source: `Run here, --quick, on ${engine}, in ${s} s (seeds ${DEFAULT_SEEDS.join(", ")}).`,
        download: true,
      });
    } catch (err) {
      setError(
        message(err) === "cancelled" ? "The run was cancelled." : `The run failed: ${message(err)}`,
      );
    } finally {
      setRun(null);
    }
  };

  const elapsed = run ? Math.max(0, now - run.started) / 1000 : 0;
  const left = run && run.done > 0 ? (elapsed / run.done) * (run.total - run.done) : null;
  return (
    <div class="exp-view" data-testid="exp-view">
      <p class="intro">
        Each experiment trains small models that differ in exactly one thing, over several seeds,
        and reports mean ± sd; a conclusion is drawn only where the arms' spreads do not overlap.
        Open a <code>results.json</code> written by <code>attn experiment NAME</code>, show the
        committed full run, or run the short (--quick) version here.
      </p>
      <label
        class={`exp-drop${over ? " over" : ""}`}
        data-testid="exp-drop"
        onDragOver={(ev) => {
          ev.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(ev) => {
          ev.preventDefault();
          setOver(false);
          const f = ev.dataTransfer?.files[0];
          if (f) void openFile(f);
        }}
      >
        Open a results.json (or drop it here):{" "}
        <input
          type="file"
          accept=".json,application/json"
          data-testid="exp-file"
          onChange={(ev) => {
            const input = ev.currentTarget;
            const f = input.files?.[0];
            input.value = "";
            if (f) void openFile(f);
          }}
        />
      </label>
      <div ref={panel} class="exp-panel">
        {unknown && (
          <p class="error" role="alert" data-testid="exp-unknown">
            No experiment “{exp}” (the URL's exp=). The experiments are:{" "}
            {listing.experiments.map((e) => e.name).join(", ")}.
          </p>
        )}
        {error && (
          <p class="error" role="alert" data-testid="exp-error">
            {error}
          </p>
        )}
        {run && (
          <section class="exp-running" data-testid="exp-running" aria-live="polite">
            <p>
              <strong>Running {run.name} --quick</strong> in this page (WebAssembly, seeds{" "}
              {DEFAULT_SEEDS.join(", ")}): {elapsed.toFixed(0)} s
              {run.total > 0 && `, ${run.done} of ${run.total} trainings done`}
              {left !== null &&
                (left < 60 ? ", under a minute left" : `, about ${Math.round(left / 60)} min left`)}
              .{" "}
              <button type="button" data-testid="exp-cancel" onClick={() => runner.cancel()}>
                Cancel
              </button>
            </p>
            <pre class="exp-log" data-testid="exp-log">
              {run.lines.slice(-8).join("\n") || "Starting…"}
            </pre>
          </section>
        )}
        {shown && <ResultView shown={shown} />}
      </div>
      {!listing && <p class="placeholder">Loading the experiments…</p>}
      <ol class="exp-list" aria-label="The experiments">
        {cards.map((e) => (
          <li
            class={e.name === exp ? "exp-card on" : "exp-card"}
            data-testid={`exp-card-${e.name}`}
          >
            <h3>
              {e.title} <span class="exp-name">{e.name}</span>{" "}
              <span class="exp-paper">{e.paper}</span>
            </h3>
            <p>{e.question}</p>
            <p class="exp-arms">
              <strong>Arms:</strong> {e.arms}
            </p>
            <p class="exp-actions">
              <button
                type="button"
                class="primary"
                disabled={run !== null}
                data-testid={`exp-run-${e.name}`}
                onClick={() => void start(e)}
              >
                Run --quick here
              </button>{" "}
              {full.includes(e.name) && (
                <button
                  type="button"
                  data-testid={`exp-full-${e.name}`}
                  onClick={() => void showFull(e.name)}
                >
                  Show the full run
                </button>
              )}{" "}
              <span class="muted">{estimate(e.name)}</span>
            </p>
            <p class="muted">
              Explained in <code>{e.chapter}</code>.
            </p>
          </li>
        ))}
      </ol>
    </div>
  );
}
