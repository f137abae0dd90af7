/**
 * No runtime import cycles in src/: a module graph with a cycle loads in an
 * order that depends on who imports first, and a class or constant used at
 * load time may then be undefined. Type-only imports do not count (they are
 * erased). The test reads the import and re-export lines of every source
 * file, so it can fail: the cycle it was written for (tensor.ts <->
 * autograd.ts) fails it when put back.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { relativeImports, sourceFiles } from "../helpers/imports.js";

const SRC = path.resolve("src");

function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 1 | 2>();
  const cycles: string[][] = [];
  const visit = (n: string, stack: string[]) => {
    state.set(n, 1);
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === 1) cycles.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d)) visit(d, stack);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n, []);
  return cycles;
}

test("the parser sees runtime imports and skips type-only ones", () => {
  const f = path.join(SRC, "x", "a.ts");
  const deps = relativeImports(
    f,
    [
      'import { b } from "./b.js";',
      'import type { C } from "./c.js";',
      'import { type D } from "./d.js";',
      'import { type E, e } from "./e.js";',
      'export * from "./g.js";',
    ].join("\n"),
  );
  assert.deepEqual(
    deps.map((d) => path.basename(d)),
    ["b.ts", "e.ts", "g.ts"],
  );
  const cyc = findCycles(
    new Map([
      ["a", ["b"]],
      ["b", ["a"]],
    ]),
  );
  assert.equal(cyc.length, 1);
});

test("src/ has no runtime import cycle", () => {
  const graph = new Map<string, string[]>();
  for (const f of sourceFiles(SRC)) graph.set(f, relativeImports(f, fs.readFileSync(f, "utf8")));
  const cycles = findCycles(graph).map((c) => c.map((f) => path.relative(SRC, f)).join(" -> "));
  assert.deepEqual(cycles, []);
});
