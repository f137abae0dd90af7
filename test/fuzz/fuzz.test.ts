/**
 * The fuzz suite (test/fuzz/run.ts): 1,000 seeded mutants each of model.safetensors,
 * config.json, tokenizer.json and TSV data, in a child process capped at 768 MB of heap.
 * Every mutant must be refused with a one-line AttnError or load as a valid file.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";

for (const seed of [1, 2]) {
  test(`fuzz (seed ${seed}): 0 crashes, 0 hangs, 0 silent accepts over 500 mutants of each file kind`, () => {
    const r = spawnSync(
      process.execPath,
      [
        "--max-old-space-size=768",
        "--import",
        "tsx",
        path.join(import.meta.dirname, "run.ts"),
        "500",
        String(seed),
      ],
      { encoding: "utf8", timeout: 300_000 },
    );
    assert.equal(r.status, 0, `the fuzz run died (memory cap or crash):\n${r.stderr.slice(-2000)}`);
    const results = JSON.parse(r.stdout.trim().split("\n").pop()!);
    for (const [kind, c] of Object.entries(results) as [
      string,
      Record<string, number | string[]>,
    ][]) {
      assert.equal(
        (c.refused as number) + (c.accepted as number) + (c.crash as number) + (c.silent as number),
        500,
        kind,
      );
      assert.equal(c.crash, 0, `${kind}: crashes\n${(c.examples as string[]).join("\n")}`);
      assert.equal(c.silent, 0, `${kind}: silent accepts\n${(c.examples as string[]).join("\n")}`);
      assert.equal(c.hang, 0, `${kind}: mutants over 2 s`);
    }
  });
}
