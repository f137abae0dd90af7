/** The left column: the model, the learner's input and output, the interventions and training controls. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Actions, TrainingState } from "../chapters/types.js";
import { exact, fmt } from "../lib.js";
import {
  type Analysis,
  type FreshSpec,
  type ManifestEntry,
  type ModelInfo,
  POSITIONALS,
  type PositionalChoice,
  SIZES,
  type SizeName,
  TASKS,
  type TaskName,
} from "../protocol.js";
import type { PageState } from "../state.js";
import { InterventionsCard, referenceText } from "./interventions.js";

interface Props {
  page: PageState;
  info: ModelInfo | null;
  analysis: Analysis | null;
  training: TrainingState;
  /** The checkpoint attn explore serves (--checkpoint), by name. */
  served: string | null;
  /** The shipped checkpoints that are present. */
  shipped: ManifestEntry[];
  /** The picker's value: "served", "fresh" or "shipped:<name>". */
  current: string;
  /** Whether the Decoding chapter samples a GPT's continuation (the sidebar's stays greedy). */
  sampling: boolean;
  onSpec(spec: FreshSpec): void;
  onInput(src: string, tgt: string | null): void;
  act: Actions;
}

const SIZE_LABEL: Record<SizeName, string> = {
  xs: "xs: d 32, 2 heads, 1+1 layers",
  s: "s: d 64, 4 heads, 2+2 layers",
  m: "m: s2s-tiny (d_ff 256)",
};

/** Text for the outcome list: “(empty)”, or whitespace made visible when there is nothing else. */
function shownText(t: string) {
  if (t === "") return <em>(empty)</em>;
  if (t.trim() === "") return t.replace(/ /g, "␣").replace(/\n/g, "⏎");
  return t;
}

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
  const gpt = info?.kind === "gpt";
  const entry = p.current.startsWith("shipped:")
    ? p.shipped.find((e) => `shipped:${e.name}` === p.current)
    : undefined;
  // Narrow screens: the chapter comes first and this column folds into one line until opened.
  const [open, setOpen] = useState(false);
  const iv = page.interventions;
  const ivCount =
    Number(iv.noPositional) + Number(iv.noCausalMask) + Number(iv.noScale) + iv.zeroHeads.length;

  return (
    <aside class={open ? "side open" : "side"} aria-label="Model and input">
      <button
        type="button"
        class="side-toggle"
        data-testid="side-toggle"
        aria-expanded={open}
        aria-controls="side-cards"
        onClick={() => setOpen(!open)}
      >
        <span class="side-sum">
          <span class="mono">{src || "(no input)"}</span>
          {analysis && (
            <>
              {" → "}
              <strong class="mono">{shownText(analysis.outcome.output)}</strong>
            </>
          )}
          {ivCount > 0 && (
            <span class="warn">
              {" "}
              · {ivCount} intervention{ivCount > 1 ? "s" : ""} on
            </span>
          )}
        </span>
        <span class="side-act">{open ? "Hide ▲" : "Input, model, interventions ▼"}</span>
      </button>
      <div class="side-cards" id="side-cards">
        <section class="card">
          <h2>
            <label for="model-pick">Model</label>
          </h2>
          <select
            id="model-pick"
            class="wide"
            data-testid="model-pick"
            value={p.current}
            onChange={(e) => p.act.pick(e.currentTarget.value)}
          >
            {p.served && <option value="served">{`served: ${p.served}`}</option>}
            {p.shipped.length > 0 && (
              <optgroup label="Trained, shipped with the page">
                {p.shipped.map((e) => (
                  <option value={`shipped:${e.name}`}>{e.title}</option>
                ))}
              </optgroup>
            )}
            <option value="fresh">Fresh model (untrained; choose below)</option>
          </select>
          {entry && (
            <p class="note" data-testid="model-note">
              {entry.description}
              {entry.command && (
                <>
                  {" "}
                  Made with <code>{entry.command}</code>.
                </>
              )}
            </p>
          )}
          {p.current === "served" && (
            <p class="note">The checkpoint “{p.served}” served by attn explore --checkpoint.</p>
          )}
          {p.current === "fresh" && (
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
                  onChange={(e) =>
                    setSpec({ positional: e.currentTarget.value as PositionalChoice })
                  }
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
          )}
          <p class="train-mini">
            <button
              type="button"
              class="primary"
              data-testid="train-toggle"
              disabled={!info?.trainable || p.training.replaying > 0}
              title={info && !info.trainable ? "a GPT is not trained in the page" : undefined}
              onClick={() => p.act.train(p.training.running ? "pause" : "start")}
            >
              {p.training.running ? "Pause" : "▶ Train"}
            </button>
            <span>
              {info && !info.trainable
                ? "trained offline"
                : `step ${last?.step ?? page.trained}${last ? ` · loss ${fmt(last.loss, 3)}` : ""}`}
            </span>
          </p>
        </section>

        <section class="card">
          <h2>
            <label for="src-input">{gpt ? "Prompt" : "Source"}</label>
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
                <option value="">
                  {gpt ? "choose a prompt…" : "choose one of the task's examples…"}
                </option>
                {info.examples.map((ex, i) => (
                  <option value={i}>{ex.src}</option>
                ))}
              </select>
            </label>
          )}
          {!gpt && (
            <>
              <label class="field field-gap" for="tgt-input">
                Target: the answer the model is scored against (optional)
              </label>
              <input
                id="tgt-input"
                class="wide mono-input"
                data-testid="tgt-input"
                aria-describedby="tgt-hint"
                value={tgt}
                placeholder={
                  analysis && analysis.reference.kind !== "typed" ? analysis.reference.text : ""
                }
                spellcheck={false}
                autocomplete="off"
                onInput={(e) => {
                  dirty.current = true;
                  setTgt(e.currentTarget.value);
                }}
              />
              <p class="hint" id="tgt-hint">
                Left empty: the true answer when the page can compute it, else the intact model's
                own output.
              </p>
            </>
          )}
          {analysis && (
            <dl class="outcome stacked">
              <dt>
                {gpt
                  ? p.sampling
                    ? "Greedy continuation (the most likely character each step; Decoding shows a sampled one)"
                    : "Continuation, greedy (the most likely character each step)"
                  : "Output, greedy (the most likely token each step)"}
              </dt>
              <dd data-testid="output" class={gpt ? "big gen" : "big"}>
                {shownText(analysis.outcome.output)}
              </dd>
              <dt>
                {gpt
                  ? "Next-character guess after each prefix of the prompt"
                  : "Teacher-forced guess (each position is fed the reference's true previous tokens, not the model's own)"}
              </dt>
              <dd data-testid="prediction">{shownText(analysis.outcome.prediction)}</dd>
              <dt>
                Loss: cross-entropy, the mean of −ln p(right token), in nats (natural-log units; 0 =
                sure and right)
              </dt>
              <dd data-testid="loss" data-value={exact(analysis.outcome.loss)}>
                {Number.isNaN(analysis.outcome.loss)
                  ? "– (a one-token prompt has no next token to check)"
                  : `${fmt(analysis.outcome.loss, 4)} nats / token`}
              </dd>
              <dt>Scored against</dt>
              <dd
                class="ref"
                data-testid="reference"
                data-kind={analysis.reference.kind}
                data-text={analysis.reference.text}
              >
                {referenceText(analysis.reference)}
              </dd>
            </dl>
          )}
        </section>
        {info && analysis && (
          <InterventionsCard info={info} analysis={analysis} iv={page.interventions} act={p.act} />
        )}
      </div>
    </aside>
  );
}
