/**
 * The public API follows the layers: the explorer (web/src) reaches the
 * library only through the browser entry point, src/browser.ts, and the CLI
 * (src/cli) only through the package's entry points (src/index.ts and the
 * `train`, `data`, `io`, `experiments` subpath entries), as a user of the package would.
 * Nothing that src/browser.ts loads imports a Node module.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { relativeImports, sourceFiles } from "../helpers/imports.js";

const ROOT = path.resolve(".");
const SRC = path.join(ROOT, "src");
const rel = (f: string) => path.relative(ROOT, f);
const inSrc = (f: string) => f.startsWith(SRC + path.sep);

function importsOutside(dir: string, allowed: string[]): string[] {
  const bad: string[] = [];
  for (const f of sourceFiles(dir)) {
    for (const d of relativeImports(f, fs.readFileSync(f, "utf8"), false)) {
      if (inSrc(d) && !d.startsWith(dir + path.sep) && !allowed.includes(rel(d)))
        bad.push(`${rel(f)} imports ${rel(d)}`);
    }
  }
  return bad;
}

test("web/src imports the library only through src/browser.ts", () => {
  assert.deepEqual(importsOutside(path.join(ROOT, "web/src"), ["src/browser.ts"]), []);
});

test("src/cli imports the library only through the package's entry points", () => {
  const entries = [
    "src/index.ts",
    "src/train/index.ts",
    "src/data/index.ts",
    "src/io/index.ts",
    "src/experiments/index.ts",
  ];
  assert.deepEqual(importsOutside(path.join(SRC, "cli"), entries), []);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  for (const sub of [".", "./train", "./data", "./io", "./experiments", "./browser"])
    assert.ok(pkg.exports[sub], `package.json exports ${sub}`);
});

test("nothing src/browser.ts loads imports a Node module", () => {
  const seen = new Set<string>();
  const stack = [path.join(SRC, "browser.ts")];
  const nodeImports: string[] = [];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    const text = fs.readFileSync(f, "utf8");
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+"(node:[^"]+)"/gms))
      nodeImports.push(`${rel(f)}: ${m[1]}`);
    stack.push(...relativeImports(f, text));
  }
  assert.ok(seen.size > 20, `followed ${seen.size} modules`);
  assert.deepEqual(nodeImports, []);
});
