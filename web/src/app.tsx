/** The explorer's shell: model and input on the left, the chapters on the right, the worker behind. */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ChapterView } from "./chapters/index.js";
import { CHAPTERS, chapterById, chapterText, isChapterId } from "./chapters/guide.js";
import { StageMap } from "./components/stagemap.js";
import {
  type Actions,
  blockFor,
  GREEDY,
  type TrainingState,
  type UiState,
} from "./chapters/types.js";
import { ModelClient } from "./client.js";
import { Sidebar } from "./components/sidebar.js";
import { ExperimentLinks, ExperimentsPage, ViewsNav } from "./experiments/page.js";
import type {
  Analysis,
  FreshSpec,
  Interventions,
  Manifest,
  ManifestEntry,
  ModelInfo,
  ModelSource,
} from "./protocol.js";
import { type PageState, parseState, serializeState } from "./state.js";

/** What the page opens when nothing else is asked for (and the manifest names no default). */
const DEFAULT_SHIPPED = "dates";

/** The URL of a shipped checkpoint's directory. */
function shippedUrl(e: ManifestEntry): string {
  const dir = e.path.endsWith("/") ? e.path : `${e.path}/`;
  return new URL(`checkpoints/${dir}`, location.href).href;
}

/** Which checkpoints exist: attn explore says so in explore.json; a plain static server (vite) does not. */
async function discover(): Promise<{
  served: string | null;
  shipped: ManifestEntry[];
  dflt: string;
}> {
  let served: string | null = null;
  let present: string[] | null = null;
  try {
    const r = await fetch("explore.json");
    if (r.ok) {
      const j = (await r.json()) as { checkpoint?: string | null; shipped?: unknown };
      served = j.checkpoint ?? null;
      present = Array.isArray(j.shipped) ? (j.shipped as string[]) : null;
    }
  } catch {
    served = null;
  }
  let shipped: ManifestEntry[] = [];
  let dflt = DEFAULT_SHIPPED;
  if (present === null || present.length > 0) {
    try {
      const r = await fetch("checkpoints/manifest.json");
      if (r.ok) {
        const m = (await r.json()) as Manifest;
        shipped = (m.checkpoints ?? []).filter((e) => present === null || present.includes(e.name));
        dflt = m.default ?? DEFAULT_SHIPPED;
      }
    } catch {
      shipped = [];
    }
  }
  return { served, shipped, dflt };
}

const NO_TRAINING: TrainingState = { running: false, points: [], samples: null, replaying: 0 };

export function App() {
  const [page, setPage] = useState<PageState>(() => parseState(location.search));
  const [info, setInfo] = useState<ModelInfo | null>(null);
  const [analysis, setAnalysis] = useState<Analysis | null>(null);
  const [status, setStatus] = useState<string>("Loading the model…");
  const [error, setError] = useState<string | null>(null);
  const [training, setTraining] = useState<TrainingState>(NO_TRAINING);
  const [ui, setUiState] = useState<UiState>({
    block: "cross",
    layer: 0,
    head: 0,
    cell: null,
    sampling: GREEDY,
  });
  /** The checkpoint attn explore serves (--checkpoint), by name. */
  const [served, setServed] = useState<string | null>(null);
  const [shipped, setShipped] = useState<ManifestEntry[]>([]);
  const pageRef = useRef(page);
  /** Set between a pause request and its reply: slices posted before the pause must not look "running". */
  const pausing = useRef(false);
  /** The Experiments view stays mounted once opened (a run goes on while a chapter is shown). */
  const experimentsSeen = useRef(false);
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
      setError(null);
      setStatus("");
    } catch (e) {
      fail(e);
    }
  };

  /** Loads a model, replays `trained` steps, and analyses the input; false if the model could not be loaded. */
  const load = async (source: ModelSource, keepInput: boolean, trained: number) => {
    setStatus("Loading the model…");
    setError(null);
    setTraining(NO_TRAINING);
    let i: ModelInfo;
    try {
      i = await client.load(source);
    } catch (e) {
      fail(e);
      return false;
    }
    try {
      const p = pageRef.current;
      await client.setInterventions(p.interventions);
      setInfo(i);
      setUiState((u) => ({ ...u, block: blockFor(i, u.block), layer: 0, cell: null }));
      const src = keepInput && p.src !== null ? p.src : i.examples[0].src;
      const tgt = keepInput && p.src !== null ? p.tgt : i.examples[0].tgt;
      setPage((q) => ({ ...q, src, tgt, trained: 0 }));
      if (trained > 0 && i.trainable) {
        setTraining({ ...NO_TRAINING, replaying: trained });
        setStatus(`Replaying ${trained} training steps from the link…`);
        await client.train({ action: "step", steps: trained, settings: p.settings });
        setTraining((t) => ({ ...t, replaying: 0 }));
      }
      await analyze(src, tgt);
    } catch (e) {
      fail(e);
    }
    return true;
  };

  /** Opens "served", "fresh", or "shipped:<name>"; keepInput keeps the URL's input (first open). */
  const open = async (
    choice: string,
    known: { served: string | null; shipped: ManifestEntry[] },
    keepInput: boolean,
    trained: number,
  ) => {
    const entry = choice.startsWith("shipped:")
      ? known.shipped.find((e) => `shipped:${e.name}` === choice)
      : undefined;
    if (entry) {
      setPage((p) => ({ ...p, checkpoint: entry.name }));
      return load(
        { kind: "checkpoint", url: shippedUrl(entry), name: entry.name },
        keepInput,
        trained,
      );
    }
    if (choice === "served" && known.served) {
      setPage((p) => ({ ...p, checkpoint: "served" }));
      return load(
        { kind: "checkpoint", url: new URL("checkpoint/", location.href).href, name: known.served },
        keepInput,
        trained,
      );
    }
    setPage((p) => ({ ...p, checkpoint: "none" }));
    return load({ kind: "fresh", spec: pageRef.current.spec }, keepInput, trained);
  };

  useEffect(() => {
    (async () => {
      const found = await discover();
      setServed(found.served);
      setShipped(found.shipped);
      const want = pageRef.current.checkpoint;
      const has = (n: string) => found.shipped.some((e) => e.name === n);
      // An explicit choice first; then attn explore --checkpoint; then the shipped default; then a fresh model.
      const choice =
        want === "none"
          ? "fresh"
          : want !== "auto" && want !== "served" && has(want)
            ? `shipped:${want}`
            : found.served
              ? "served"
              : has(found.dflt)
                ? `shipped:${found.dflt}`
                : "fresh";
      const ok = await open(choice, found, true, pageRef.current.trained);
      // A shipped default that cannot be loaded (a static server without its files): a fresh model instead.
      if (!ok && choice !== "fresh" && want === "auto")
        await open("fresh", found, true, pageRef.current.trained);
    })();
  }, []);

  useEffect(() => {
    history.replaceState(null, "", serializeState(page));
  }, [page]);

  /** The picker's value for the current model. */
  const current =
    page.checkpoint === "none" || page.checkpoint === "auto"
      ? "fresh"
      : page.checkpoint === "served"
        ? "served"
        : `shipped:${page.checkpoint}`;

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
    pick: (choice) => {
      if (choice === current && choice !== "fresh") return;
      // Zeroed heads name another model's modules: start that model intact.
      const iv = { ...pageRef.current.interventions, zeroHeads: [] };
      setPage((p) => ({ ...p, src: null, tgt: null, trained: 0, interventions: iv }));
      pageRef.current = { ...pageRef.current, interventions: iv };
      setAnalysis(null);
      void open(choice, { served, shipped }, false, 0);
    },
    generate: (src, sampling) => client.generate(src, sampling),
    positions: (models, src) =>
      client.positions(
        models.map((e) => ({ name: e.name, title: e.title, url: shippedUrl(e) })),
        src,
      ),
  };

  const onSpec = (spec: FreshSpec) => {
    setPage((p) => ({ ...p, spec, checkpoint: "none", src: null, tgt: null, trained: 0 }));
    pageRef.current = { ...pageRef.current, spec };
    setAnalysis(null);
    void load({ kind: "fresh", spec }, false, 0);
  };

  const onInput = (src: string, tgt: string | null) => {
    setPage((p) => ({ ...p, src, tgt }));
    void analyze(src, tgt);
  };

  const onExperiments = page.chapter === "experiments";
  if (onExperiments) experimentsSeen.current = true;
  const openExperiment = (name: string | null) =>
    setPage((p) => ({ ...p, chapter: "experiments", experiment: name }));
  const chapter = chapterById(isChapterId(page.chapter) ? page.chapter : "overview");
  const idx = CHAPTERS.indexOf(chapter);
  const text = chapterText(chapter, info?.kind ?? "encdec");
  return (
    <div class="app">
      <header class="top">
        <h1>
          Attention Lab <span>explorer</span>
        </h1>
        <p class="model-line" data-testid="model-line">
          {info
            ? `${info.origin} · ${info.parameters.toLocaleString("en-US")} parameters · ${info.engine}${info.trainable ? ` · ${training.points.length ? training.points[training.points.length - 1].step : page.trained} training steps here` : ""}`
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
        served={served}
        shipped={shipped}
        current={current}
        sampling={info?.kind === "gpt" && ui.sampling.temperature > 0}
        onSpec={onSpec}
        onInput={onInput}
        act={act}
      />
      <main class="main" id="main">
        <div class="nav-row">
          <nav class="chapters" aria-label="Chapters">
            {CHAPTERS.map((c) => (
              <button
                type="button"
                class={c.id === page.chapter ? "on" : ""}
                aria-current={c.id === page.chapter ? "page" : undefined}
                data-chapter={c.id}
                onClick={() => act.go(c.id)}
              >
                {c.nav}
              </button>
            ))}
          </nav>
          <ViewsNav experiments={onExperiments} open={() => openExperiment(page.experiment)} />
        </div>
        {!onExperiments && (
          <article
            class="chapter"
            data-testid={`chapter-${chapter.id}`}
            aria-labelledby="chapter-title"
          >
            {info && analysis && (
              <StageMap a={analysis} info={info} chapter={chapter.id} go={act.go} />
            )}
            <h2 id="chapter-title">{text.title}</h2>
            {text.intro.map((t) => (
              <p class="intro">{t}</p>
            ))}
            <p class="code-refs">
              Code:{" "}
              {text.code.map((c, i) => (
                <span>
                  {i > 0 && " · "}
                  <code>{c.file}</code> <strong>{c.fn}</strong>
                </span>
              ))}
            </p>
            <ExperimentLinks chapter={chapter.id} open={openExperiment} />
            {info && analysis ? (
              <ChapterView
                id={chapter.id}
                props={{ a: analysis, info, ui, training, settings: page.settings, act, shipped }}
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
        )}
        {experimentsSeen.current && (
          <ExperimentsPage
            hidden={!onExperiments}
            exp={page.experiment}
            setExp={(name) => setPage((p) => ({ ...p, experiment: name }))}
          />
        )}
        {analysis && (
          <div
            id="analysis-meta"
            hidden
            data-src-ids={JSON.stringify(analysis.srcIds)}
            data-tgt-in={JSON.stringify(analysis.tgtIn)}
            data-labels={JSON.stringify(analysis.labels)}
            data-step={analysis.step}
            data-config={info ? JSON.stringify(info.config) : ""}
            data-kind={analysis.kind}
            data-model={page.checkpoint}
          />
        )}
      </main>
    </div>
  );
}
