import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { readParallelTsv, readText, readTextLines } from "../../src/data/readers.js";
import { AttnError } from "../../src/errors.js";

const dir = mkdtempSync(join(tmpdir(), "attn-readers-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

/** Asserts an AttnError whose one-line message matches re. */
function throwsUser(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AttnError, `not an AttnError: ${String(e)}`);
    assert.ok(!e.message.includes("\n"), `multi-line message: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

const BIBLE_DEV = "/work/shared/data/bible-es-en/dev.tsv";

describe("readParallelTsv", () => {
  test("columns by name (no header) and by index; CRLF; empty lines skipped and counted", () => {
    const p = file("a.tsv", "r1\thola\thello\r\n\r\nr2\tadiós  \t goodbye\r\n   \nr3\tsí\tyes");
    const byName = readParallelTsv(p, {
      srcColumn: "es",
      tgtColumn: "en",
      columns: ["ref", "es", "en"],
    });
    assert.deepEqual(byName.pairs, [
      { src: "hola", tgt: "hello" },
      { src: "adiós", tgt: "goodbye" },
      { src: "sí", tgt: "yes" },
    ]);
    assert.deepEqual(byName.badLines, []);
    assert.equal(byName.skippedEmpty, 2);
    const byIndex = readParallelTsv(p, { srcColumn: 2, tgtColumn: 1 });
    assert.deepEqual(byIndex.pairs[0], { src: "hello", tgt: "hola" });
  });

  test("header line names the columns; a BOM is dropped", () => {
    const p = file("h.tsv", "\ufeffid\tsrc\ttgt\n1\ta\tb\n2\tc\td\n");
    const r = readParallelTsv(p, { srcColumn: "src", tgtColumn: "tgt", header: true });
    assert.deepEqual(r.pairs, [
      { src: "a", tgt: "b" },
      { src: "c", tgt: "d" },
    ]);
    throwsUser(
      () => readParallelTsv(p, { srcColumn: "fr", tgtColumn: "tgt", header: true }),
      /h\.tsv: no source column named "fr"; the columns are id, src, tgt$/,
    );
  });

  test("bad lines: error lists the first line numbers; skip returns them", () => {
    const lines = ["a\tb\tc"];
    const badAt = [4, 9, 17, 20];
    for (let i = 2; i <= 21; i++) lines.push(badAt.includes(i) ? "x\ty" : `r${i}\ts${i}\tt${i}`);
    const p = file("train.tsv", `${lines.join("\n")}\n`);
    throwsUser(
      () => readParallelTsv(p, { srcColumn: 1, tgtColumn: 2 }),
      /train\.tsv: 4 lines have 2 columns instead of 3 \(lines 4, 9, 17 and 1 more\); pass --on-bad-line skip to skip them$/,
    );
    throwsUser(
      () => readParallelTsv(p, { srcColumn: 1, tgtColumn: 2, maxBadLinesReported: 5 }),
      /\(lines 4, 9, 17, 20\)/,
    );
    const r = readParallelTsv(p, { srcColumn: 1, tgtColumn: 2, onBadLine: "skip" });
    assert.deepEqual(r.badLines, badAt);
    assert.equal(r.pairs.length, 21 - badAt.length);
  });

  test("the exact message of the brief's example", () => {
    const rows = Array.from({ length: 18 }, (_, i) => `r\ts${i}\tt${i}`);
    for (const l of [4, 9, 17]) rows[l - 1] = "only\ttwo";
    const p = file("train.tsv", rows.join("\n"));
    assert.throws(
      () => readParallelTsv(p, { srcColumn: 1, tgtColumn: 2 }),
      new AttnError(
        `${p}: 3 lines have 2 columns instead of 3 (lines 4, 9, 17); pass --on-bad-line skip to skip them`,
      ),
    );
  });

  test("empty fields and mixed column counts are bad lines too", () => {
    const p = file("e.tsv", "a\tb\tc\nd\t\tf\ng\th\ti\tj\nk\tl\n1\t2\t3\n");
    throwsUser(
      () => readParallelTsv(p, { srcColumn: 1, tgtColumn: 2 }),
      /2 lines have a column count other than 3 \(lines 3, 4\); 1 line has an empty source or target field \(line 2\); pass --on-bad-line skip/,
    );
    const r = readParallelTsv(p, { srcColumn: 1, tgtColumn: 2, onBadLine: "skip" });
    assert.deepEqual(r.badLines, [2, 3, 4]);
    assert.deepEqual(r.pairs, [
      { src: "b", tgt: "c" },
      { src: "2", tgt: "3" },
    ]);
    // An empty field outside the chosen columns is fine.
    assert.equal(
      readParallelTsv(p, { srcColumn: 0, tgtColumn: 2, onBadLine: "skip" }).pairs.length,
      3,
    );
  });

  test("file and option errors", () => {
    throwsUser(
      () => readParallelTsv(join(dir, "nope.tsv"), { srcColumn: 0, tgtColumn: 1 }),
      /^data file not found: .*nope\.tsv$/,
    );
    throwsUser(() => readParallelTsv(dir, { srcColumn: 0, tgtColumn: 1 }), /directory/);
    throwsUser(
      () => readParallelTsv(file("empty.tsv", ""), { srcColumn: 0, tgtColumn: 1 }),
      /^data file is empty: /,
    );
    throwsUser(
      () => readParallelTsv(file("ws.tsv", "\n \n"), { srcColumn: 0, tgtColumn: 1 }),
      /empty/,
    );
    const p = file("ok.tsv", "a\tb\tc\n");
    throwsUser(
      () => readParallelTsv(p, { srcColumn: 3, tgtColumn: 1 }),
      /source column index 3 is out of range; lines have 3 columns \(0\.\.2\)/,
    );
    throwsUser(() => readParallelTsv(p, { srcColumn: 0, tgtColumn: -1 }), /target column index -1/);
    throwsUser(
      () => readParallelTsv(p, { srcColumn: "es", tgtColumn: 1 }),
      /no header and no column names/,
    );
    throwsUser(
      () => readParallelTsv(p, { srcColumn: "fr", tgtColumn: "en", columns: ["ref", "es", "en"] }),
      /no source column named "fr"; the columns are ref, es, en/,
    );
    throwsUser(
      () => readParallelTsv(p, { srcColumn: 0, tgtColumn: 1, columns: ["a", "b"] }),
      /1 line has 3 columns instead of 2 \(line 1\); pass --on-bad-line skip to skip it/,
    );
    throwsUser(
      () =>
        readParallelTsv(
          file("u.tsv", new Uint8Array([0x61, 0x09, 0x62, 0x0a, 0x63, 0x09, 0xff, 0x0a])),
          { srcColumn: 0, tgtColumn: 1 },
        ),
      /u\.tsv: line 2 is not valid UTF-8/,
    );
    throwsUser(
      () => readParallelTsv(p, { srcColumn: 0, tgtColumn: 1, onBadLine: "warn" as "skip" }),
      /--on-bad-line/,
    );
  });

  test("unreadable file", { skip: process.getuid?.() === 0 ? "running as root" : false }, () => {
    const p = file("secret.tsv", "a\tb\n");
    chmodSync(p, 0o000);
    throwsUser(() => readText(p), /not readable/);
  });

  test("real corpus dev.tsv reads with es/en columns", {
    skip: !existsSync(BIBLE_DEV) && "corpus absent",
  }, () => {
    const r = readParallelTsv(BIBLE_DEV, {
      srcColumn: "es",
      tgtColumn: "en",
      columns: ["ref", "es", "en"],
    });
    assert.equal(r.pairs.length, 1000);
    assert.deepEqual(r.badLines, []);
    assert.equal(r.skippedEmpty, 0);
    for (const p of r.pairs)
      assert.ok(p.src.length > 0 && p.tgt.length > 0 && !p.src.includes("\t"));
    assert.match(r.pairs[0].tgt, /Eve/);
  });
});

describe("readText / readTextLines", () => {
  test("lines without terminators; skipEmpty", () => {
    const p = file("t.txt", "one\r\n\r\ntwo\nthree\n");
    assert.deepEqual(readTextLines(p), ["one", "", "two", "three"]);
    assert.deepEqual(readTextLines(p, { skipEmpty: true }), ["one", "two", "three"]);
    assert.equal(readText(p), "one\r\n\r\ntwo\nthree\n");
    assert.equal(readText(file("bom.txt", "\ufeffhi")), "hi");
    throwsUser(() => readText(file("e.txt", "")), /^data file is empty: /);
    throwsUser(() => readTextLines(join(dir, "missing.txt")), /^data file not found: /);
  });
  test("a device is not read (/dev/zero would never end)", () => {
    throwsUser(() => readText("/dev/zero"), /^data file is not a regular file: \/dev\/zero/);
    throwsUser(
      () => readParallelTsv("/dev/zero", { srcColumn: 0, tgtColumn: 1 }),
      /not a regular file: \/dev\/zero/,
    );
  });
});
