/** `attn average`: the paper's checkpoint averaging ("averaging the last 5 checkpoints", §6.1) of existing checkpoints. */
import path from "node:path";
import type { Command } from "commander";
import { AttnError } from "../index.js";
import { averageCheckpoints, saveCheckpoint } from "../train/index.js";
import { loadRun, resolveCheckpoint } from "./load.js";

export function registerAverage(program: Command): void {
  program
    .command("average")
    .description("average the weights of several checkpoints of one run into a new checkpoint")
    .argument("<checkpoints...>", "checkpoint directories (e.g. runs/x/step-*), at least two")
    .requiredOption("--out <dir>", "where the averaged checkpoint goes")
    .action((dirs: string[], o: { out: string }) => {
      if (dirs.length < 2) throw new AttnError("average: give at least two checkpoints");
      const resolved = dirs.map(resolveCheckpoint);
      const first = loadRun(resolved[0]);
      const model = JSON.stringify(first.config.model);
      const tokenizer = JSON.stringify(first.checkpoint.tokenizer);
      for (const d of resolved.slice(1)) {
        const r = loadRun(d);
        if (JSON.stringify(r.config.model) !== model)
          throw new AttnError(`average: ${d} has another model configuration than ${resolved[0]}`);
        if (JSON.stringify(r.checkpoint.tokenizer) !== tokenizer)
          throw new AttnError(`average: ${d} has another tokenizer than ${resolved[0]}`);
      }
      if (resolved.some((d) => path.resolve(d) === path.resolve(o.out)))
        throw new AttnError(`average: --out ${o.out} is one of the inputs`);
      first.model.loadStateDict(averageCheckpoints(resolved));
      saveCheckpoint(o.out, {
        config: first.config,
        model: first.model,
        tokenizer: first.checkpoint.tokenizer,
      });
      process.stdout.write(`averaged ${resolved.length} checkpoints into ${o.out}\n`);
    });
}
