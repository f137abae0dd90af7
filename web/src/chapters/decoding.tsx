/**
 * Decoding: greedy steps one at a time (candidates and where each step
 * looked), and the beams of beam search; for a GPT, the continuation step by
 * step, greedy or sampled with temperature / top-k / top-p and a seed.
 */
import { useEffect, useState } from "preact/hooks";
import { Heatmap } from "../components/heatmap.js";
import { Bars, Tokens } from "../components/widgets.js";
import { fmt } from "../lib.js";
import {
  type DecodeStepInfo,
  GEN_TOKENS,
  MAX_GEN_TOKENS,
  type SamplingSettings,
} from "../protocol.js";
import { type ChapterProps, isGpt, layersOf, nth, tok } from "./types.js";

/** A GPT's continuation, one token at a time. */
function GptDecoding({ a, info, ui, act }: ChapterProps) {
  // In the shared UI state: the sidebar says whether its greedy continuation is what Decoding shows.
  const sampling = ui.sampling;
  const setSampling = (s: SamplingSettings) => act.setUi({ sampling: s });
  const [gen, setGen] = useState<{ ids: number[]; steps: DecodeStepInfo[] }>(a.greedy);
  const [t, setT] = useState(0);
  const [err, setErr] = useState<string | null>(null);
  const greedy = sampling.temperature === 0;
  const length = sampling.length ?? GEN_TOKENS;
  // Greedy of the default length comes with every analysis; anything else asks the worker
  // (same prompt, interventions on).
  useEffect(() => {
    if (greedy && length === GEN_TOKENS) {
      setGen(a.greedy);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      act.generate(a.src, sampling).then(
        (g) => {
          if (!live) return;
          setGen(g);
          setErr(null);
        },
        (e: unknown) => live && setErr(e instanceof Error ? e.message : String(e)),
      );
    }, 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [a, sampling.temperature, sampling.topK, sampling.topP, sampling.seed, length]);
  const steps = gen.steps;
  const s = Math.max(0, Math.min(t, steps.length - 1));
  const step = steps[s];
  const text = [...a.srcIds, ...steps.slice(0, s).map((x) => x.token)];
  // Past the context the model reads only its last maxLen tokens (the keys of the heatmap).
  const context = step ? text.slice(-step.cross.shape[1]) : text;
  // After this token the text is one longer: does it still fit the context?
  const windowed = text.length + 1 > info.config.maxLen;
  const L = layersOf(info, "self") - 1;
  const set = (patch: Partial<SamplingSettings>) => setSampling({ ...sampling, ...patch });
  const V = info.config.vocabSize;
  return (
    <div>
      <fieldset class="controls">
        <legend class="sr-only">how the next token is chosen</legend>
        <label>
          <input
            type="radio"
            name="gen-mode"
            checked={greedy}
            onChange={() => set({ temperature: 0 })}
          />{" "}
          greedy
        </label>
        <label>
          <input
            type="radio"
            name="gen-mode"
            data-testid="gen-sample"
            checked={!greedy}
            onChange={() => set({ temperature: 0.8 })}
          />{" "}
          sample
        </label>
        <label class="slider">
          length {length} new tokens
          <input
            type="range"
            data-testid="gen-length"
            min={10}
            max={MAX_GEN_TOKENS}
            step={10}
            value={length}
            onChange={(e) => set({ length: Number(e.currentTarget.value) })}
          />
        </label>
        {!greedy && (
          <>
            <label class="slider">
              temperature {sampling.temperature.toFixed(2)}
              <input
                type="range"
                min={0.05}
                max={2}
                step={0.05}
                value={sampling.temperature}
                onChange={(e) => set({ temperature: Number(e.currentTarget.value) })}
              />
            </label>
            <label class="slider">
              top-k {sampling.topK === 0 ? "all" : sampling.topK}
              <input
                type="range"
                min={0}
                max={V}
                step={1}
                value={sampling.topK}
                onChange={(e) => set({ topK: Number(e.currentTarget.value) })}
              />
            </label>
            <label class="slider">
              top-p {sampling.topP.toFixed(2)}
              <input
                type="range"
                min={0.05}
                max={1}
                step={0.05}
                value={sampling.topP}
                onChange={(e) => set({ topP: Number(e.currentTarget.value) })}
              />
            </label>
            <label>
              seed{" "}
              <input
                type="number"
                min={0}
                value={sampling.seed}
                style={{ width: "5em" }}
                onChange={(e) =>
                  set({ seed: Math.max(0, Math.floor(Number(e.currentTarget.value) || 0)) })
                }
              />
            </label>
          </>
        )}
      </fieldset>
      {err && <p class="note warn">{err}</p>}
      <p class="gen-text" data-testid="gen-text">
        <span class="muted">{a.src}</span>
        <strong>
          {steps
            .filter((x) => x.token !== info.config.eosId)
            .map((x) => info.vocab[x.token] ?? "")
            .join("")}
        </strong>
      </p>
      <StepControls legend="generation steps" s={s} count={steps.length} setT={setT} />
      {step && (
        <div class="row">
          <div class="col">
            <h3>
              The model has read
              {text.length > context.length &&
                ` (its last ${context.length} tokens: the context holds ${info.config.maxLen})`}
            </h3>
            <p class="gen-context">{context.map((id) => tok(info, id)).join("")}</p>
            <h3>…and predicts next</h3>
            <TokenBars
              info={info}
              step={step}
              items={step.top}
              testId="decode-top"
              caption="the five most likely next tokens"
            />
            {step.sampled && (
              <>
                <h3>Sampled from (after temperature, top-k, top-p)</h3>
                <TokenBars
                  info={info}
                  step={step}
                  items={step.sampled}
                  testId="decode-sampled"
                  caption="the distribution the token was drawn from"
                />
              </>
            )}
            <p>
              {greedy ? "Greedy decoding takes the most likely token, " : "The draw gave "}
              <strong>“{tok(info, step.token)}”</strong>
              {step.token === info.config.eosId
                ? ", the end of the text."
                : windowed
                  ? `, appends it, and, the text being longer than the context of ${info.config.maxLen} positions, runs the model again on the last ${info.config.maxLen} tokens.`
                  : ", appends it, and runs the model on that one token, reusing the cached keys and values."}
            </p>
          </div>
          <div class="col">
            <Heatmap
              testId="decode-self"
              title={`Where the newest position looked (causal self-attention, layer ${nth(L)} of ${L + 1}; rows: heads)`}
              m={{
                rows: step.cross.shape[0],
                cols: step.cross.shape[1],
                values: step.cross.values,
              }}
              rowLabels={Array.from({ length: step.cross.shape[0] }, (_, h) => `head ${nth(h)}`)}
              colLabels={context.map((id) => tok(info, id))}
              range={[0, 1]}
              maxWidth={440}
            />
          </div>
        </div>
      )}
      <p class="note">
        Beam search keeps several partial outputs; it is shown for the encoder-decoder models (a
        character-level GPT is usually sampled).
      </p>
    </div>
  );
}

/** Restart / back / next over the steps of a decoding, shared by both model kinds. */
/** Token probabilities of a step as bars, the chosen token marked (both decoding views). */
function TokenBars(p: {
  info: ChapterProps["info"];
  step: DecodeStepInfo;
  items: DecodeStepInfo["top"];
  testId: string;
  caption: string;
}) {
  return (
    <Bars
      testId={p.testId}
      caption={p.caption}
      bars={p.items.map((c) => ({
        label: tok(p.info, c.id),
        value: c.p,
        mark: c.id === p.step.token,
        id: c.id,
      }))}
      max={1}
    />
  );
}

function StepControls({
  legend,
  s,
  count,
  setT,
}: {
  legend: string;
  s: number;
  count: number;
  setT: (t: number) => void;
}) {
  return (
    <fieldset class="controls">
      <legend class="sr-only">{legend}</legend>
      <button type="button" onClick={() => setT(0)} disabled={s === 0}>
        ↺ Restart
      </button>
      <button type="button" onClick={() => setT(Math.max(0, s - 1))} disabled={s === 0}>
        ◀ Back
      </button>
      <button
        type="button"
        class="primary"
        data-testid="decode-next"
        onClick={() => setT(Math.min(count - 1, s + 1))}
        disabled={s >= count - 1}
      >
        Next token ▶
      </button>
      <button
        type="button"
        data-testid="decode-last"
        onClick={() => setT(Math.max(0, count - 1))}
        disabled={s >= count - 1}
      >
        Last step
      </button>
      <span data-testid="decode-steps" data-count={count}>
        step {count ? s + 1 : 0} of {count}
      </span>
    </fieldset>
  );
}

export function Decoding(props: ChapterProps) {
  if (isGpt(props.info)) return <GptDecoding {...props} />;
  return <Seq2SeqDecoding {...props} />;
}

function Seq2SeqDecoding({ a, info }: ChapterProps) {
  const steps = a.greedy.steps;
  const [t, setT] = useState(0);
  const s = Math.min(t, steps.length - 1);
  const step = steps[s];
  const src = a.srcIds.map((id) => tok(info, id));
  const soFar = ["<bos>", ...steps.slice(0, s).map((x) => tok(info, x.token))];
  const L = layersOf(info, "cross") - 1;
  return (
    <div>
      <StepControls legend="decoding steps" s={s} count={steps.length} setT={setT} />
      {step && (
        <div class="row">
          <div class="col">
            <h3>The decoder has written</h3>
            <Tokens label="decoder input so far" labels={soFar} />
            <h3>…and predicts next</h3>
            <TokenBars
              info={info}
              step={step}
              items={step.top}
              testId="decode-top"
              caption="the five most likely next tokens"
            />
            <p>
              Greedy decoding takes the most likely token,{" "}
              <strong>“{tok(info, step.token)}”</strong>
              {step.token === 2
                ? ", the end of the output."
                : ", appends it, and runs the decoder again."}
            </p>
          </div>
          <div class="col">
            <Heatmap
              testId="decode-cross"
              title={`Where this step looked in the source (cross-attention, layer ${nth(L)} of ${L + 1}; rows: heads)`}
              m={{
                rows: step.cross.shape[0],
                cols: step.cross.shape[1],
                values: step.cross.values,
              }}
              rowLabels={Array.from({ length: step.cross.shape[0] }, (_, h) => `head ${nth(h)}`)}
              colLabels={src}
              range={[0, 1]}
              maxWidth={520}
            />
          </div>
        </div>
      )}
      <h3>Beam search (3 beams)</h3>
      <p>
        Instead of one output, keep the 3 most likely partial outputs (by total log-probability). At
        each step, extend each by its best tokens and keep the best 3 that go on. An output that
        ends (marked <span class="ended">ended</span>) is set aside with its score, log P divided by
        the GNMT length penalty ((5 + length) / 6)
        <sup>0.6</sup>, so that short outputs are not favoured just for having fewer factors; the
        search stops when 3 have ended, and the best score wins. This is what{" "}
        <code>attn translate --beam 3</code> runs.
      </p>
      <div class="table-wrap">
        <table class="data beams" data-testid="beams">
          <thead>
            <tr>
              <th scope="col">step</th>
              {Array.from({ length: Math.max(0, ...a.beams.map((r) => r.length)) }, (_, b) => (
                <th scope="col">{b + 1}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {a.beams.map((beams, r) => (
              <tr>
                <th scope="row">{r + 1}</th>
                {beams.map((b) => (
                  <td class={b.done ? "left done" : "left"}>
                    <code>
                      {info.vocab.length ? b.ids.map((id) => tok(info, id)).join("") || "∅" : ""}
                    </code>
                    {b.done && (
                      <>
                        {" "}
                        <span class="ended">ended</span>
                      </>
                    )}{" "}
                    <span class="muted">
                      {b.done && b.score !== undefined
                        ? `score ${fmt(b.score, 2)}`
                        : fmt(b.logp, 2)}
                    </span>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
