/**
 * The explorer's chapters come from one typed list (web/src/chapters/guide.ts):
 * the views are a Record over its ids (a missing view does not compile), the
 * URL is checked against it, and here its texts must match it one to one,
 * in order, with every code reference naming a file and function that exist,
 * and every chapter's experiment link naming an experiment of the registry.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { EXPERIMENTS } from "../../src/experiments/index.js";
import {
  CHAPTER_EXPERIMENTS,
  CHAPTERS,
  CHAPTER_IDS,
  isChapterId,
  isPageId,
} from "../../web/src/chapters/guide.js";

test("one chapter text per chapter id, in walkthrough order", () => {
  assert.deepEqual(
    CHAPTERS.map((c) => c.id),
    [...CHAPTER_IDS],
  );
  assert.ok(isChapterId("attention"));
  assert.ok(!isChapterId("atention"));
});

test("every code reference names an existing file and function", () => {
  for (const c of CHAPTERS) {
    for (const ref of [...c.code, ...(c.gpt?.code ?? [])]) {
      assert.ok(fs.existsSync(ref.file), `${c.id}: ${ref.file} does not exist`);
      const text = fs.readFileSync(ref.file, "utf8");
      // "A.f / g", "A.f (pre-LN), B.g (GPT's block)": the symbols, without the notes in parentheses.
      for (const fn of ref.fn
        .replace(/\([^)]*\)/g, "")
        .split(/[,/]/)
        .map((x) => x.trim())) {
        const last = fn.split(".").pop()!;
        assert.match(text, new RegExp(`\\b${last}\\b`), `${c.id}: ${fn} is not in ${ref.file}`);
      }
    }
  }
});

test("the Experiments view is a page id, and every chapter's experiment is in the registry", () => {
  assert.ok(isPageId("experiments"));
  assert.ok(isPageId("attention"));
  assert.ok(!isPageId("experiment"));
  const names = new Set(EXPERIMENTS.map((e) => e.name));
  for (const [chapter, linked] of Object.entries(CHAPTER_EXPERIMENTS)) {
    for (const n of linked ?? [])
      assert.ok(
        names.has(n),
        `chapter ${chapter} links to "${n}", not in src/experiments/index.ts`,
      );
  }
});
