/**
 * Atomic writes (src/io/atomic.ts): the target gets the whole new content, a
 * failed write leaves the old content and no temporary file, and a durable
 * new file refuses to replace an existing one.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { AttnError } from "../../src/errors.js";
import { writeFileAtomic, writeNewFileDurable } from "../../src/io/atomic.js";

const enc = (s: string) => new TextEncoder().encode(s);

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "attn-atomic-"));
}

describe("atomic file writes", () => {
  test("writes several chunks in order and replaces the old content", () => {
    const dir = tmpDir();
    const f = path.join(dir, "a.txt");
    fs.writeFileSync(f, "old");
    writeFileAtomic(f, [enc("new "), enc("content")]);
    assert.equal(fs.readFileSync(f, "utf8"), "new content");
    assert.deepEqual(fs.readdirSync(dir), ["a.txt"]);
  });

  test("a failed write names the target, keeps the old content and leaves no temporary file", () => {
    const dir = tmpDir();
    const target = path.join(dir, "sub");
    fs.mkdirSync(target); // renaming a file over a directory fails
    fs.writeFileSync(path.join(target, "keep"), "x");
    assert.throws(
      () => writeFileAtomic(target, enc("data")),
      (e: unknown) => e instanceof AttnError && e.message.includes(target),
    );
    assert.deepEqual(fs.readdirSync(dir), ["sub"]);
    assert.equal(fs.readFileSync(path.join(target, "keep"), "utf8"), "x");
  });

  test("writeNewFileDurable refuses an existing file", () => {
    const dir = tmpDir();
    const f = path.join(dir, "b.bin");
    writeNewFileDurable(f, enc("one"));
    assert.throws(() => writeNewFileDurable(f, enc("two")));
    assert.equal(fs.readFileSync(f, "utf8"), "one");
  });
});
