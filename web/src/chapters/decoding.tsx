/** Decoding: greedy steps one at a time (candidates and where each step looked), and the beams of beam search. */
import { useState } from "preact/hooks";
import { Heatmap } from "../components/heatmap.js";
import { Bars, Tokens } from "../components/widgets.js";
import { fmt } from "../lib.js";
import { type ChapterProps, tok } from "./types.js";

export function Decoding({ a, info }: ChapterProps) {
  const steps = a.greedy.steps;
  const [t, setT] = useState(0);
  const s = Math.min(t, steps.length - 1);
  const step = steps[s];
  const src = a.srcIds.map((id) => tok(info, id));
  const soFar = ["<bos>", ...steps.slice(0, s).map((x) => tok(info, x.token))];
  const L = info.config.decoderLayers - 1;
  return (
    <div>
      <fieldset class="controls">
        <legend class="sr-only">decoding steps</legend>
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
          onClick={() => setT(Math.min(steps.length - 1, s + 1))}
          disabled={s >= steps.length - 1}
        >
          Next token ▶
        </button>
        <span>
          step {s + 1} of {steps.length}
        </span>
      </fieldset>
      {step && (
        <div class="row">
          <div class="col">
            <h3>The decoder has written</h3>
            <Tokens label="decoder input so far" labels={soFar} />
            <h3>…and predicts next</h3>
            <Bars
              testId="decode-top"
              caption="the five most likely next tokens"
              bars={step.top.map((c) => ({
                label: tok(info, c.id),
                value: c.p,
                mark: c.id === step.token,
                id: c.id,
              }))}
              max={1}
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
              title={`Where this step looked in the source (cross-attention, layer ${L}; rows: heads)`}
              m={{
                rows: step.cross.shape[0],
                cols: step.cross.shape[1],
                values: step.cross.values,
              }}
              rowLabels={Array.from({ length: step.cross.shape[0] }, (_, h) => `head ${h}`)}
              colLabels={src}
              range={[0, 1]}
              maxWidth={520}
            />
          </div>
        </div>
      )}
      <h3>Beam search (3 beams)</h3>
      <p>
        Instead of one output, keep the 3 most likely partial outputs (by total log-probability); at
        each step, extend each by its best tokens and keep the best 3 of all.
      </p>
      <div class="table-wrap">
        <table class="data beams" data-testid="beams">
          <thead>
            <tr>
              <th scope="col">step</th>
              {[0, 1, 2].map((b) => (
                <th scope="col">beam {b + 1}</th>
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
                    {b.done && " ⏹"} <span class="muted">{fmt(b.logp, 2)}</span>
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
