/** `attn eval`, `attn translate` and `attn generate`: using a trained checkpoint. */
import type { Command } from "commander";
import { AttnError, generateTokens, GPT } from "../index.js";
import { loadRun } from "./load.js";
import { floatFlag, intFlag } from "./options.js";
import { type EvalFlags, type TranslateFlags, runEval, runTranslate } from "./use-translate.js";

/** --beam, --length-penalty, --max-len: how translate and eval decode. */
function decodeFlags(cmd: Command): void {
  cmd
    .option("--beam <k>", "beam width (1 = greedy)", intFlag("beam", 1, 64), 1)
    .option(
      "--length-penalty <alpha>",
      "GNMT length penalty alpha of beam search",
      floatFlag("length-penalty", 0, 10),
      0.6,
    )
    .option(
      "--max-len <n>",
      "most output tokens (default: source length + 50)",
      intFlag("max-len", 1),
    );
}

export function registerUse(program: Command): void {
  program
    .command("eval")
    .description(
      "held-out quality of a checkpoint: exact match (tasks), BLEU and chrF (corpora), perplexity (text)",
    )
    .requiredOption(
      "--checkpoint <dir>",
      "a run directory (its best/ or last/) or a checkpoint directory",
    )
    .option("--data <file.tsv>", "score this parallel TSV instead of the run's held-out set")
    .option("--columns <names>", "names of a headerless TSV's columns, comma-separated")
    .option("--src <column>", "source column of --data (name or 0-based index)", "0")
    .option("--tgt <column>", "target column of --data (name or 0-based index)", "1")
    .option("--hyps <file>", "write the hypotheses there, one per line, in input order")
    .option("--limit <n>", "evaluate on the first N examples", intFlag("limit"))
    .option("--json", "print one JSON object")
    .action((o: EvalFlags) => runEval(o));
  decodeFlags(program.commands[program.commands.length - 1]);

  program
    .command("translate")
    .description(
      "translate text with an encoder-decoder checkpoint (arguments, or one input per line of stdin or --input)",
    )
    .argument("[text...]", "inputs to translate (default: read lines from stdin)")
    .requiredOption("--checkpoint <dir>", "a run directory or a checkpoint directory")
    .option("--input <file>", "read the inputs from this file, one per line")
    .option(
      "--batch-size <n>",
      "sentences per batch (default 64, or 64 / beam)",
      intFlag("batch-size"),
    )
    .action((texts: string[], o: TranslateFlags) => runTranslate(texts, o));
  decodeFlags(program.commands[program.commands.length - 1]);

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
        // Any length: past the context the model reads its last maxLen tokens (generateTokens).
        process.stdout.write(o.prompt);
        const ids: number[] = [];
        let shown = "";
        for (const id of generateTokens(run.model, prompt, {
          maxNewTokens: o.maxTokens,
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
export function checkKnown(ids: number[], text: string): void {
  if (ids.includes(3)) {
    process.stderr.write(
      `attn: warning: "${text.length > 40 ? `${text.slice(0, 40)}...` : text}" has characters the tokenizer has never seen (read as <unk>)\n`,
    );
  }
}
