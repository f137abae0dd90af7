/**
 * decoding: greedy vs beam search on the same trained models. Beam search
 * keeps the k most probable prefixes (§6.1: "beam search with a beam size of
 * 4 and length penalty α = 0.6"); does finding more probable outputs give
 * more correct ones?
 */
import { getTask, makeSplit } from "../data/tasks.js";
import { decodeBatch } from "../generate/decode.js";
import { sourceRows } from "../generate/seq2seq.js";
import { fromArray, noGrad, tidy } from "../tensor/index.js";
import { type ExperimentDef, Progress } from "./experiment.js";
import { encodePairs, trainSeq2Seq } from "./harness.js";
import {
  type Cell,
  type MetricSpec,
  RowBuilder,
  compareArms,
  findCell,
  formatCell,
  EXACT_MATCH,
} from "./result.js";

export const BEAM_WIDTHS = [1, 2, 4, 8];
const armName = (k: number) => (k === 1 ? "greedy (k=1)" : `beam k=${k}`);

const LOGP: MetricSpec = { key: "logProb", label: "log P(output)", better: "higher" };
const GAIN: MetricSpec = {
  key: "gain",
  label: "gain vs greedy (paired)",
  better: "higher",
  format: "percent",
};
const MS: MetricSpec = { key: "msPerSentence", label: "ms / sentence", better: "lower" };

export function decodingBudget(quick: boolean) {
  // Short training on purpose: a perfect model leaves search nothing to fix.
  return quick
    ? { steps: 300, batch: 64, evalSize: 200 }
    : { steps: 400, batch: 64, evalSize: 1000 };
}

export const decoding: ExperimentDef = {
  name: "decoding",
  title: "Decoding: greedy vs beam search",
  question:
    "Beam search finds outputs the model itself rates as more probable than greedy's; are they also more often correct?",
  arms: `beam width ${BEAM_WIDTHS.join(", ")} (1 = greedy) with the paper's length penalty α = 0.6, decoding the same trained dates models`,
  chapter: "docs/concepts/decoding.md",
  paper: "§6.1",
  run({ quick, seeds, log }) {
    const b = decodingBudget(quick);
    const task = getTask("dates");
    const heldOut = makeSplit(task, 1_000_003, b.evalSize);
    const rows = new RowBuilder();
    const progress = new Progress("decoding", seeds.length, log);
    for (const seed of seeds) {
      const { model, tokenizer } = trainSeq2Seq({ task, seed, steps: b.steps, batch: b.batch });
      const batch = encodePairs(tokenizer, heldOut);
      const src = fromArray(batch.src, [batch.size, batch.srcLen], "int32");
      const rowsIds = noGrad(() => tidy(() => sourceRows(model, src)));
      src.dispose();
      let greedyExact = 0;
      for (const k of BEAM_WIDTHS) {
        const start = performance.now();
        // search "beam" even for k = 1: the same loop, with the log-probabilities scored.
        const hyps = noGrad(() =>
          decodeBatch(model, rowsIds, { beam: k, search: "beam", maxLen: task.maxTgtLen + 2 }),
        );
        const ms = performance.now() - start;
        let exact = 0;
        let logP = 0;
        hyps.forEach((h, i) => {
          if (tokenizer.decode(h[0].tokens) === heldOut[i].tgt) exact++;
          logP += h[0].logProb;
        });
        if (k === 1) greedyExact = exact / heldOut.length;
        rows.add(armName(k), "", {
          exact: exact / heldOut.length,
          // The same model decoded two ways: the per-seed difference removes the models' spread.
          gain: exact / heldOut.length - greedyExact,
          logProb: logP / heldOut.length,
          msPerSentence: ms / heldOut.length,
        });
      }
      progress.next(
        `seed ${seed}: trained ${b.steps} steps, decoded ${heldOut.length} dates ${BEAM_WIDTHS.length} ways`,
      );
    }
    const table = rows.rows();
    const greedy = armName(1);
    const beam4 = armName(4);
    const gain =
      findCell(table, beam4, "", "logProb").mean - findCell(table, greedy, "", "logProb").mean;
    return {
      budget: { ...b, model: "d_model 64, 4 heads, 2+2 layers", task: "dates", alpha: 0.6 },
      metrics: [EXACT_MATCH, GAIN, LOGP, MS],
      rows: table,
      conclusions: [
        compareArms(table, EXACT_MATCH, beam4, greedy).sentence,
        pairedSentence(findCell(table, beam4, "", "gain")),
        `Beam k=4 raises the mean log-probability of the chosen output by ${gain.toFixed(3)} nats over greedy.`,
        compareArms(table, MS, beam4, greedy).sentence,
      ],
      plots: [{ kind: "bars", metric: "exact", title: "Held-out exact match by beam width" }],
    };
  },
};

/** The paired gain of beam 4 over greedy (same models): an effect only when it is beyond its spread. */
function pairedSentence(gain: Cell): string {
  const v = formatCell(gain, "percent");
  if (Math.abs(gain.mean) <= gain.sd)
    return `Paired on the same models, beam k=4 changes exact match by ${v}: within the spread, no effect claimed.`;
  return `Paired on the same models, beam k=4 ${gain.mean > 0 ? "gains" : "loses"} ${v} exact match against greedy.`;
}
