/** Residual stream + LayerNorm, and the feed-forward network, from the recorded taps of one layer. */
import { layerPath, stackPath, tapName } from "../../../src/browser.js";
import { useState } from "preact/hooks";
import { Heatmap } from "../components/heatmap.js";
import { Bars } from "../components/widgets.js";
import { fmt, mat, norm, rowOf, sharedRange } from "../lib.js";
import type { Rec } from "../protocol.js";
import { type ChapterProps, isGpt, nth, type StackName, tok } from "./types.js";

interface Stage {
  label: string;
  op: string;
  rec: Rec;
}

/** The stages of one layer's residual stream, in order, for either norm placement. */
function stages(p: ChapterProps, stack: StackName, l: number): Stage[] {
  const t = p.a.tensors;
  const L = layerPath(stack, l);
  const input =
    l === 0 ? t[tapName(stackPath(stack), "input")] : t[tapName(layerPath(stack, l - 1), "out")];
  const s = (label: string, op: string, key: string) => ({ label, op, rec: t[key] });
  const post = p.info.config.normPlacement === "post";
  const subs =
    stack !== "decoder"
      ? [["self-attention", tapName(`${L}.self_attn`, "out")]]
      : [
          ["self-attention", tapName(`${L}.self_attn`, "out")],
          ["cross-attention", tapName(`${L}.cross_attn`, "out")],
        ];
  subs.push(["feed-forward", tapName(`${L}.ffn`, "out")]);
  const out: Stage[] = [{ label: "x (layer input)", op: "", rec: input }];
  subs.forEach(([name, key], k) => {
    const n = (k + 1) as 1 | 2 | 3;
    if (post) {
      out.push(s(`${name} output`, "Sublayer(x)", key));
      out.push(s(`residual ${n}`, "x + Sublayer(x)", tapName(L, `residual${n}`)));
      out.push(s(`norm ${n}`, "LayerNorm(…)", tapName(L, `norm${n}`)));
    } else {
      out.push(s(`norm ${n}`, "LayerNorm(x)", tapName(L, `norm${n}`)));
      out.push(s(`${name} output`, "Sublayer(LN(x))", key));
      out.push(s(`residual ${n}`, "x + Sublayer(LN(x))", tapName(L, `residual${n}`)));
    }
  });
  // A GPT's last layer is followed by the final LayerNorm, what the output projection reads.
  if (stack === "gpt" && l === layerCount(p.info, stack) - 1)
    out.push(s("final norm", "LayerNorm(…) before the output", "final_norm"));
  return out.filter((x) => x.rec);
}

function layerCount(info: ChapterProps["info"], stack: StackName): number {
  const c = info.config;
  if (c.kind === "gpt") return c.layers;
  return stack === "encoder" ? c.encoderLayers : c.decoderLayers;
}

function LayerPicker(p: {
  info: ChapterProps["info"];
  stack: StackName;
  layer: number;
  set: (s: StackName, l: number) => void;
}) {
  const n = layerCount(p.info, p.stack);
  return (
    <fieldset class="picker">
      <legend class="sr-only">layer</legend>
      {p.stack !== "gpt" && (
        <label>
          Stack
          <select
            value={p.stack}
            onChange={(e) => p.set(e.currentTarget.value as "encoder" | "decoder", 0)}
          >
            <option value="encoder">encoder</option>
            <option value="decoder">decoder</option>
          </select>
        </label>
      )}
      <label>
        Layer
        <select value={p.layer} onChange={(e) => p.set(p.stack, Number(e.currentTarget.value))}>
          {Array.from({ length: n }, (_, i) => (
            <option value={i}>{nth(i)}</option>
          ))}
        </select>
      </label>
    </fieldset>
  );
}

function tokensOf(p: ChapterProps, stack: StackName): string[] {
  return (stack === "decoder" ? p.a.tgtIn : p.a.srcIds).map((id) => tok(p.info, id));
}

/** The stack and layer picked in a chapter; a GPT has one stack. */
function usePick(p: ChapterProps): [StackName, number, (s: StackName, l: number) => void] {
  const [stack, setStack] = useState<"encoder" | "decoder">("encoder");
  const [layer, setLayer] = useState(0);
  const s: StackName = isGpt(p.info) ? "gpt" : stack;
  const l = Math.min(layer, layerCount(p.info, s) - 1);
  return [
    s,
    l,
    (ns, nl) => {
      if (ns !== "gpt") setStack(ns);
      setLayer(nl);
    },
  ];
}

function stats(v: Float32Array): string {
  let m = 0;
  for (const x of v) m += x / v.length;
  let s = 0;
  for (const x of v) s += (x - m) ** 2 / v.length;
  return `mean ${fmt(m, 3)}, std ${fmt(Math.sqrt(s), 3)}, ‖·‖ ${fmt(norm(v), 3)}`;
}

export function Residual(p: ChapterProps) {
  const [stack, layer, setPick] = usePick(p);
  const [pos, setPos] = useState(0);
  const st = stages(p, stack, layer);
  const toks = tokensOf(p, stack);
  const i = Math.min(pos, toks.length - 1);
  const norms = new Float32Array(st.length * toks.length);
  st.forEach((s, r) => {
    const m = mat(s.rec, [0]);
    for (let c = 0; c < toks.length; c++) norms[r * toks.length + c] = norm(rowOf(m, c));
  });
  // One colour scale for every stage: the residual's growth and LayerNorm's rescaling show.
  const stageRange = sharedRange(...st.map((s) => rowOf(mat(s.rec, [0]), i)));
  return (
    <div>
      <LayerPicker info={p.info} stack={stack} layer={layer} set={setPick} />
      <p>
        {p.info.config.normPlacement === "post"
          ? "This model normalises after each residual add (post-LN, as the paper)."
          : "This model normalises before each sub-layer (pre-LN, as GPT-2)."}{" "}
        Click a column to pick a token.
      </p>
      <Heatmap
        testId="residual-norms"
        title="Size ‖·‖ of each token's vector at each stage of the layer"
        m={{ rows: st.length, cols: toks.length, values: norms }}
        rowLabels={st.map((s) => s.label)}
        colLabels={toks}
        selected={[0, i]}
        onCell={(_, c) => setPos(c)}
        maxWidth={640}
      />
      <h3>
        Token “{toks[i]}” (position {i}) through the layer
      </h3>
      <div class="stages">
        {st.map((s) => {
          const v = rowOf(mat(s.rec, [0]), i);
          return (
            <div class="stage">
              <Heatmap
                title={`${s.label}${s.op ? ` = ${s.op}` : ""}: ${stats(v)}`}
                m={{ rows: 1, cols: v.length, values: v }}
                scale="div"
                range={stageRange}
                rangeNote="one scale for every stage"
                maxWidth={640}
                small
              />
            </div>
          );
        })}
      </div>
    </div>
  );
}

export function FeedForward(p: ChapterProps) {
  const [stack, layer, setPick] = usePick(p);
  const L = layerPath(stack, layer);
  const ffn = `${L}.ffn`;
  const hidden = p.a.tensors[tapName(ffn, "hidden")];
  const out = p.a.tensors[tapName(ffn, "out")];
  const toks = tokensOf(p, stack);
  if (!hidden || !out) return <p>No feed-forward taps recorded.</p>;
  const Hm = mat(hidden, [0]);
  const Om = mat(out, [0]);
  const sub = stack === "decoder" ? 2 : 1;
  const inputKey = tapName(
    L,
    p.info.config.normPlacement === "post" ? `norm${sub}` : `norm${(sub + 1) as 2 | 3}`,
  );
  const In = p.a.tensors[inputKey] ? mat(p.a.tensors[inputKey], [0]) : null;
  let zeros = 0;
  for (const x of Hm.values) if (x === 0) zeros++;
  const relu = p.info.config.activation === "relu";
  return (
    <div>
      <LayerPicker info={p.info} stack={stack} layer={layer} set={setPick} />
      <Heatmap
        testId="ffn-hidden"
        title={`Hidden units after ${p.info.config.activation} (tokens × d_ff = ${Hm.cols})${relu ? `: ${((100 * zeros) / Hm.values.length).toFixed(0)}% exactly zero` : ""}`}
        m={Hm}
        rowLabels={toks}
        scale={relu ? "seq" : "div"}
        maxWidth={700}
      />
      <div class="row">
        <Heatmap
          testId="ffn-out"
          title="FFN output (tokens × d_model), added to the residual stream"
          m={Om}
          rowLabels={toks}
          scale="div"
          maxWidth={420}
        />
        {In && (
          <Bars
            caption="relative size of what the FFN adds"
            bars={toks.map((t, r) => ({
              label: t,
              value: norm(rowOf(Om, r)) / Math.max(1e-9, norm(rowOf(In, r))),
            }))}
          />
        )}
      </div>
      {In && (
        <p class="note">
          Bars: ‖FFN(x)‖ / ‖x‖ per token, how much the feed-forward network changes each position's
          vector.
        </p>
      )}
    </div>
  );
}
