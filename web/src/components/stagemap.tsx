/**
 * The paper's Figure 1 as the page's navigation: the model's stages as boxes,
 * each with the shape of the tensor it makes for your input, the stages of
 * the open chapter marked, and each box a link to the chapter about it.
 */
import { attentionTap, layerPath, type StackName, tapName } from "../../../src/browser.js";
import type { ChapterId } from "../chapters/guide.js";
import type { Analysis, ModelInfo } from "../protocol.js";

interface Stage {
  label: string;
  /** The chapter a click opens. */
  go: ChapterId;
  /** The chapters in which the box is marked as the current stage. */
  marks: ChapterId[];
  /** The recorded tap whose shape the box shows, and the shape in symbols. */
  tap?: string;
  symbols?: string;
}

const ATTENTION: ChapterId[] = ["attention", "multihead"];

/** One stack's boxes: input side, then the repeated layer. */
function stack(
  s: StackName,
  layers: number,
  tokens: Stage,
  T: string,
  attn: Stage[],
): { input: Stage[]; layer: Stage[]; layers: number } {
  const p = s === "gpt" ? "" : `${s}.`;
  const lp = layerPath(s, 0);
  const norm = (i: number): Stage => ({
    label: s === "gpt" ? "Norm, add" : "Add & Norm",
    go: "residual",
    marks: ["residual"],
    tap: tapName(lp, `residual${i}` as "residual1"),
    symbols: `[B, ${T}, d_model]`,
  });
  const layer: Stage[] = attn.flatMap((a, i) => [a, norm(i + 1)]);
  layer.push(
    {
      label: "Feed forward",
      go: "ffn",
      marks: ["ffn"],
      tap: tapName(`${lp}.ffn`, "hidden"),
      symbols: `[B, ${T}, d_ff]`,
    },
    norm(attn.length + 1),
  );
  return {
    input: [
      tokens,
      {
        label: "Embedding",
        go: "embedding",
        marks: ["embedding"],
        tap: `${p}embed`,
        symbols: `[B, ${T}, d_model]`,
      },
      {
        label: "+ Positions",
        go: "positional",
        marks: ["positional"],
        tap: `${p}input`,
        symbols: `[B, ${T}, d_model]`,
      },
    ],
    layer,
    layers,
  };
}

function lanes(info: ModelInfo): { name: string; s: ReturnType<typeof stack>; tail: Stage[] }[] {
  const c = info.config;
  const head: Stage[] = [
    {
      label: "Linear + softmax",
      go: "output",
      marks: ["output"],
      tap: "logits",
      symbols: "[B, T, vocab]",
    },
    { label: "Loss", go: "training", marks: ["training"], tap: "loss", symbols: "one number" },
  ];
  if (c.kind === "gpt") {
    const self: Stage = {
      label: "Masked self-attention",
      go: "attention",
      marks: [...ATTENTION, "masks"],
      tap: attentionTap("self", 0, "weights"),
      symbols: "[B, H, T, T]",
    };
    const tokens: Stage = { label: "Prompt", go: "overview", marks: ["overview", "decoding"] };
    return [{ name: "GPT", s: stack("gpt", c.layers, tokens, "T", [self]), tail: head }];
  }
  const enc: Stage = {
    label: "Self-attention",
    go: "attention",
    marks: ATTENTION,
    tap: attentionTap("enc", 0, "weights"),
    symbols: "[B, H, S, S]",
  };
  const dec: Stage = {
    label: "Masked self-attention",
    go: "masks",
    marks: [...ATTENTION, "masks"],
    tap: attentionTap("dec", 0, "weights"),
    symbols: "[B, H, T, T]",
  };
  const cross: Stage = {
    label: "Cross-attention",
    go: "multihead",
    marks: ATTENTION,
    tap: attentionTap("cross", 0, "weights"),
    symbols: "[B, H, T, S]",
  };
  const inputs: Stage = { label: "Inputs", go: "overview", marks: ["overview"] };
  const outputs: Stage = {
    label: "Outputs (shifted right)",
    go: "decoding",
    marks: ["overview", "decoding"],
  };
  return [
    { name: "Encoder", s: stack("encoder", c.encoderLayers, inputs, "S", [enc]), tail: [] },
    {
      name: "Decoder",
      s: stack("decoder", c.decoderLayers, outputs, "T", [dec, cross]),
      tail: head,
    },
  ];
}

function shapeOf(a: Analysis, tap: string | undefined): string {
  const r = tap ? a.tensors[tap] : undefined;
  if (!r) return "";
  return r.shape.length === 0 ? "scalar" : `[${r.shape.join(", ")}]`;
}

export function StageMap(p: {
  a: Analysis;
  info: ModelInfo;
  chapter: ChapterId;
  go: (c: ChapterId) => void;
}) {
  const box = (st: Stage) => {
    const on = st.marks.includes(p.chapter);
    const shape = shapeOf(p.a, st.tap);
    return (
      <button
        type="button"
        class={on ? "sm-box on" : "sm-box"}
        data-stage={st.label}
        data-current={on ? "1" : "0"}
        aria-current={on ? "step" : undefined}
        title={st.symbols ? `${st.label}: ${st.symbols}` : st.label}
        onClick={() => p.go(st.go)}
      >
        {st.label}
        {shape && <span class="sm-shape">{shape}</span>}
      </button>
    );
  };
  return (
    <nav
      class="stage-map scroll-x"
      data-testid="stage-map"
      aria-label="Where this chapter is in the model"
    >
      {lanes(p.info).map((lane) => (
        <div class="sm-lane">
          <span class="sm-name">{lane.name}</span>
          {lane.s.input.map(box)}
          <span class="sm-layer">
            <span class="sm-times">× {lane.s.layers}</span>
            {lane.s.layer.map(box)}
          </span>
          {lane.tail.map(box)}
        </div>
      ))}
      <p class="sm-note">
        Shapes are of your input: B sequences (1 here),{" "}
        {p.info.kind === "gpt" ? "T positions" : "S source and T target positions"}, H heads,
        d_model numbers per position. The dashed box is one layer, repeated.
      </p>
    </nav>
  );
}
