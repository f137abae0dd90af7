/** `attn experiment NAME`: train small models that differ in one thing, print the table, write results.json and plots. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { Command } from "commander";
import {
  DEFAULT_SEEDS,
  EXPERIMENTS,
  experimentNames,
  formatTable,
  getExperiment,
  plotToSvg,
  runExperiment,
} from "../experiments/index.js";
import { AttnError } from "../index.js";
import { makeDirectories, writeFileAtomic } from "../io/index.js";
import { intFlag } from "./options.js";

/** The commit of the working tree (null outside a git checkout); "+dirty" when it has changes. */
export function gitCommit(): string | null {
  try {
    const opts = {
      stdio: ["ignore", "pipe", "ignore"] as ("ignore" | "pipe")[],
      encoding: "utf8" as const,
    };
    const head = execFileSync("git", ["rev-parse", "HEAD"], opts).trim();
    const dirty = execFileSync(
      "git",
      ["status", "--porcelain", "--untracked-files=no"],
      opts,
    ).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return null;
  }
}

function listText(): string {
  return EXPERIMENTS.map(
    (e) =>
      `${e.name.padEnd(20)}${e.title} (${e.paper})\n${" ".repeat(20)}${e.question}\n${" ".repeat(20)}arms: ${e.arms}\n${" ".repeat(20)}chapter: ${e.chapter}`,
  ).join("\n\n");
}

function seedList(v: string): number[] {
  const parts = v.split(",").map((s) => s.trim());
  const seeds = parts.map((s) => Number(s));
  if (
    parts.some((s) => !/^\d+$/.test(s)) ||
    seeds.length < 3 ||
    new Set(seeds).size !== seeds.length
  )
    throw new AttnError(
      `--seeds must list at least 3 different non-negative integers, e.g. 1,2,3; got "${v}"`,
    );
  return seeds;
}

export function registerExperiment(program: Command): void {
  program
    .command("experiment")
    .argument("[name]", `which experiment (${experimentNames().join(", ")})`)
    .description(
      "train small models that differ in one thing and report what changed (mean ± sd over seeds)",
    )
    .option("--list", "describe every experiment")
    .option("--quick", "the short version (about 2 minutes on 2 cores)")
    .option("--seeds <list>", "comma-separated seeds, at least 3", seedList)
    .option("--runs <n>", "how many seeds (1..N) instead of --seeds", intFlag("runs", 3, 50))
    .option(
      "--out <dir>",
      "where results.json, table.txt and the plots go (default runs/experiments/NAME)",
    )
    .option("--json", "print results.json instead of the table")
    .action(async (name: string | undefined, opts) => {
      if (opts.list) {
        process.stdout.write(`${listText()}\n`);
        return;
      }
      if (!name) throw new AttnError("attn experiment: name an experiment, or --list to see them");
      const def = getExperiment(name);
      if (opts.seeds && opts.runs)
        throw new AttnError("attn experiment: give --seeds or --runs, not both");
      const seeds: number[] =
        opts.seeds ??
        (opts.runs ? Array.from({ length: opts.runs }, (_, i) => i + 1) : DEFAULT_SEEDS);
      const out: string =
        opts.out ?? join("runs", "experiments", `${name}${opts.quick ? "-quick" : ""}`);
      makeDirectories(out, "--out");
      const result = await runExperiment(def, {
        quick: Boolean(opts.quick),
        seeds,
        commit: gitCommit(),
        log: (line) => process.stderr.write(`${line}\n`),
      });
      const table = formatTable(result);
      const write = (file: string, text: string) =>
        writeFileAtomic(file, new TextEncoder().encode(text));
      write(join(out, "results.json"), `${JSON.stringify(result, null, 1)}\n`);
      write(join(out, "table.txt"), `${table}\n\n${result.conclusions.join("\n")}\n`);
      const plots: string[] = [];
      for (const [i, p] of result.plots.entries()) {
        const file = join(out, `plot-${i + 1}-${p.metric}.svg`);
        write(file, await plotToSvg(result, p));
        plots.push(file);
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return;
      }
      const lines = [
        `${result.title}`,
        `${result.question}`,
        `seeds ${seeds.join(", ")} · ${Object.entries(result.budget)
          .map(([k, v]) => `${k} ${v}`)
          .join(" · ")} · backend ${result.backend} · ${(result.wallMs / 1000).toFixed(0)} s`,
        "",
        table,
        "",
        ...result.conclusions,
        "",
        `wrote ${join(out, "results.json")}, ${join(out, "table.txt")}${plots.length ? `, ${plots.join(", ")}` : ""}`,
        `explained in ${def.chapter}`,
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
