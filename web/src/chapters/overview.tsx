/** Start: what the model does with the input, where it looks, and a button to train it. */
import { attentionTap } from "../../../src/browser.js";
import { LineChart } from "../components/chart.js";
import { Heatmap } from "../components/heatmap.js";
import { Tokens } from "../components/widgets.js";
import type { Matrix } from "../lib.js";
import type { Analysis, ModelInfo, Rec } from "../protocol.js";
import { type ChapterProps, blockTokens, isGpt, layersOf, nth, tok } from "./types.js";

/** Mean over heads of [1, H, Tq, Tk]. */
export function headMean(r: Rec): Matrix {
  const [, H, Tq, Tk] = r.shape;
  const out = new Float32Array(Tq * Tk);
  for (let h = 0; h < H; h++)
    for (let i = 0; i < Tq * Tk; i++) out[i] += r.values[h * Tq * Tk + i] / H;
  return { rows: Tq, cols: Tk, values: out };
}

/**
 * Row labels of a decoder-side heatmap: the token each position writes (its
 * label in the teacher-forced pass), not the token it is fed; row 0 reads
 * <bos> and writes the first output token.
 */
export function writtenTokens(a: Analysis, info: ModelInfo): string[] {
  return a.labels.map((id) => (id >= 0 ? tok(info, id) : "?"));
}

/** Start, for a GPT: the prompt, its continuation, where the last position looks, and no training. */
function GptOverview({ a, info, act }: ChapterProps) {
  const L = layersOf(info, "self") - 1;
  const w = a.tensors[attentionTap("self", L, "weights")];
  const mean = w ? headMean(w) : null;
  const { q, k } = blockTokens(a, info, "self");
  return (
    <div class="overview">
      <div class="row">
        <div class="flow col">
          <div>
            <h3>Prompt tokens</h3>
            <Tokens
              label="prompt tokens"
              labels={a.srcIds.map((id) => tok(info, id))}
              ids={a.srcIds}
            />
          </div>
          <div>
            <h3>Continuation, one token at a time (greedy)</h3>
            <Tokens
              label="generated tokens"
              labels={a.greedy.steps.map((s) => tok(info, s.token))}
              ids={a.greedy.steps.map((s) => s.token)}
            />
          </div>
        </div>
        <div class="cta">
          <p>
            This GPT was trained offline ({info.parameters.toLocaleString("en-US")} parameters). It
            reads your prompt and writes what it thinks comes next, one character at a time.
          </p>
          <p class="cta-buttons">
            <button type="button" class="primary big" onClick={() => act.go("decoding")}>
              ▶ Watch it generate
            </button>
            <button type="button" onClick={() => act.go("embedding")}>
              Start the walkthrough →
            </button>
          </p>
        </div>
      </div>
      {mean && (
        <Heatmap
          testId="overview-self"
          title={`Where each position looks (causal self-attention, layer ${nth(L)} of ${L + 1}, mean of heads): only itself and earlier positions`}
          m={mean}
          rowLabels={q}
          colLabels={k}
          maxWidth={720}
          range={[0, 1]}
          gamma={0.5}
        />
      )}
    </div>
  );
}

export function Overview(props: ChapterProps) {
  if (isGpt(props.info)) return <GptOverview {...props} />;
  const { a, info, training, act } = props;
  const L = layersOf(info, "cross") - 1;
  const cross = a.tensors[attentionTap("cross", L, "weights")];
  const mean = cross ? headMean(cross) : null;
  const { k } = blockTokens(a, info, "cross");
  const pts = training.points;
  // A checkpoint is trained already: the walkthrough comes first, training more second.
  const trained = info.origin.startsWith("checkpoint") || pts.length > 0;
  const trainButton = (
    <button
      type="button"
      class={trained ? "" : "primary big"}
      onClick={() => act.train(training.running ? "pause" : "start")}
    >
      {training.running ? "Pause training" : trained ? "Train it more here" : "▶ Train it here"}
    </button>
  );
  const walkButton = (
    <button type="button" class={trained ? "primary big" : ""} onClick={() => act.go("embedding")}>
      Start the walkthrough →
    </button>
  );
  const every = Math.max(1, Math.floor(pts.length / 400));
  const shown = pts.filter((_, i) => i % every === 0 || i === pts.length - 1);
  return (
    <div class="overview">
      <div class="row">
        <div class="flow col">
          <div>
            <h3>Source tokens</h3>
            <Tokens
              label="source tokens"
              labels={a.srcIds.map((id) => tok(info, id))}
              ids={a.srcIds}
            />
          </div>
          <div>
            <h3>Output, one token at a time</h3>
            <Tokens
              label="output tokens"
              labels={a.greedy.steps.map((s) => tok(info, s.token))}
              ids={a.greedy.steps.map((s) => s.token)}
            />
          </div>
        </div>
        <div class="cta">
          <p>
            {pts.length > 0
              ? `After ${pts[pts.length - 1].step} steps here, the training loss is ${pts[pts.length - 1].loss.toFixed(3)}.`
              : info.origin.startsWith("checkpoint")
                ? "This model comes from a checkpoint. Training here continues from its weights."
                : "This model has not been trained yet: its weights are random, so the output is noise and the attention is blurred."}
          </p>
          <p class="cta-buttons">
            {trained ? walkButton : trainButton}
            {trained ? trainButton : walkButton}
          </p>
        </div>
      </div>
      <div class="row">
        {mean && (
          <Heatmap
            testId="overview-cross"
            title={`Where each output token looked in the source while it was written (cross-attention, layer ${nth(L)} of ${L + 1}, mean of heads; rows: the output token written, columns: the source tokens)`}
            m={mean}
            rowLabels={writtenTokens(a, info)}
            colLabels={k}
            maxWidth={620}
            range={[0, 1]}
            gamma={0.5}
          />
        )}
        {shown.length > 1 && (
          <LineChart
            title="Training loss"
            x={shown.map((p) => p.step)}
            xLabel="step"
            yLabel="loss"
            width={320}
            height={200}
            series={[{ label: "train", color: "#2563eb", values: shown.map((p) => p.loss) }]}
          />
        )}
      </div>
    </div>
  );
}
