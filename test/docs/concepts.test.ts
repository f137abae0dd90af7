/**
 * docs/concepts/: every chapter has its sections, every `src/file.ts:Symbol`
 * it names exists, its figures exist and are current, its measured tables are
 * what scripts/concepts.ts generates from docs/concepts/results/, and every
 * registered experiment is linked by exactly the chapter its `chapter` names.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { FIGURES, FIGURES_DIR } from "../../scripts/concept-figures.js";
import {
  CHAPTER_FILES,
  CONCEPTS_DIR,
  NOT_YET_RUN,
  REGION,
  RESULTS_DIR,
  experimentsIn,
  figureProblems,
  staleChapters,
  updateChapter,
} from "../../scripts/concepts.js";
import { EXPERIMENTS } from "../../src/experiments/index.js";
import { CHAPTER_IDS } from "../../web/src/chapters/guide.js";

/**
 * The experiments whose chapter may still say "Not yet run". Remove a name
 * once `attn experiment NAME --out docs/concepts/results/NAME` has been run
 * (the test then insists on it); any other name without results fails.
 */
const NOT_YET_RUN_ALLOWED: readonly string[] = [];

const SECTIONS = [
  "## In the paper",
  "## The equation",
  "## Where it is computed",
  "## Figure",
  "## Measured",
  "## Try it in the explorer",
  "## Run the experiment",
];

const read = (f: string) => fs.readFileSync(path.join(CONCEPTS_DIR, f), "utf8");
const chapters = CHAPTER_FILES.map((file) => ({ file, text: read(file) }));

/** The text of a `## heading` section, up to the next one. */
function section(text: string, heading: string): string {
  const start = text.indexOf(`${heading}\n`);
  if (start < 0) return "";
  const next = text.indexOf("\n## ", start + heading.length);
  return text.slice(start, next < 0 ? undefined : next);
}

/** Where `name` is declared at the top level of a file, or -1. */
function declaration(text: string, name: string): number {
  const re = new RegExp(
    `^(?:export\\s+)?(?:default\\s+)?(?:declare\\s+)?(?:abstract\\s+)?(?:async\\s+)?(?:function\\*?|class|const|let|var|interface|type|enum)\\s+${name}\\b`,
    "m",
  );
  return text.search(re);
}

/** Whether the class/interface declared at `from` has a method, getter or field `member`. */
function hasMember(text: string, from: number, member: string): boolean {
  const rest = text.slice(from + 1);
  const end = rest.search(/^(?:export\s+)?(?:abstract\s+)?(?:class|interface|function)\s/m);
  const body = end < 0 ? rest : rest.slice(0, end);
  const mods =
    "(?:(?:public|private|protected|static|readonly|async|override|abstract|get|set)\\s+)*";
  return new RegExp(`^\\s+${mods}${member}\\s*[(<]|^\\s+${mods}${member}[?!]?\\s*[:=]`, "m").test(
    body,
  );
}

describe("docs/concepts chapters", () => {
  it("the index links every chapter, in reading order", () => {
    const index = read("README.md");
    const links = [...index.matchAll(/\]\(([\w-]+\.md)\)/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(links)], [...CHAPTER_FILES]);
  });

  for (const { file, text } of chapters) {
    it(`${file} has every section, a quote with §, an equation, code, a figure and an experiment`, () => {
      for (const h of SECTIONS) assert.ok(text.includes(`\n${h}\n`), `${file}: no "${h}" section`);
      assert.match(
        section(text, "## In the paper"),
        /^> .+\n(?:>.*\n)*> — §\d/m,
        `${file}: no quote with its §`,
      );
      assert.match(
        section(text, "## The equation"),
        /```\w*\n[\s\S]+?\n```/,
        `${file}: no equation block`,
      );
      const refs = [
        ...section(text, "## Where it is computed").matchAll(/`(?:web\/)?src\/[^`]+:[\w.]+`/g),
      ];
      assert.ok(refs.length >= 2, `${file}: "Where it is computed" names fewer than 2 path:Symbol`);
      const figures = [
        ...section(text, "## Figure").matchAll(/!\[[^\]]+\]\(figures\/([\w-]+\.svg)\)/g),
      ];
      assert.ok(figures.length >= 1, `${file}: no figure`);
      for (const [, f] of figures)
        assert.ok(fs.existsSync(path.join(FIGURES_DIR, f)), `${file}: figures/${f} does not exist`);
      const names = experimentsIn(section(text, "## Measured"));
      assert.ok(names.length >= 1, `${file}: no <!-- experiment: NAME --> marker under "Measured"`);
      const explorer = section(text, "## Try it in the explorer");
      assert.match(
        explorer,
        /attn explore/,
        `${file}: the explorer section does not say attn explore`,
      );
      for (const name of names)
        assert.match(
          section(text, "## Run the experiment"),
          new RegExp(`attn experiment ${name} --quick`),
          `${file}: no command for ${name}`,
        );
    });
  }

  it("every `src/file.ts:Symbol` names a file that declares it", () => {
    let checked = 0;
    for (const { file, text } of [...chapters, { file: "README.md", text: read("README.md") }]) {
      for (const [, src, symbol] of text.matchAll(/`((?:web\/)?src\/[\w/.-]+\.tsx?):([\w.]+)`/g)) {
        assert.ok(fs.existsSync(src), `${file}: ${src} does not exist`);
        const code = fs.readFileSync(src, "utf8");
        const [owner, member] = symbol.split(".");
        const at = declaration(code, owner);
        assert.ok(at >= 0, `${file}: ${src} declares no ${owner}`);
        if (member)
          assert.ok(
            hasMember(code, at, member),
            `${file}: ${owner} in ${src} has no member ${member}`,
          );
        checked++;
      }
    }
    assert.ok(checked >= 40, `only ${checked} code references`);
  });

  it("explorer links open real chapters and shipped checkpoints", () => {
    const manifest = JSON.parse(fs.readFileSync("web/public/checkpoints/manifest.json", "utf8"));
    const shipped = new Set(manifest.checkpoints.map((c: { name: string }) => c.name));
    for (const { file, text } of chapters) {
      for (const [, ch] of text.matchAll(/[?&]ch=([\w-]+)/g))
        assert.ok(
          (CHAPTER_IDS as readonly string[]).includes(ch),
          `${file}: explorer chapter "${ch}" does not exist`,
        );
      for (const [, ckpt] of text.matchAll(/[?&]ckpt=([\w-]+)/g))
        assert.ok(shipped.has(ckpt), `${file}: no shipped checkpoint "${ckpt}"`);
    }
  });
});

describe("generated parts of docs/concepts", () => {
  it("every measured table is what scripts/concepts.ts generates (--check)", () => {
    assert.deepEqual(staleChapters(), [], "run `node --import tsx scripts/concepts.ts`");
  });

  it("the check notices a hand-edited table", () => {
    const { text } = chapters.find((c) => experimentsIn(c.text).length)!;
    const edited = text.replace(REGION, (m) =>
      m.replace(/\n<!-- \/experiment -->$/, "\nedited by hand\n<!-- /experiment -->"),
    );
    assert.notEqual(edited, text);
    assert.equal(updateChapter(edited), text);
  });

  it("only experiments on the allow-list have no results yet", () => {
    for (const { file, text } of chapters) {
      for (const [, name, body] of text.matchAll(REGION)) {
        const has = fs.existsSync(path.join(RESULTS_DIR, name, "results.json"));
        if (!has)
          assert.ok(
            NOT_YET_RUN_ALLOWED.includes(name),
            `${file}: no docs/concepts/results/${name}/results.json (run attn experiment ${name} --out docs/concepts/results/${name})`,
          );
        else
          assert.ok(
            !NOT_YET_RUN_ALLOWED.includes(name),
            `${name} has results now: remove it from NOT_YET_RUN_ALLOWED`,
          );
        assert.equal(
          body.startsWith(NOT_YET_RUN),
          !has,
          `${file}: the ${name} region does not match its results`,
        );
      }
    }
  });

  it("every figure is shown by its chapter", () => {
    for (const f of FIGURES)
      assert.ok(
        read(f.chapter).includes(`](figures/${f.file})`),
        `${f.chapter} does not show figures/${f.file}`,
      );
  });

  it("every figure file is what scripts/concept-figures.ts renders now", {
    // The figures are computed on the js backend whatever the suite runs on: check them once.
    skip: process.env.ATTN_BACKEND ? "checked in the default-backend run" : false,
  }, async () => {
    assert.deepEqual(
      await figureProblems(false),
      [],
      "run `node --import tsx scripts/concepts.ts`",
    );
  });
});

describe("experiments and their chapters", () => {
  const linked = (name: string) =>
    chapters.filter((c) => experimentsIn(c.text).includes(name)).map((c) => c.file);

  for (const e of EXPERIMENTS) {
    it(`${e.name} is linked by exactly its chapter, ${e.chapter}`, () => {
      const file = path.relative(CONCEPTS_DIR, e.chapter);
      assert.ok(
        (CHAPTER_FILES as readonly string[]).includes(file),
        `${e.name}: chapter ${e.chapter} is not one of docs/concepts/`,
      );
      assert.deepEqual(linked(e.name), [file]);
    });
  }

  it("every marker names a registered experiment or one on the allow-list", () => {
    const registered = new Set(EXPERIMENTS.map((e) => e.name));
    for (const { file, text } of chapters)
      for (const name of experimentsIn(text))
        assert.ok(
          registered.has(name) || NOT_YET_RUN_ALLOWED.includes(name),
          `${file}: unknown experiment ${name}`,
        );
  });
});
