/**
 * The Experiments view's place in the app: its button in the navigation, a
 * frame that loads the view (and with it vega) on first visit, so the
 * explorer's first load does not carry it, and each chapter's links to the
 * experiments that measure what it shows (CHAPTER_EXPERIMENTS).
 */
import type { FunctionComponent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { CHAPTER_EXPERIMENTS, type ChapterId } from "../chapters/guide.js";
import type { ExperimentsProps } from "./view.js";

export function ExperimentsPage(p: ExperimentsProps & { hidden: boolean }) {
  const [View, setView] = useState<FunctionComponent<ExperimentsProps> | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    import("./view.js").then(
      (m) => setView(() => m.ExperimentsView),
      (e) =>
        setError(`The Experiments view could not be loaded: ${e instanceof Error ? e.message : e}`),
    );
  }, []);
  return (
    <article
      class="chapter experiments"
      hidden={p.hidden}
      data-testid="chapter-experiments"
      aria-labelledby="experiments-title"
    >
      <h2 id="experiments-title">Experiments</h2>
      {View ? (
        <View exp={p.exp} setExp={p.setExp} />
      ) : (
        <p class={error ? "error" : "placeholder"}>{error ?? "Loading the experiments…"}</p>
      )}
    </article>
  );
}

/** The views after the chapters in the navigation (a nav of its own: the chapters' list stays the walkthrough). */
export function ViewsNav(p: { experiments: boolean; open(): void }) {
  return (
    <nav class="views" aria-label="Other views">
      <button
        type="button"
        class={p.experiments ? "on" : ""}
        aria-current={p.experiments ? "page" : undefined}
        data-chapter="experiments"
        onClick={p.open}
      >
        Experiments
      </button>
    </nav>
  );
}

/** "Run the experiment" links of a chapter (none for chapters no experiment measures). */
export function ExperimentLinks(p: { chapter: ChapterId; open(name: string): void }) {
  const names = CHAPTER_EXPERIMENTS[p.chapter] ?? [];
  if (names.length === 0) return null;
  return (
    <p class="exp-links">
      Measure it:{" "}
      {names.map((n, i) => (
        <span>
          {i > 0 && " · "}
          <button
            type="button"
            class="link"
            data-testid={`exp-link-${n}`}
            onClick={() => p.open(n)}
          >
            Run the experiment “{n}” →
          </button>
        </span>
      ))}
    </p>
  );
}
