/** Live training: controls, loss and accuracy curves, samples, and views that update as the model learns. */
import { attentionTap } from "../../../src/browser.js";
import { LineChart } from "../components/chart.js";
import { Heatmap } from "../components/heatmap.js";
import { PcaPlot } from "../components/widgets.js";
import { exact, fmt } from "../lib.js";
import { headMean, writtenTokens } from "./overview.js";
import { type ChapterProps, blockTokens, layersOf, nth } from "./types.js";

/** Thins a long history for drawing (every point is kept in memory). */
function thin<T>(xs: T[], max = 600): T[] {
  const every = Math.max(1, Math.ceil(xs.length / max));
  return xs.filter((_, i) => i % every === 0 || i === xs.length - 1);
}

export function Training(props: ChapterProps) {
  const { a, info, act } = props;
  if (!info.trainable) {
    return (
      <div>
        <p class="note" data-testid="train-unavailable">
          This model is not trained in the page: live training draws its batches from a shipped
          task, and the text this GPT learned from is not part of the page. Its embedding table,
          projected, is below.
        </p>
        <p>
          <button type="button" class="primary" onClick={() => act.pick("fresh")}>
            Train a fresh model here instead
          </button>
        </p>
        <PcaPlot
          x={a.pca.x}
          y={a.pca.y}
          vocab={info.vocab}
          explained={a.pca.explained}
          size={360}
        />
      </div>
    );
  }
  return <TrainingView {...props} />;
}

function TrainingView({ a, info, training, settings, act }: ChapterProps) {
  const pts = thin(training.points);
  const last = training.points[training.points.length - 1];
  const val = training.points.filter((p) => p.valLoss !== undefined);
  const x = pts.map((p) => p.step);
  const valAt = (key: "valLoss" | "valAcc" | "valExact") => {
    const m = new Map(val.map((p) => [p.step, p[key] as number]));
    return pts.map((p) => m.get(p.step) ?? null);
  };
  const L = layersOf(info, "cross") - 1;
  const cross = a.tensors[attentionTap("cross", L, "weights")];
  const mean = cross ? headMean(cross) : null;
  const { k } = blockTokens(a, info, "cross");
  const busy = training.replaying > 0;
  return (
    <div>
      <fieldset class="controls">
        <legend class="sr-only">training controls</legend>
        <button
          type="button"
          class="primary"
          data-testid="train-start"
          disabled={busy}
          onClick={() => act.train(training.running ? "pause" : "start")}
        >
          {training.running ? "Pause" : "▶ Start"}
        </button>
        <button
          type="button"
          data-testid="train-step"
          disabled={busy || training.running}
          onClick={() => act.train("step", 1)}
        >
          Step
        </button>
        <button
          type="button"
          data-testid="train-step10"
          disabled={busy || training.running}
          onClick={() => act.train("step", 10)}
        >
          10 steps
        </button>
        <label>
          learning rate
          <select
            value={settings.lr}
            onChange={(e) => act.setSettings({ ...settings, lr: Number(e.currentTarget.value) })}
          >
            {[1e-3, 3e-3, 1e-2].map((v) => (
              <option value={v}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          batch
          <select
            data-testid="train-batch"
            value={settings.batch}
            onChange={(e) => act.setSettings({ ...settings, batch: Number(e.currentTarget.value) })}
          >
            {[4, 8, 16, 32, 64].map((v) => (
              <option value={v}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          label smoothing
          <select
            value={settings.labelSmoothing}
            onChange={(e) =>
              act.setSettings({ ...settings, labelSmoothing: Number(e.currentTarget.value) })
            }
          >
            {[0, 0.1].map((v) => (
              <option value={v}>{v}</option>
            ))}
          </select>
        </label>
        <span
          class="step-count"
          data-testid="train-step-count"
          data-step={last?.step ?? 0}
          data-loss={last ? exact(last.loss) : ""}
        >
          {busy ? `replaying ${training.replaying} steps…` : `step ${last?.step ?? 0}`}
          {last && ` · loss ${fmt(last.loss, 4)} · accuracy ${(last.acc * 100).toFixed(1)}%`}
        </span>
      </fieldset>
      {training.points.length === 0 ? (
        <p class="placeholder">No steps yet. Press Start (or Step) and the curves appear here.</p>
      ) : (
        <div class="row">
          <LineChart
            testId="loss-chart"
            title="Loss (train: the optimised, label-smoothed loss; validation: plain cross-entropy)"
            x={x}
            xLabel="step"
            yLabel="loss"
            width={430}
            height={220}
            describeLast
            series={[
              { label: "train", color: "#2563eb", values: pts.map((p) => p.loss) },
              {
                label: "validation",
                color: "#dc2626",
                values: valAt("valLoss"),
                points: true,
                dash: true,
              },
            ]}
          />
          <LineChart
            testId="acc-chart"
            title="Accuracy (per token, and whole outputs exactly right)"
            x={x}
            xLabel="step"
            yLabel="accuracy"
            width={430}
            height={220}
            yRange={[0, 1]}
            series={[
              { label: "train tokens", color: "#2563eb", values: pts.map((p) => p.acc) },
              {
                label: "val tokens",
                color: "#dc2626",
                values: valAt("valAcc"),
                points: true,
                dash: true,
              },
              { label: "val exact", color: "#16a34a", values: valAt("valExact"), points: true },
            ]}
          />
        </div>
      )}
      <div class="row">
        {training.samples && (
          <div class="scroll-x">
            <table class="data samples" data-testid="samples">
              <caption>Validation samples (greedy decoding)</caption>
              <thead>
                <tr>
                  <th scope="col">source</th>
                  <th scope="col">target</th>
                  <th scope="col">model</th>
                </tr>
              </thead>
              <tbody>
                {training.samples.map((s) => (
                  <tr class={s.out === s.tgt ? "ok" : "bad"}>
                    <td class="left">{s.src}</td>
                    <td class="left">{s.tgt}</td>
                    <td class="left">
                      {s.out} <span aria-hidden="true">{s.out === s.tgt ? "✓" : "✗"}</span>
                      <span class="sr-only">{s.out === s.tgt ? "right" : "wrong"}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {mean && (
          <Heatmap
            title={`Your input, cross-attention layer ${nth(L)} of ${L + 1} (mean of heads), at step ${a.step}; rows: the output token written`}
            m={mean}
            rowLabels={writtenTokens(a, info)}
            colLabels={k}
            range={[0, 1]}
            gamma={0.5}
            maxWidth={420}
          />
        )}
        <PcaPlot
          x={a.pca.x}
          y={a.pca.y}
          vocab={info.vocab}
          explained={a.pca.explained}
          size={300}
        />
      </div>
    </div>
  );
}
