/** The left column: the model, the learner's input and output, the interventions and training controls. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Actions, TrainingState } from "../chapters/types.js";
import { exact, fmt } from "../lib.js";
import {
  type Analysis,
  type FreshSpec,
  type ModelInfo,
  POSITIONALS,
  type PositionalChoice,
  SIZES,
  type SizeName,
  TASKS,
  type TaskName,
} from "../protocol.js";
import type { PageState } from "../state.js";
import { InterventionsCard } from "./interventions.js";

interface Props {
  page: PageState;
  info: ModelInfo | null;
  analysis: Analysis | null;
  training: TrainingState;
  checkpoint: string | null;
  onSpec(spec: FreshSpec): void;
  onInput(src: string, tgt: string | null): void;
  act: Actions;
}

const SIZE_LABEL: Record<SizeName, string> = {
  xs: "xs: d 32, 2 heads, 1+1 layers",
  s: "s: d 64, 4 heads, 2+2 layers",
  m: "m: s2s-tiny (d_ff 256)",
};

function useDebounced(fn: () => void, deps: unknown[], ms: number, skip: boolean): void {
  useEffect(() => {
    if (skip) return;
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  }, deps);
}

export function Sidebar(p: Props) {
  const { page, info, analysis } = p;
  const [src, setSrc] = useState(page.src ?? "");
  const [tgt, setTgt] = useState(page.tgt ?? "");
  const dirty = useRef(false);
  useEffect(() => {
    if (!dirty.current) {
      setSrc(page.src ?? "");
      setTgt(page.tgt ?? "");
    }
  }, [page.src, page.tgt]);
  useDebounced(
    () => {
      dirty.current = false;
      p.onInput(src, tgt === "" ? null : tgt);
    },
    [src, tgt],
    350,
    !dirty.current,
  );
  const spec = page.spec;
  const setSpec = (patch: Partial<FreshSpec>) => p.onSpec({ ...spec, ...patch });
  const last = p.training.points[p.training.points.length - 1];
  const maxSrc = info ? info.config.maxLen - 1 : 63;

  return (
    <aside class="side" aria-label="Model and input">
      <section class="card">
        <h2>Model</h2>
        {p.checkpoint && (
          <p class="note">
            Showing the checkpoint “{p.checkpoint}” served by attn explore. Choosing a task, size,
            positions or seed below switches to a freshly initialised model.
          </p>
        )}
        <div class="grid2">
          <label class="field">
            Task
            <select
              class="wide"
              value={spec.task}
              onChange={(e) => setSpec({ task: e.currentTarget.value as TaskName })}
            >
              {TASKS.map((t) => (
                <option value={t}>{t === "dates" ? "dates → ISO" : t}</option>
              ))}
            </select>
          </label>
          <label class="field">
            Size
            <select
              class="wide"
              value={spec.size}
              onChange={(e) => setSpec({ size: e.currentTarget.value as SizeName })}
            >
              {(Object.keys(SIZES) as SizeName[]).map((s) => (
                <option value={s}>{SIZE_LABEL[s]}</option>
              ))}
            </select>
          </label>
          <label class="field">
            Positions
            <select
              class="wide"
              value={spec.positional}
              onChange={(e) => setSpec({ positional: e.currentTarget.value as PositionalChoice })}
            >
              {POSITIONALS.map((s) => (
                <option value={s}>{s}</option>
              ))}
            </select>
          </label>
          <label class="field">
            Seed
            <input
              class="wide"
              type="number"
              min={0}
              value={spec.seed}
              onChange={(e) =>
                setSpec({ seed: Math.max(0, Math.floor(Number(e.currentTarget.value) || 0)) })
              }
            />
          </label>
        </div>
        <p class="train-mini">
          <button
            type="button"
            class="primary"
            data-testid="train-toggle"
            disabled={!info || p.training.replaying > 0}
            onClick={() => p.act.train(p.training.running ? "pause" : "start")}
          >
            {p.training.running ? "❚❚ Pause" : "▶ Train"}
          </button>
          <span>
            step {last?.step ?? page.trained}
            {last && ` · loss ${fmt(last.loss, 3)}`}
          </span>
        </p>
      </section>

      <section class="card">
        <h2>
          <label for="src-input">Source</label>
        </h2>
        <input
          id="src-input"
          class="wide mono-input"
          data-testid="src-input"
          value={src}
          maxLength={maxSrc}
          spellcheck={false}
          autocomplete="off"
          onInput={(e) => {
            dirty.current = true;
            setSrc(e.currentTarget.value);
            setTgt("");
          }}
        />
        {info && (
          <label class="field field-gap">
            Examples
            <select
              class="wide"
              onChange={(e) => {
                const ex = info.examples[Number(e.currentTarget.value)];
                if (!ex) return;
                dirty.current = true;
                setSrc(ex.src);
                setTgt(ex.tgt);
              }}
            >
              <option value="">choose one of the task's examples…</option>
              {info.examples.map((ex, i) => (
                <option value={i}>{ex.src}</option>
              ))}
            </select>
          </label>
        )}
        <label class="field field-gap" for="tgt-input">
          Target (teacher forcing; empty = the model's own output)
        </label>
        <input
          id="tgt-input"
          class="wide mono-input"
          data-testid="tgt-input"
          value={tgt}
          placeholder={analysis?.outcome.output ?? ""}
          spellcheck={false}
          autocomplete="off"
          onInput={(e) => {
            dirty.current = true;
            setTgt(e.currentTarget.value);
          }}
        />
        {analysis && (
          <dl class="outcome">
            <dt>Output (greedy)</dt>
            <dd data-testid="output" class="big">
              {analysis.outcome.output || <em>(empty)</em>}
            </dd>
            <dt>Teacher-forced guess</dt>
            <dd data-testid="prediction">{analysis.outcome.prediction || <em>(empty)</em>}</dd>
            <dt>Cross-entropy</dt>
            <dd data-testid="loss" data-value={exact(analysis.outcome.loss)}>
              {fmt(analysis.outcome.loss, 4)} nats / token
            </dd>
          </dl>
        )}
      </section>
      {info && analysis && (
        <InterventionsCard info={info} analysis={analysis} iv={page.interventions} act={p.act} />
      )}
    </aside>
  );
}
