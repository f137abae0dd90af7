/** `attn translate` (streamed in batches) and `attn eval` (a run's held-out set, or any TSV). */
import { createReadStream, existsSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { AttnError, defaultBatchSize, GPT, Transformer, translateAll } from "../index.js";
import { readParallelTsv, readText } from "../data/index.js";
import {
  corpusBleu,
  corpusChrf,
  evaluateRun,
  exactMatch,
  languageModelMetrics,
  loadData,
} from "../train/index.js";
import { loadRun } from "./load.js";
import { column } from "./options.js";

interface DecodeFlags {
  beam: number;
  lengthPenalty: number;
  maxLen?: number;
}

export interface EvalFlags extends DecodeFlags {
  checkpoint: string;
  data?: string;
  columns?: string;
  src: string;
  tgt: string;
  hyps?: string;
  limit?: number;
  json?: boolean;
}

export interface TranslateFlags extends DecodeFlags {
  checkpoint: string;
  input?: string;
  batchSize?: number;
}

function seq2seq(dir: string, model: unknown): Transformer {
  if (!(model instanceof Transformer))
    throw new AttnError(`${dir} is a GPT language model: use attn generate`);
  return model;
}

export function runEval(o: EvalFlags): void {
  const run = loadRun(o.checkpoint);
  const decode = { beam: o.beam, alpha: o.lengthPenalty, maxLen: o.maxLen };
  let out: Record<string, unknown>;
  if (o.data && run.model instanceof GPT) {
    // A language model is scored on a plain text file: perplexity of next-token prediction.
    if (o.hyps) throw new AttnError("--hyps is for translation (a GPT has no hypotheses)");
    const text = readText(o.data);
    out = {
      checkpoint: run.dir,
      data: o.data,
      ...languageModelMetrics(run.model, run.tokenizer, text, o.limit ?? 100),
    };
  } else if (o.data) {
    if (!existsSync(o.data)) throw new AttnError(`--data: file not found: ${o.data}`);
    const model = seq2seq(run.dir, run.model);
    const { pairs: all } = readParallelTsv(o.data, {
      srcColumn: column(o.src),
      tgtColumn: column(o.tgt),
      columns: o.columns?.split(",").map((s) => s.trim()),
    });
    const pairs = all.slice(0, o.limit ?? all.length);
    const hyps = translateAll(
      model,
      run.tokenizer,
      pairs.map((p) => p.src),
      decode,
    );
    const refs = pairs.map((p) => p.tgt);
    if (o.hyps) writeHyps(o.hyps, hyps);
    out = {
      checkpoint: run.dir,
      data: o.data,
      n: pairs.length,
      beam: o.beam,
      bleu: corpusBleu(hyps, refs).score,
      chrf: corpusChrf(hyps, refs).score,
      exact_match: exactMatch(hyps, refs),
    };
  } else {
    if (o.hyps) throw new AttnError("--hyps needs --data (a TSV to translate)");
    const data = loadData(run.config.data, {
      needTrain:
        (run.config.data.kind === "tsv" && !run.config.data.dev) || run.config.data.kind === "text",
    });
    out = {
      checkpoint: run.dir,
      ...evaluateRun(run.config, run.model, run.tokenizer, data, { limit: o.limit, ...decode }),
    };
  }
  if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else for (const [k, v] of Object.entries(out)) process.stdout.write(`${k}: ${v}\n`);
}

function writeHyps(path: string, hyps: string[]): void {
  try {
    writeFileSync(path, hyps.map((h) => `${h}\n`).join(""));
  } catch (e) {
    throw new AttnError(`--hyps: cannot write ${path}: ${(e as Error).message}`);
  }
}

/**
 * Inputs are read line by line and translated in batches: a batch is full,
 * or no more input is waiting (so an interactive line is answered at once).
 * Each batch's outputs are written, in input order, as soon as it is done.
 */
export async function runTranslate(texts: string[], o: TranslateFlags): Promise<void> {
  const run = loadRun(o.checkpoint);
  const model = seq2seq(run.dir, run.model);
  // Downstream closed (e.g. `| head`): what was written stays; stop quietly.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  const bs = o.batchSize ?? defaultBatchSize(o.beam);
  let warned = false;
  let lineNo = 0;
  const translate = (lines: string[]) => {
    const first = lineNo;
    lineNo += lines.length;
    const outs = translateAll(model, run.tokenizer, lines, {
      beam: o.beam,
      alpha: o.lengthPenalty,
      maxLen: o.maxLen,
      batchSize: bs,
      onTruncate: (i, n, kept) => {
        if (warned) return;
        warned = true;
        process.stderr.write(
          `attn: warning: input ${first + i + 1} has ${n} tokens, more than the model's positions allow; kept the first ${kept} (later long inputs are cut without a warning)\n`,
        );
      },
    });
    process.stdout.write(outs.map((t) => `${t}\n`).join(""));
  };
  if (texts.length > 0) {
    translate(texts);
    return;
  }
  if (o.input && !existsSync(o.input)) throw new AttnError(`--input: file not found: ${o.input}`);
  const input = o.input ? createReadStream(o.input) : process.stdin;
  await new Promise<void>((resolve, reject) => {
    const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    let pending: string[] = [];
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      if (pending.length === 0) return;
      const lines = pending;
      pending = [];
      translate(lines);
    };
    input.on("error", (e: Error) => reject(new AttnError(`--input: ${(e as Error).message}`)));
    rl.on("line", (line) => {
      pending.push(line);
      if (pending.length >= bs) {
        try {
          flush();
        } catch (e) {
          rl.close();
          reject(e);
        }
      } else if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          try {
            flush();
          } catch (e) {
            reject(e);
          }
        });
      }
    });
    rl.on("close", () => {
      try {
        flush();
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
}
