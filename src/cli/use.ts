/** `attn eval`, `attn translate` and `attn generate`: using a trained checkpoint. */
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { AttnError } from "../errors.js";
import { generateTokens } from "../generate/lm.js";
import { GPT, Transformer } from "../models/index.js";
import { evaluateRun, loadData, translateAll } from "../train/recipe.js";
import { loadRun } from "./load.js";
import { floatFlag, intFlag } from "./options.js";

export function registerUse(program: Command): void {
  program
    .command("eval")
    .description(
      "held-out quality of a checkpoint: exact match (tasks), BLEU (corpora), perplexity (text)",
    )
    .requiredOption(
      "--checkpoint <dir>",
      "a run directory (its best/ or last/) or a checkpoint directory",
    )
    .option("--beam <k>", "beam width for translation (1 = greedy)", intFlag("beam", 1, 64), 1)
    .option("--limit <n>", "evaluate on the first N held-out examples", intFlag("limit"))
    .option("--json", "print one JSON object")
    .action((o: { checkpoint: string; beam: number; limit?: number; json?: boolean }) => {
      const run = loadRun(o.checkpoint);
      const data = loadData(run.config.data, {
        needTrain:
          (run.config.data.kind === "tsv" && !run.config.data.dev) ||
          run.config.data.kind === "text",
      });
      const metrics = evaluateRun(run.config, run.model, run.tokenizer, data, {
        limit: o.limit,
        beam: o.beam,
      });
      const out = { checkpoint: run.dir, ...metrics };
      if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
      else for (const [k, v] of Object.entries(out)) process.stdout.write(`${k}: ${v}\n`);
    });

  program
    .command("translate")
    .description(
      "translate text with an encoder-decoder checkpoint (arguments, or one input per stdin line)",
    )
    .argument("[text...]", "inputs to translate (default: read lines from stdin)")
    .requiredOption("--checkpoint <dir>", "a run directory or a checkpoint directory")
    .option("--beam <k>", "beam width (1 = greedy)", intFlag("beam", 1, 64), 1)
    .action(async (texts: string[], o: { checkpoint: string; beam: number }) => {
      const run = loadRun(o.checkpoint);
      if (!(run.model instanceof Transformer))
        throw new AttnError(`${run.dir} is a GPT language model: use attn generate`);
      const model = run.model;
      const one = (lines: string[]) => {
        for (const line of lines) {
          const ids = run.tokenizer.encode(line);
          checkKnown(ids, line);
          // The source gets an EOS; the positional table must cover it.
          if (ids.length + 1 > model.config.maxLen) {
            throw new AttnError(
              `input of ${ids.length} tokens is longer than the model allows (maxLen ${model.config.maxLen}, including EOS): "${line.length > 40 ? `${line.slice(0, 40)}...` : line}"`,
            );
          }
        }
        for (const out of translateAll(model, run.tokenizer, lines, { beam: o.beam }))
          process.stdout.write(`${out}\n`);
      };
      if (texts.length > 0) {
        one(texts);
        return;
      }
      const rl = createInterface({ input: process.stdin });
      for await (const line of rl) if (line.trim() !== "") one([line]);
    });

  program
    .command("generate")
    .description("continue a prompt with a GPT checkpoint, streaming tokens as they come")
    .requiredOption("--checkpoint <dir>", "a run directory or a checkpoint directory")
    .requiredOption("--prompt <text>", "the text to continue")
    .option("--max-tokens <n>", "new tokens to generate", intFlag("max-tokens", 1, 100000), 200)
    .option(
      "--temperature <t>",
      "0 = greedy; 1 = the model's distribution",
      floatFlag("temperature", 0, 100),
      1,
    )
    .option(
      "--top-k <k>",
      "sample among the k most likely tokens (0 = all)",
      intFlag("top-k", 0),
      0,
    )
    .option(
      "--top-p <p>",
      "sample among the most likely tokens covering probability p",
      floatFlag("top-p", 0.000001, 1),
      1,
    )
    .option("--seed <n>", "sampling seed", intFlag("seed", 0), 0)
    .action(
      (o: {
        checkpoint: string;
        prompt: string;
        maxTokens: number;
        temperature: number;
        topK: number;
        topP: number;
        seed: number;
      }) => {
        const run = loadRun(o.checkpoint);
        if (!(run.model instanceof GPT))
          throw new AttnError(`${run.dir} is a translation model: use attn translate`);
        const prompt = run.tokenizer.encode(o.prompt);
        if (prompt.length === 0) throw new AttnError("--prompt must not be empty");
        checkKnown(prompt, o.prompt);
        // Keep the prompt within the context; the tail matters most.
        const room = run.model.config.maxLen - Math.min(o.maxTokens, run.model.config.maxLen - 1);
        const ctx = prompt.slice(-Math.max(1, room));
        const maxNew = Math.min(o.maxTokens, run.model.config.maxLen - ctx.length);
        process.stdout.write(o.prompt);
        const ids: number[] = [];
        let shown = "";
        for (const id of generateTokens(run.model, ctx, {
          maxNewTokens: maxNew,
          temperature: o.temperature,
          topK: o.topK,
          topP: o.topP,
          seed: o.seed,
          stop: [run.model.config.eosId],
        })) {
          ids.push(id);
          // Decode the whole continuation so multi-byte characters appear once they are complete.
          const text = run.tokenizer.decode(ids);
          const complete = text.endsWith("\uFFFD")
            ? text.slice(0, text.lastIndexOf("\uFFFD"))
            : text;
          if (complete.length > shown.length) {
            process.stdout.write(complete.slice(shown.length));
            shown = complete;
          }
        }
        process.stdout.write("\n");
      },
    );
}

/** Warns (once per input) about characters the tokenizer has never seen. */
function checkKnown(ids: number[], text: string): void {
  if (ids.includes(3)) {
    process.stderr.write(
      `attn: warning: "${text.length > 40 ? `${text.slice(0, 40)}...` : text}" has characters the tokenizer has never seen (read as <unk>)\n`,
    );
  }
}
