/** Output: logits → softmax, re-sampling with temperature / top-k / top-p, and the (label-smoothed) cross-entropy. */
import { useState } from "preact/hooks";
import { Bars } from "../components/widgets.js";
import { exact, fmt, mat, ranked, rowOf, samplingDistribution, softmax } from "../lib.js";
import { type ChapterProps, isGpt, tok } from "./types.js";

/** Cross-entropy of logits z against the label-smoothed target (1-ε)·onehot(y) + ε/V. */
export function smoothedLoss(z: ArrayLike<number>, y: number, eps: number): number {
  const p = softmax(z);
  let l = 0;
  for (let v = 0; v < z.length; v++)
    l -= ((v === y ? 1 - eps : 0) + eps / z.length) * Math.log(p[v]);
  return l;
}

let drawState = 12345;
function uniform(): number {
  drawState = (drawState * 1664525 + 1013904223) >>> 0;
  return drawState / 2 ** 32;
}

export function Output({ a, info }: ChapterProps) {
  const gpt = isGpt(info);
  const logitsRec = a.tensors.logits;
  const L = mat(logitsRec, [0]);
  const V = L.cols;
  // A GPT opens on its last position: the distribution of the character after the prompt.
  const [pos, setPos] = useState(gpt ? L.rows - 1 : 0);
  const [temp, setTemp] = useState(1);
  const [k, setK] = useState(V);
  const [topP, setTopP] = useState(1);
  const [draws, setDraws] = useState<number[]>([]);
  const t = Math.min(pos, L.rows - 1);
  const z = rowOf(L, t);
  const p = softmax(z);
  const order = ranked(p).slice(0, 10);
  const y = a.labels[t];
  const eps = a.labelSmoothing;
  const samp = samplingDistribution(z, temp, k, topP);
  const sampOrder = ranked(samp)
    .filter((v) => samp[v] > 0)
    .slice(0, 10);
  // Positions with a target (a GPT's last position has none: its next token is not in the prompt).
  const counted = a.labels.map((lab, r) => [lab, r]).filter(([lab]) => lab >= 0);
  const smoothedRows = a.labels.map((lab, r) =>
    lab >= 0 ? smoothedLoss(rowOf(L, r), lab, eps) : Number.NaN,
  );
  const meanSmoothed =
    counted.reduce((s, [, r]) => s + smoothedRows[r], 0) / Math.max(1, counted.length);
  const recordedLoss = a.tensors.loss?.values[0];
  const draw = () => {
    const out: number[] = [];
    for (let n = 0; n < 12; n++) {
      let u = uniform();
      let v = 0;
      for (; v < V - 1; v++) {
        u -= samp[v];
        if (u <= 0) break;
      }
      out.push(v);
    }
    setDraws(out);
  };
  return (
    <div>
      <p>
        Each {gpt ? "" : "decoder "}position predicts the next token. Pick a position
        {gpt ? " (the last one predicts the character after your prompt)" : ""}:
      </p>
      <ol class="tokens" aria-label="target positions">
        {a.tgtIn.map((id, r) => (
          <li>
            <button
              type="button"
              class={r === t ? "tok tok-on" : "tok"}
              aria-pressed={r === t}
              onClick={() => setPos(r)}
            >
              <span class="glyph">{tok(info, id)}</span>
              <span class="tok-id">→ {a.labels[r] >= 0 ? tok(info, a.labels[r]) : "?"}</span>
            </button>
          </li>
        ))}
      </ol>
      <div class="row">
        <div class="col">
          <h3>
            Logits → softmax at position {t} (input “{tok(info, a.tgtIn[t])}”)
          </h3>
          <table class="data logits" data-testid="logits">
            <caption class="sr-only">top 10 logits and probabilities</caption>
            <thead>
              <tr>
                <th scope="col">token</th>
                <th scope="col">id</th>
                <th scope="col">logit</th>
                <th scope="col">probability</th>
              </tr>
            </thead>
            <tbody>
              {order.map((v) => (
                <tr class={v === y ? "mark" : ""}>
                  <th scope="row">{tok(info, v)}</th>
                  <td>{v}</td>
                  <td data-testid="logit" data-pos={t} data-id={v} data-value={exact(z[v])}>
                    {fmt(z[v], 4)}
                  </td>
                  <td>
                    <span class="inline-bar" style={{ width: `${p[v] * 80}px` }} /> {fmt(p[v], 4)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="col">
          <h3>Re-sampled from the same logits</h3>
          <div class="sliders">
            <label class="slider">
              temperature {temp.toFixed(2)}
              <input
                type="range"
                min={0.1}
                max={3}
                step={0.05}
                value={temp}
                onInput={(e) => setTemp(Number(e.currentTarget.value))}
              />
            </label>
            <label class="slider">
              top-k {k}
              <input
                type="range"
                min={1}
                max={V}
                step={1}
                value={k}
                onInput={(e) => setK(Number(e.currentTarget.value))}
              />
            </label>
            <label class="slider">
              top-p {topP.toFixed(2)}
              <input
                type="range"
                min={0.05}
                max={1}
                step={0.05}
                value={topP}
                onInput={(e) => setTopP(Number(e.currentTarget.value))}
              />
            </label>
          </div>
          <Bars
            testId="sampling-bars"
            caption="sampling distribution"
            bars={sampOrder.map((v) => ({ label: tok(info, v), value: samp[v], id: v }))}
            max={1}
          />
          <p>
            <button type="button" onClick={draw}>
              Draw 12 samples
            </button>{" "}
            <span class="draws">{draws.map((v) => tok(info, v)).join(" ")}</span>
          </p>
        </div>
      </div>
      {y < 0 ? (
        <h3>No target here: the next character is not in the prompt</h3>
      ) : (
        <h3>Cross-entropy against the target “{tok(info, y)}”</h3>
      )}
      <div class="row">
        <div class="col">
          {y < 0 ? (
            <p>
              This position predicts what follows your prompt. Generation continues from this
              distribution (greedy: its most likely token “{tok(info, order[0])}”); see Decoding.
              The loss below is over the {counted.length} positions whose next character is in the
              prompt.
            </p>
          ) : (
            <>
              <p>
                p(target) = <strong>{fmt(p[y], 4)}</strong>, so the loss here is −log p ={" "}
                <strong data-testid="ce-position">{fmt(-Math.log(p[y]), 4)}</strong> nats (units of
                the natural log).
              </p>
              <p>
                With label smoothing ε = {eps}, the target is {fmt(1 - eps + eps / V, 4)} on “
                {tok(info, y)}” and {fmt(eps / V, 5)} on each of the other {V - 1} tokens; the loss
                −Σ q log p is <strong>{fmt(smoothedRows[t], 4)}</strong>.
              </p>
            </>
          )}
          <p>
            Mean over the {counted.length} positions: <strong>{fmt(meanSmoothed, 4)}</strong>; the
            model's own loss (tap <code>loss</code>):{" "}
            <strong
              data-testid="loss-tap"
              data-value={recordedLoss === undefined ? "" : exact(recordedLoss)}
            >
              {recordedLoss === undefined ? "–" : fmt(recordedLoss, 4)}
            </strong>
            .
          </p>
        </div>
        <div class="col">
          {y >= 0 && (
            <Bars
              caption="label-smoothed target distribution against the model's probabilities"
              bars={[y, ...order.filter((v) => v !== y).slice(0, 5)].map((v) => ({
                label: tok(info, v),
                value: (v === y ? 1 - eps : 0) + eps / V,
                note: `target ${fmt((v === y ? 1 - eps : 0) + eps / V, 3)} · model ${fmt(p[v], 3)}`,
                mark: v === y,
              }))}
              max={1}
            />
          )}
        </div>
      </div>
    </div>
  );
}
