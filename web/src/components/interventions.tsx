/** Interventions: switch a piece of the architecture off and see what the model does without it. */
import { attentionPath } from "../../../src/browser.js";
import { useEffect, useRef, useState } from "preact/hooks";
import { type Actions, type Block, blockFor, blocksOf, layersOf } from "../chapters/types.js";
import { exact, fmt } from "../lib.js";
import type { Analysis, Interventions, ModelInfo, Reference } from "../protocol.js";

const EXPLAIN = {
  noPositional:
    "No positional encoding: the model now sees a bag of characters. Attention gives the same result for any order of the same tokens, so a model trained with positions gets inputs it has never seen and its answers break.",
  noCausalMask:
    "No causal mask: in the teacher-forced pass each target position can now read the tokens after it, the very ones it should predict, so the guess and the loss change. Greedy decoding does not change: when generating, the future does not exist yet. Train with the mask off and the training loss drops fast while generation stays wrong: the model learned to copy.",
  noCausalMaskGpt:
    "No causal mask: each position of the prompt can now read the characters after it, the very ones it should predict, so the next-character guesses and the loss change. The continuation does not change: when generating, the future does not exist yet, so there is nothing for the mask to hide.",
  noScale: (dk: number) =>
    `No 1/√d_k scaling: every score is √${dk} ≈ ${Math.sqrt(dk).toFixed(1)} times larger, so each softmax row is much peakier (closer to one-hot). With large d_k that saturates the softmax and its gradients vanish, which is why the paper scales.`,
  head: "A zeroed head contributes nothing to the concatenation before W^O. If the output barely changes, the model did not rely on that head; if it breaks, that head carried something needed.",
};

/** A zeroed head's key ("decoder.layers.0.cross_attn:1") as the page says it: layers and heads count from 1. */
export function headLabel(key: string): string {
  const n = (i: string) => Number(i) + 1;
  const g = /^layers\.(\d+)\.self_attn:(\d+)$/.exec(key);
  if (g) return `self, layer ${n(g[1])}, head ${n(g[2])}`;
  const m = /^(encoder|decoder)\.layers\.(\d+)\.(self_attn|cross_attn):(\d+)$/.exec(key);
  if (!m) return key;
  const block =
    m[1] === "encoder" ? "encoder self" : m[3] === "self_attn" ? "decoder self" : "cross";
  return `${block}, layer ${n(m[2])}, head ${n(m[4])}`;
}

/** Output text with an empty one made visible. */
function shown(t: string): string {
  return t === "" ? "(empty)" : t;
}

/** What the loss was measured against, in words. */
export function referenceText(r: Reference): string {
  switch (r.kind) {
    case "typed":
      return `the target you typed, ${shown(r.text)}`;
    case "truth":
      return `the true answer ${shown(r.text)}`;
    case "intact":
      return `the intact model's own output ${shown(r.text)} (the page cannot compute the true answer for this input)`;
    case "prompt":
      return "the prompt itself: each position against the character that follows it";
  }
}

/** Intact model against the changed one, both scored on the same reference. */
export function CompareTable(p: { a: Analysis; gpt: boolean }) {
  const { a } = p;
  const b = a.baseline;
  if (!b) return null;
  const worse = a.outcome.loss - b.loss;
  return (
    <>
      <p class="ref-line" data-testid="compare-reference" data-kind={a.reference.kind}>
        Both scored against {referenceText(a.reference)}.
      </p>
      <table class="compare-table">
        <thead>
          <tr>
            <th />
            <th scope="col">intact</th>
            <th scope="col">now</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row">{p.gpt ? "continuation" : "output"}</th>
            <td>{b.output}</td>
            <td class={b.output !== a.outcome.output ? "changed" : ""}>{a.outcome.output}</td>
          </tr>
          <tr>
            <th scope="row">guess</th>
            <td>{b.prediction}</td>
            <td class={b.prediction !== a.outcome.prediction ? "changed" : ""}>
              {a.outcome.prediction}
            </td>
          </tr>
          <tr>
            <th scope="row">loss</th>
            <td data-testid="loss-intact" data-value={exact(b.loss)}>
              {fmt(b.loss, 3)}
            </td>
            <td
              data-testid="loss-now"
              data-value={exact(a.outcome.loss)}
              class={Math.abs(worse) > 1e-6 ? "changed" : ""}
            >
              {fmt(a.outcome.loss, 3)}
            </td>
          </tr>
        </tbody>
      </table>
      {Number.isFinite(worse) && (
        <p class="verdict">
          {Math.abs(worse) < 1e-3
            ? "The loss barely moved: the model did not need what was removed, for this input."
            : worse > 0
              ? `The loss rose by ${fmt(worse, 3)} nats per token: the model needed what was removed.`
              : `The loss fell by ${fmt(-worse, 3)} nats per token on this input.`}
        </p>
      )}
    </>
  );
}

export function InterventionsCard(p: {
  info: ModelInfo;
  analysis: Analysis;
  iv: Interventions;
  act: Actions;
}) {
  const { iv, info, analysis: a } = p;
  const [picked, setBlock] = useState<Block>("cross");
  const block = blockFor(info, picked);
  const gpt = info.kind === "gpt";
  const [pickedLayer, setLayer] = useState(0);
  const [pickedHead, setHead] = useState(0);
  const layer = Math.min(pickedLayer, layersOf(info, block) - 1);
  const head = Math.min(pickedHead, info.config.heads - 1);
  const set = (patch: Partial<Interventions>) => p.act.setInterventions({ ...iv, ...patch });
  const toggle = (
    k: "noPositional" | "noCausalMask" | "noScale",
    label: string,
    disabled = false,
  ) => (
    <label class="check">
      <input
        type="checkbox"
        data-testid={`iv-${k}`}
        checked={iv[k]}
        disabled={disabled}
        onChange={(e) => set({ [k]: e.currentTarget.checked })}
      />
      {label}
    </label>
  );
  const dk = info.config.dModel / info.config.heads;
  const b = a.baseline;
  const active = [
    iv.noPositional && EXPLAIN.noPositional,
    iv.noCausalMask && (gpt ? EXPLAIN.noCausalMaskGpt : EXPLAIN.noCausalMask),
    iv.noScale && EXPLAIN.noScale(dk),
    iv.zeroHeads.length > 0 && EXPLAIN.head,
  ].filter(Boolean) as string[];
  const key = `${attentionPath(block, layer)}:${head}`;
  // The column scrolls on its own on wide screens: bring a new result into its view.
  const compare = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = compare.current;
    const side = el?.closest<HTMLElement>(".side");
    if (!el || !side || side.scrollHeight <= side.clientHeight) return;
    const r = el.getBoundingClientRect();
    const s = side.getBoundingClientRect();
    if (r.bottom > s.bottom) side.scrollTop += Math.min(r.bottom - s.bottom + 8, r.top - s.top - 8);
  }, [b !== null, iv]);
  return (
    <section class="card" aria-labelledby="iv-title">
      <h2 id="iv-title">Interventions</h2>
      {toggle(
        "noPositional",
        "Remove positional encoding",
        !["sinusoidal", "learned"].includes(info.config.positional),
      )}
      {toggle("noCausalMask", "Remove the causal mask")}
      {toggle("noScale", "Remove the 1/√d_k scaling")}
      <div class="zero-head">
        <span>Zero a head:</span>
        <select
          aria-label="attention block"
          value={block}
          onChange={(e) => setBlock(e.currentTarget.value as Block)}
        >
          {blocksOf(info).map((k) => (
            <option value={k}>
              {k === "enc"
                ? "enc self"
                : k === "dec"
                  ? "dec self"
                  : k === "self"
                    ? "self"
                    : "cross"}
            </option>
          ))}
        </select>
        <select
          aria-label="layer"
          value={layer}
          onChange={(e) => setLayer(Number(e.currentTarget.value))}
        >
          {Array.from({ length: layersOf(info, block) }, (_, i) => (
            <option value={i}>layer {i + 1}</option>
          ))}
        </select>
        <select
          aria-label="head"
          value={head}
          onChange={(e) => setHead(Number(e.currentTarget.value))}
        >
          {Array.from({ length: info.config.heads }, (_, i) => (
            <option value={i}>head {i + 1}</option>
          ))}
        </select>
        <button
          type="button"
          disabled={iv.zeroHeads.includes(key)}
          onClick={() => set({ zeroHeads: [...iv.zeroHeads, key] })}
        >
          Zero
        </button>
      </div>
      {iv.zeroHeads.length > 0 && (
        <ul class="chips">
          {iv.zeroHeads.map((k) => (
            <li>
              {headLabel(k)}{" "}
              <button
                type="button"
                class="link"
                aria-label={`restore ${headLabel(k)}`}
                onClick={() => set({ zeroHeads: iv.zeroHeads.filter((x) => x !== k) })}
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      {b && (
        <div class="compare" data-testid="iv-compare" aria-live="polite" ref={compare}>
          <CompareTable a={a} gpt={gpt} />
          {active.map((t) => (
            <p class="explain">{t}</p>
          ))}
        </div>
      )}
    </section>
  );
}
