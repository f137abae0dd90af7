/**
 * The PyTorch round trip for training elsewhere (scripts/pytorch): the plain-PyTorch reference
 * loads an exported checkpoint and computes our logits; torchrun with DDP on 2 processes
 * continues it; `attn eval` reads the result. Needs Debian's python3-torch; skipped otherwise.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { importToCheckpoint } from "../../src/cli/interop.js";
import { loadRun } from "../../src/cli/load.js";
import type { Transformer } from "../../src/models/index.js";
import { fromArray, noGrad } from "../../src/tensor/index.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PY = "/usr/bin/python3";
const hasTorch = spawnSync(PY, ["-c", "import torch"]).status === 0;
const skip = hasTorch
  ? false
  : `${PY} -c "import torch" fails: apt-get install python3-torch to run this`;

function attn(args: string[]) {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "src/cli/main.ts"), ...args],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("an exported checkpoint: the PyTorch reference's logits equal ours; DDP on 2 processes continues it; attn eval reads it back", {
  skip,
  timeout: 300_000,
}, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "attn-ddp-"));
  const ck = path.join(tmp, "ckpt");
  importToCheckpoint("hf-marian", path.join(ROOT, "test/fixtures/hf/marian"), ck);
  const tsv = path.join(tmp, "train.tsv");
  const pairs = [
    [
      "En el principio crió Dios los cielos y la tierra.",
      "In the beginning, God created the heavens and the earth.",
    ],
    [
      "Y dijo Dios: Sea la luz: y fué la luz.",
      "God said, “Let there be light,” and there was light.",
    ],
    ["Y vió Dios que la luz era buena.", "God saw the light, and saw that it was good."],
    ["Y llamó Dios á la luz Día.", "God called the light “day”."],
  ];
  fs.writeFileSync(tsv, `${pairs.map((p) => p.join("\t")).join("\n")}\n`);
  const pt = path.join(tmp, "pt");
  attn(["export", "--to", "pytorch", ck, "--out", pt, "--data", tsv, "--src", "0", "--tgt", "1"]);

  // The reference model's logits on one example against ours.
  const run = loadRun(ck);
  const model = run.model as Transformer;
  const src = [...run.tokenizer.encode(pairs[0][0]), model.config.eosId];
  const tgt = [model.config.bosId, ...run.tokenizer.encode(pairs[0][1], { side: "target" })];
  const ours = noGrad(() =>
    model
      .forward(fromArray(src, [1, src.length], "int32"), fromArray(tgt, [1, tgt.length], "int32"))
      .readSync(),
  );
  const code = `
import sys, json, torch
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, "scripts/pytorch"))})
from attention_lab import load_checkpoint
m, _ = load_checkpoint(sys.argv[1]); m.eval()
with torch.no_grad():
    print(json.dumps(m(torch.tensor([${JSON.stringify(src)}]), torch.tensor([${JSON.stringify(tgt)}])).flatten().tolist()))
`;
  const r = spawnSync(PY, ["-c", code, pt], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const theirs: number[] = JSON.parse(r.stdout);
  let diff = 0;
  for (let i = 0; i < theirs.length; i++) diff = Math.max(diff, Math.abs(theirs[i] - ours[i]));
  assert.equal(theirs.length, ours.length);
  assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);

  // torchrun, 2 processes, gloo. (--redirects/--tee: Debian's torch 1.13 on Python 3.11 fails
  // to parse the default "0".)
  const out = path.join(tmp, "ddp");
  const t = spawnSync(
    "torchrun",
    [
      "--redirects",
      "1",
      "--tee",
      "1",
      "--nproc_per_node",
      "2",
      path.join(ROOT, "scripts/pytorch/train_ddp.py"),
      pt,
      "--steps",
      "3",
      "--lr",
      "1e-3",
      "--max-tokens",
      "60",
      "--out",
      out,
    ],
    { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1" } },
  );
  assert.equal(t.status, 0, `${t.stdout}\n${t.stderr}`);
  assert.match(t.stdout, /"world": 2/);
  assert.match(t.stdout, /"saved"/);
  const after = loadRun(out);
  const before = run.checkpoint.state.get("encoder.layers.0.ffn.linear1.weight")!.values;
  const now = after.checkpoint.state.get("encoder.layers.0.ffn.linear1.weight")!.values;
  assert.ok(
    now.some((v, i) => v !== before[i]),
    "training changed the weights",
  );
  const ev = JSON.parse(
    attn(["eval", "--checkpoint", out, "--data", tsv, "--src", "0", "--tgt", "1", "--json"]),
  );
  assert.ok(Number.isFinite(ev.bleu));
});
