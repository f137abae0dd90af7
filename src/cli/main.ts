/** The `attn` command. */
import { Command } from "commander";
import { packageVersion, useBackend } from "../index.js";
import { reportAndExit } from "./errors.js";
import { registerExplore } from "./explore.js";
import { registerInfo } from "./info.js";
import { registerTrain } from "./train.js";
import { registerUse } from "./use.js";
import { registerBench } from "./bench.js";
import { registerAverage } from "./average.js";
import { registerInterop } from "./interop.js";
import { registerExperiment } from "./experiment.js";

export function buildProgram(): Command {
  const program = new Command("attn")
    .description(
      'Attention Lab: the Transformer of "Attention Is All You Need" — read it, train it, run it, see it.',
    )
    .version(packageVersion(), "-v, --version")
    // Commander's own errors (a missing option, an unknown command) as one `attn:` line.
    .configureOutput({
      outputError: (str, write) =>
        write(`attn: ${str.replace(/^error: /, "").trim()} (run attn --help for usage)\n`),
    })
    .exitOverride();
  registerInfo(program);
  registerExplore(program);
  registerTrain(program);
  registerUse(program);
  registerAverage(program);
  registerInterop(program);
  registerBench(program);
  registerExperiment(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    useBackend();
    await buildProgram().parseAsync(argv);
  } catch (e) {
    reportAndExit(e);
  }
}

await main(process.argv);
