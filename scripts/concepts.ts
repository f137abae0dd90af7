/**
 * Fills docs/concepts/: the measured table of each experiment, generated
 * between `<!-- experiment: NAME -->` and `<!-- /experiment -->` from
 * docs/concepts/results/NAME/results.json (which `attn experiment NAME --out
 * docs/concepts/results/NAME` writes), and the figures in
 * docs/concepts/figures/ (scripts/concept-figures.ts).
 *
 *   node --import tsx scripts/concepts.ts            rewrite what is out of date
 *   node --import tsx scripts/concepts.ts --check    exit 1, naming each chapter or figure out of date
 *   add --tables to leave the figures out (they take a few seconds to render)
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type ExperimentResult, formatMarkdownTable } from "../src/experiments/result.js";

export const CONCEPTS_DIR = "docs/concepts";
export const RESULTS_DIR = path.join(CONCEPTS_DIR, "results");

/** The chapters, in reading order (README.md is the index). */
export const CHAPTER_FILES = [
  "embeddings.md",
  "positional-encoding.md",
  "attention.md",
  "masks.md",
  "multi-head.md",
  "residual-layer-norm.md",
  "feed-forward.md",
  "output-label-smoothing.md",
  "decoding.md",
  "rnn-vs-transformer.md",
] as const;

/** A generated region: its experiment's name and what lies between the markers. */
export const REGION = /<!-- experiment: ([\w-]+) -->\n([\s\S]*?)<!-- \/experiment -->/g;

/** The line a region holds while its experiment has no results. */
export const NOT_YET_RUN = "Not yet run:";

/** The experiments a chapter's text names, in order. */
export function experimentsIn(text: string): string[] {
  return [...text.matchAll(REGION)].map((m) => m[1]);
}

function readResult(file: string): ExperimentResult {
  const r = JSON.parse(fs.readFileSync(file, "utf8")) as ExperimentResult;
  if (r.format !== "attention-lab-experiment" || !Array.isArray(r.rows))
    throw new Error(`${file} is not an attn experiment result`);
  return r;
}

function wall(ms: number): string {
  const s = ms / 1000;
  return s < 120 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`;
}

/** The Markdown of one experiment's region, from its results directory (or the not-yet-run line). */
export function experimentSection(name: string, resultsDir = RESULTS_DIR): string {
  const dir = path.join(resultsDir, name);
  const file = path.join(dir, "results.json");
  const rel = `results/${name}`;
  if (!fs.existsSync(file))
    return `${NOT_YET_RUN} \`attn experiment ${name}\`. Its full run, \`attn experiment ${name} --out docs/concepts/results/${name}\`, writes the results this section is generated from (then \`node --import tsx scripts/concepts.ts\`).\n`;
  const r = readResult(file);
  if (r.experiment !== name)
    throw new Error(`${file} holds experiment "${r.experiment}", not "${name}"`);
  const plots = r.plots
    .map((p, i) => ({ p, file: `plot-${i + 1}-${p.metric}.svg` }))
    .filter((x) => fs.existsSync(path.join(dir, x.file)))
    .map((x) => `![${x.p.title}](${rel}/${x.file})`);
  const commit = r.commit
    ? `\`${r.commit.slice(0, 10)}${r.commit.endsWith("+dirty") ? "+dirty" : ""}\``
    : "unknown";
  const budget = Object.entries(r.budget)
    .map(([k, v]) => `${k} ${v}`)
    .join(" · ");
  const provenance =
    `Measured by \`attn experiment ${name}${r.quick ? " --quick" : ""}\` (${r.quick ? "quick" : "full"} run) at commit ${commit}, ` +
    `backend ${r.backend}, seeds ${r.seeds.join(", ")}, on ${r.date.slice(0, 10)} in ${wall(r.wallMs)}. Budget: ${budget}. ` +
    `Generated from [${rel}/results.json](${rel}/results.json) by \`scripts/concepts.ts\`.`;
  return [
    `<!-- generated from ${rel}/results.json by scripts/concepts.ts: edit the experiment, not this text -->`,
    "",
    `**${r.title}.** ${r.question}`,
    "",
    "Mean ± sd over seeds:",
    "",
    formatMarkdownTable(r),
    "",
    ...r.conclusions.map((c) => `- ${c}`),
    "",
    ...(plots.length ? [plots.join("\n"), ""] : []),
    `<sub>${provenance}</sub>`,
    "",
  ].join("\n");
}

/** A chapter's text with every region regenerated. */
export function updateChapter(text: string, resultsDir = RESULTS_DIR): string {
  return text.replace(
    REGION,
    (_, name: string) =>
      `<!-- experiment: ${name} -->\n${experimentSection(name, resultsDir)}<!-- /experiment -->`,
  );
}

/** Chapters whose regions differ from what the results give: "docs/concepts/X.md". */
export function staleChapters(dir = CONCEPTS_DIR, resultsDir = RESULTS_DIR): string[] {
  return ["README.md", ...CHAPTER_FILES]
    .map((f) => path.join(dir, f))
    .filter((file) => {
      const text = fs.readFileSync(file, "utf8");
      return updateChapter(text, resultsDir) !== text;
    });
}

/**
 * Figures whose file is missing or differs from a fresh rendering (and files
 * no figure makes); with `write`, fixes them. Renders on the reference backend.
 */
export async function figureProblems(write: boolean): Promise<string[]> {
  const [{ FIGURES_DIR, renderFigures }, { renderSvg }] = await Promise.all([
    import("./concept-figures.js"),
    import("./concept-svg.js"),
  ]);
  const figures = await renderFigures(renderSvg);
  const problems: string[] = [];
  fs.mkdirSync(FIGURES_DIR, { recursive: true });
  for (const [name, svg] of figures) {
    const file = path.join(FIGURES_DIR, name);
    const old = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
    if (old === svg) continue;
    problems.push(`${file} ${old === null ? "is missing" : "is out of date"}`);
    if (write) fs.writeFileSync(file, svg);
  }
  for (const name of fs.readdirSync(FIGURES_DIR)) {
    if (figures.has(name)) continue;
    problems.push(`${path.join(FIGURES_DIR, name)} is made by no figure`);
    if (write) fs.rmSync(path.join(FIGURES_DIR, name));
  }
  return problems;
}

async function main(argv: string[]): Promise<number> {
  const check = argv.includes("--check");
  const tablesOnly = argv.includes("--tables");
  const start = performance.now();
  const problems = staleChapters().map((f) => `${f} is out of date`);
  if (!check) {
    for (const f of ["README.md", ...CHAPTER_FILES]) {
      const file = path.join(CONCEPTS_DIR, f);
      const text = fs.readFileSync(file, "utf8");
      const next = updateChapter(text);
      if (next !== text) fs.writeFileSync(file, next);
    }
  }
  if (!tablesOnly) problems.push(...(await figureProblems(!check)));
  const secs = ((performance.now() - start) / 1000).toFixed(1);
  if (check && problems.length) {
    process.stderr.write(
      `${problems.join("\n")}\nrun \`node --import tsx scripts/concepts.ts\` to regenerate (${secs} s)\n`,
    );
    return 1;
  }
  const what = check
    ? "up to date"
    : problems.length
      ? `updated:\n${problems.join("\n")}`
      : "already up to date";
  process.stdout.write(
    `docs/concepts ${tablesOnly ? "tables" : "tables and figures"} ${what} (${secs} s)\n`,
  );
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
