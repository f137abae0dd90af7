/**
 * Corpus-decoding workloads of `attn bench --checkpoint CKPT`: greedy
 * (batches of 64) and beam 4 (batches of 16, α 0.6) over the first N
 * sentences of a TSV, as bench/peer_decode.py times the PyTorch peer.
 * Reports sentences/s, target tokens/s and the BLEU of the output.
 */
import { performance } from "node:perf_hooks";
import { readParallelTsv } from "../data/index.js";
import { AttnError, encodeSources, Transformer, translateIdsAll } from "../index.js";
import { corpusBleu } from "../train/index.js";
import { loadRun } from "./load.js";

export interface CorpusBenchOpts {
  checkpoint: string;
  data: string;
  sentences: number;
  modes: string[];
}

export function runCorpusBench(o: CorpusBenchOpts): Record<string, unknown>[] {
  const run = loadRun(o.checkpoint);
  if (!(run.model instanceof Transformer))
    throw new AttnError(`${run.dir} is not an encoder-decoder checkpoint`);
  const model = run.model;
  const pairs = readParallelTsv(o.data, {
    srcColumn: "es",
    tgtColumn: "en",
    columns: ["ref", "es", "en"],
  }).pairs.slice(0, o.sentences);
  const rows: Record<string, unknown>[] = [];
  for (const mode of o.modes) {
    const beam = mode === "greedy" ? 1 : Number(mode.replace(/^beam/, ""));
    if (!(beam >= 1)) throw new AttnError(`bench: unknown decoding mode "${mode}"`);
    // Timed from text to text, as the peer's translate(): tokenizing, decoding, detokenizing.
    const t0 = performance.now();
    const ids = encodeSources(
      model,
      run.tokenizer,
      pairs.map((p) => p.src),
    );
    // The peer's beam rule (stop at k closed), so both sides decode the same hypotheses.
    const out = translateIdsAll(model, ids, {
      beam,
      batchSize: beam === 1 ? 64 : 16,
      beamStop: "k-closed",
    });
    const hyps = out.map((t) => run.tokenizer.decode(t ?? []));
    const s = (performance.now() - t0) / 1000;
    const tokens = out.reduce((n, t) => n + (t?.length ?? 0) + 1, 0);
    rows.push({
      config: `corpus-${mode}`,
      sentences: pairs.length,
      seconds: s,
      sentences_per_s: pairs.length / s,
      target_tokens_per_s: tokens / s,
      bleu: corpusBleu(
        hyps,
        pairs.map((p) => p.tgt),
      ).score,
    });
  }
  return rows;
}
