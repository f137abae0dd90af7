/**
 * padding-mask: why PAD keys are masked. A batch pads every row to its
 * longest; without the key-padding mask the queries attend to those PAD
 * positions too, so what the model says about a sentence depends on how long
 * its batch-mates were. Both arms train on padded batches; then each held-out
 * source runs alone and with extra PAD appended, and we measure how much the
 * logits and the greedy outputs move.
 */
import { type Pair, makeSplit } from "../data/tasks.js";
import type { Transformer } from "../models/transformer.js";
import { fromArray, noGrad, tidy } from "../tensor/index.js";
import type { CharTokenizer } from "../tokenizers/char.js";
import { BOS_ID, EOS_ID, PAD_ID } from "../tokenizers/tokenizer.js";
import { type ExperimentDef, Progress } from "./experiment.js";
import { trainSeq2Seq } from "./harness.js";
import {
  type MetricSpec,
  type PlotSpec,
  type Row,
  RowBuilder,
  compareArms,
  findCell,
  formatValue,
  EXACT_MATCH,
} from "./result.js";
import { lengthTask } from "./tasks.js";

export const PADDING_ARMS = ["padding mask", "no padding mask"] as const;

const CHANGED: MetricSpec = {
  key: "changed",
  label: "outputs changed vs alone",
  better: "lower",
  format: "percent",
};
const DLOGIT: MetricSpec = { key: "dLogit", label: "max |Δ logit| vs alone", better: "lower" };

export function paddingBudget(quick: boolean) {
  return quick
    ? { steps: 250, batch: 32, minLen: 1, maxLen: 12, probe: 60, padTo: [0, 13, 29] }
    : { steps: 1000, batch: 64, minLen: 1, maxLen: 12, probe: 300, padTo: [0, 13, 17, 21, 29, 45] };
}

/** 0: each source alone (no PAD); else every source padded to this many positions (EOS included). */
export const padGroup = (padTo: number) => (padTo === 0 ? "alone" : `padded to ${padTo}`);

export interface PaddedOutputs {
  /** Greedy output ids of each pair (no BOS/EOS). */
  outputs: number[][];
  /** Teacher-forced logits of each pair on its reference target, [tgt + 1, V] flat. */
  logits: Float32Array[];
}

/**
 * Runs each source padded to `padTo` positions with PAD after its EOS (0:
 * alone, unpadded), in batches of sources of one length (one padding each):
 * teacher-forced logits on the reference target, and greedy decoding (one
 * full forward per step, so the padded source tensor is used as given).
 */
export function runPadded(
  model: Transformer,
  tok: CharTokenizer,
  pairs: readonly Pair[],
  padTo: number,
): PaddedOutputs {
  const V = model.config.vocabSize;
  const outputs: number[][] = new Array(pairs.length);
  const logits: Float32Array[] = new Array(pairs.length);
  const byLength = new Map<number, number[]>();
  pairs.forEach((p, i) => {
    const n = tok.encode(p.src).length;
    byLength.set(n, [...(byLength.get(n) ?? []), i]);
  });
  for (const [n, idx] of byLength) {
    const N = idx.length;
    const S = Math.max(n + 1, padTo);
    const src = new Int32Array(N * S).fill(PAD_ID);
    const tgts = idx.map((i) => tok.encode(pairs[i].tgt));
    const T = Math.max(...tgts.map((t) => t.length)) + 1;
    const tgtIn = new Int32Array(N * T).fill(PAD_ID);
    idx.forEach((i, r) => {
      src.set(tok.encode(pairs[i].src), r * S);
      src[r * S + n] = EOS_ID;
      tgtIn.set([BOS_ID, ...tgts[r]], r * T);
    });
    noGrad(() =>
      tidy(() => {
        const srcT = fromArray(src, [N, S], "int32");
        const all = model.forward(srcT, fromArray(tgtIn, [N, T], "int32")).readSync();
        idx.forEach((i, r) => {
          logits[i] = Float32Array.from(all.subarray(r * T * V, (r * T + tgts[r].length + 1) * V));
        });
        const prefixes = idx.map(() => [BOS_ID]);
        const done = idx.map(() => false);
        for (let step = 0; step < T + 1 && done.includes(false); step++) {
          const L = step + 1;
          const out = tidy(() =>
            model.forward(srcT, fromArray(prefixes.flat(), [N, L], "int32")).readSync(),
          );
          prefixes.forEach((pre, r) => {
            if (done[r]) {
              pre.push(PAD_ID);
              return;
            }
            const off = (r * L + L - 1) * V;
            let best = EOS_ID;
            for (let v = 0; v < V; v++)
              if (v !== PAD_ID && v !== BOS_ID && out[off + v] > out[off + best]) best = v;
            if (best === EOS_ID) done[r] = true;
            pre.push(best);
          });
        }
        idx.forEach((i, r) => {
          const ids = prefixes[r].slice(1);
          const end = ids.indexOf(EOS_ID);
          outputs[i] = end < 0 ? ids.filter((id) => id !== PAD_ID) : ids.slice(0, end);
        });
      }),
    );
  }
  return { outputs, logits };
}

/** Exact match, outputs changed vs alone and the largest logit change, at each padded length. */
export function paddingDependence(
  model: Transformer,
  tok: CharTokenizer,
  pairs: readonly Pair[],
  padTo: readonly number[],
): Record<number, { exact: number; changed: number; dLogit: number }> {
  const alone = runPadded(model, tok, pairs, 0);
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, j) => x === b[j]);
  const result: Record<number, { exact: number; changed: number; dLogit: number }> = {};
  for (const p of padTo) {
    const r = p === 0 ? alone : runPadded(model, tok, pairs, p);
    let exact = 0;
    let changed = 0;
    let dLogit = 0;
    pairs.forEach((pair, i) => {
      if (same(r.outputs[i], tok.encode(pair.tgt))) exact++;
      if (!same(r.outputs[i], alone.outputs[i])) changed++;
      const a = alone.logits[i];
      const b = r.logits[i];
      for (let j = 0; j < a.length; j++) dLogit = Math.max(dLogit, Math.abs(a[j] - b[j]));
    });
    result[p] = { exact: exact / pairs.length, changed: changed / pairs.length, dLogit };
  }
  return result;
}

export const paddingMask: ExperimentDef = {
  name: "padding-mask",
  title: "Key-padding mask: with and without",
  question:
    "Without the key-padding mask, does what the model outputs for a sentence depend on how much padding its batch gave it?",
  arms: `${PADDING_ARMS.join(" | ")} (Transformer.interventions.noPaddingMask, in training and evaluation), same model and steps otherwise; trained on batches padded to their longest row; each held-out source runs alone and padded to longer lengths`,
  chapter: "docs/concepts/masks.md",
  paper: "§3.2.3",
  run({ quick, seeds, log }) {
    const b = paddingBudget(quick);
    const task = lengthTask("reverse", b.minLen, b.maxLen);
    const probe = makeSplit(task, 1_000_003, b.probe);
    const rows = new RowBuilder();
    const progress = new Progress("padding-mask", PADDING_ARMS.length * seeds.length, log);
    for (const arm of PADDING_ARMS) {
      for (const seed of seeds) {
        const out = trainSeq2Seq({
          task,
          interventions: { noPaddingMask: arm === "no padding mask" },
          seed,
          steps: b.steps,
          batch: b.batch,
        });
        const dep = paddingDependence(out.model, out.tokenizer, probe, b.padTo);
        for (const p of b.padTo) rows.add(arm, padGroup(p), dep[p]);
        progress.next(`${arm}, seed ${seed}`);
      }
    }
    const table = rows.rows();
    const most = padGroup(b.padTo[b.padTo.length - 1]);
    const conclusions = [
      ...b.padTo.map(
        (p) =>
          compareArms(table, EXACT_MATCH, PADDING_ARMS[0], PADDING_ARMS[1], padGroup(p)).sentence,
      ),
      dependenceSentence(table, most),
    ];
    const plots: PlotSpec[] = [
      {
        kind: "bars",
        metric: "exact",
        title: "Held-out exact match, alone and padded",
        yLabel: "exact match",
      },
      {
        kind: "bars",
        metric: "changed",
        title: "Greedy outputs that change with padding",
        yLabel: "outputs changed",
      },
    ];
    return {
      budget: {
        steps: b.steps,
        batch: b.batch,
        model: "d_model 64, 4 heads, 2+2 layers",
        task: `reverse ${b.minLen}–${b.maxLen} (batches padded to their longest row)`,
        probe: `${b.probe} held-out sources`,
        paddedTo: b.padTo.filter((p) => p > 0).join(", "),
      },
      metrics: [EXACT_MATCH, CHANGED, DLOGIT],
      rows: table,
      conclusions,
      plots,
    };
  },
};

/** How far the logits and outputs move with the most padding, in each arm. */
function dependenceSentence(rows: Row[], group: string): string {
  const [masked, unmasked] = PADDING_ARMS;
  const d = (arm: string) => findCell(rows, arm, group, "dLogit");
  const ch = (arm: string) => `${(100 * findCell(rows, arm, group, "changed").mean).toFixed(1)}%`;
  const largest = (arm: string) => formatValue(Math.max(...d(arm).values));
  return `Each source ${group} instead of alone: its logits move by at most ${largest(masked)} with the padding mask (${ch(masked)} of greedy outputs change) and by up to ${largest(unmasked)} without it (${ch(unmasked)} change).`;
}
