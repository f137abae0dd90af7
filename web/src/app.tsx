/** The explorer's shell: model and input on the left, the chapters on the right, the worker behind. */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ChapterView } from "./chapters/index.js";
import { CHAPTERS, chapterById } from "./chapters/guide.js";
import type { Actions, TrainingState, UiState } from "./chapters/types.js";
import { ModelClient } from "./client.js";
import { Sidebar } from "./components/sidebar.js";
import type { Analysis, FreshSpec, Interventions, ModelInfo, ModelSource } from "./protocol.js";
import { type PageState, parseState, serializeState } from "./state.js";

const NO_TRAINING: TrainingState = { running: false, points: [], samples: null, replaying: 0 };

export function App() {
  const [page, setPage] = useState<PageState>(() => parseState(location.search));
  const [info, setInfo] = useState<ModelInfo | null>(null);
  const [analysis, setAnalysis] = useState<Analysis | null>(null);
  const [status, setStatus] = useState<string>("Loading the model…");
  const [error, setError] = useState<string | null>(null);
  const [training, setTraining] = useState<TrainingState>(NO_TRAINING);
  const [ui, setUiState] = useState<UiState>({ block: "cross", layer: 0, head: 0, cell: null });
  const [checkpointUrl, setCheckpointUrl] = useState<string | null>(null);
  const pageRef = useRef(page);
  /** Set between a pause request and its reply: slices posted before the pause must not look "running". */
  const pausing = useRef(false);
  pageRef.current = page;

  const client = useMemo(
    () =>
      new ModelClient({
        onAnalysis: (a) => setAnalysis(a),
        onProgress: (points, running, samples) => {
          const step = points.length ? points[points.length - 1].step : 0;
          if (step > 0) setPage((p) => ({ ...p, trained: step }));
          setTraining((t) => ({
            ...t,
            running: running && !pausing.current,
            points: [...t.points, ...points],
            samples: samples ?? t.samples,
          }));
        },
      }),
    [],
  );

  const fail = (e: unknown) => {
    setError(e instanceof Error ? e.message : String(e));
    setStatus("");
  };

  const analyze = async (src: string, tgt: string | null) => {
    setStatus("Computing…");
    try {
      setAnalysis(await client.analyze(src, tgt));
      setStatus("");
    } catch (e) {
      fail(e);
    }
  };

  /** Loads a model, replays `trained` steps, and analyses the input. */
  const load = async (source: ModelSource, keepInput: boolean, trained: number) => {
    setStatus("Loading the model…");
    setError(null);
    setTraining(NO_TRAINING);
    try {
      const i = await client.load(source);
      const p = pageRef.current;
      await client.setInterventions(p.interventions);
      setInfo(i);
      const src = keepInput && p.src !== null ? p.src : i.examples[0].src;
      const tgt = keepInput && p.src !== null ? p.tgt : i.examples[0].tgt;
      setPage((q) => ({ ...q, src, tgt, trained: 0 }));
      if (trained > 0) {
        setTraining({ ...NO_TRAINING, replaying: trained });
        setStatus(`Replaying ${trained} training steps from the link…`);
        await client.train({ action: "step", steps: trained, settings: p.settings });
        setTraining((t) => ({ ...t, replaying: 0 }));
      }
      await analyze(src, tgt);
    } catch (e) {
      fail(e);
    }
  };

  useEffect(() => {
    (async () => {
      let served: string | null = null;
      try {
        const r = await fetch("explore.json");
        if (r.ok) served = ((await r.json()) as { checkpoint: string | null }).checkpoint;
      } catch {
        served = null;
      }
      const p = pageRef.current;
      if (served && p.checkpoint === "auto") {
        setCheckpointUrl(served);
        await load(
          { kind: "checkpoint", url: new URL("checkpoint/", location.href).href, name: served },
          true,
          p.trained,
        );
      } else await load({ kind: "fresh", spec: p.spec }, true, p.trained);
    })();
  }, []);

  useEffect(() => {
    history.replaceState(
      null,
      "",
      serializeState(page, checkpointUrl !== null && page.checkpoint === "auto"),
    );
  }, [page, checkpointUrl]);

  const act: Actions = {
    setUi: (patch) => setUiState((u) => ({ ...u, ...patch })),
    setInterventions: async (iv: Interventions) => {
      setPage((p) => ({ ...p, interventions: iv }));
      setStatus("Computing…");
      try {
        const a = await client.setInterventions(iv);
        if (a) setAnalysis(a);
        setStatus("");
      } catch (e) {
        fail(e);
      }
    },
    train: async (action, steps) => {
      if (action === "start") setTraining((t) => ({ ...t, running: true }));
      if (action === "pause") {
        pausing.current = true;
        setTraining((t) => ({ ...t, running: false }));
      }
      try {
        await client.train({ action, steps, settings: pageRef.current.settings });
      } catch (e) {
        fail(e);
      } finally {
        if (action === "pause") pausing.current = false;
      }
    },
    setSettings: (settings) => setPage((p) => ({ ...p, settings })),
    go: (chapter) => setPage((p) => ({ ...p, chapter })),
  };

  const onSpec = (spec: FreshSpec) => {
    setPage((p) => ({ ...p, spec, checkpoint: "none", src: null, tgt: null, trained: 0 }));
    setCheckpointUrl(null);
    setAnalysis(null);
    void load({ kind: "fresh", spec }, false, 0);
  };

  const onInput = (src: string, tgt: string | null) => {
    setPage((p) => ({ ...p, src, tgt }));
    void analyze(src, tgt);
  };

  const chapter = chapterById(page.chapter);
  const idx = CHAPTERS.indexOf(chapter);
  return (
    <div class="app">
      <header class="top">
        <h1>
          Attention Lab <span>explorer</span>
        </h1>
        <p class="model-line" data-testid="model-line">
          {info
            ? `${info.origin} · ${info.parameters.toLocaleString("en-US")} parameters · ${training.points.length ? training.points[training.points.length - 1].step : page.trained} training steps`
            : "…"}
        </p>
        <p class="status" role="status" data-testid="status" data-busy={status ? "1" : "0"}>
          {training.running ? "Training…" : status}
        </p>
      </header>
      {error && (
        <p class="error" role="alert" data-testid="error">
          {error}
        </p>
      )}
      <Sidebar
        page={page}
        info={info}
        analysis={analysis}
        training={training}
        checkpoint={checkpointUrl !== null && page.checkpoint === "auto" ? checkpointUrl : null}
        onSpec={onSpec}
        onInput={onInput}
        act={act}
      />
      <main class="main" id="main">
        <nav class="chapters" aria-label="Chapters">
          {CHAPTERS.map((c) => (
            <button
              type="button"
              class={c.id === chapter.id ? "on" : ""}
              aria-current={c.id === chapter.id ? "page" : undefined}
              data-chapter={c.id}
              onClick={() => act.go(c.id)}
            >
              {c.nav}
            </button>
          ))}
        </nav>
        <article
          class="chapter"
          data-testid={`chapter-${chapter.id}`}
          aria-labelledby="chapter-title"
        >
          <h2 id="chapter-title">{chapter.title}</h2>
          {chapter.intro.map((t) => (
            <p class="intro">{t}</p>
          ))}
          <p class="code-refs">
            Code:{" "}
            {chapter.code.map((c, i) => (
              <span>
                {i > 0 && " · "}
                <code>{c.file}</code> <strong>{c.fn}</strong>
              </span>
            ))}
          </p>
          {info && analysis ? (
            <ChapterView
              id={chapter.id}
              props={{ a: analysis, info, ui, training, settings: page.settings, act }}
            />
          ) : (
            <p class="placeholder">
              {error ? "The model could not be loaded." : "Computing the first analysis…"}
            </p>
          )}
          <nav class="pager" aria-label="Walkthrough">
            {idx > 0 && (
              <button type="button" onClick={() => act.go(CHAPTERS[idx - 1].id)}>
                ← {CHAPTERS[idx - 1].nav}
              </button>
            )}
            {idx < CHAPTERS.length - 1 && (
              <button type="button" class="primary" onClick={() => act.go(CHAPTERS[idx + 1].id)}>
                Next: {CHAPTERS[idx + 1].nav} →
              </button>
            )}
          </nav>
        </article>
        {analysis && (
          <div
            id="analysis-meta"
            hidden
            data-src-ids={JSON.stringify(analysis.srcIds)}
            data-tgt-in={JSON.stringify(analysis.tgtIn)}
            data-labels={JSON.stringify(analysis.labels)}
            data-step={analysis.step}
            data-config={info ? JSON.stringify(info.config) : ""}
          />
        )}
      </main>
    </div>
  );
}
