/**
 * Our models, exported with `exportHf`, loaded by the real transformers classes
 * (scripts/check_hf_export.py): the same logits within 1e-4. Needs a Python with
 * transformers, named by ATTN_HF_PYTHON (see scripts/make_hf_fixtures.py); skipped otherwise.
 */
import { spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { exportHf, type HfFamily, moduleWeights } from "../../src/io/index.js";
import { perturb } from "../helpers/weights.js";
import {
  buildModel,
  encoderDecoderPreset,
  gptPreset,
  type GPT,
  type Transformer,
} from "../../src/models/index.js";
import { fromArray, noGrad } from "../../src/tensor/index.js";

const PY = process.env.ATTN_HF_PYTHON;
const skip = PY ? false : "set ATTN_HF_PYTHON to a Python with transformers and torch to run this";
const SCRIPT = path.join(import.meta.dirname, "..", "..", "scripts", "check_hf_export.py");

function check(
  family: HfFamily,
  model: GPT | Transformer,
  logits: Float32Array,
  inputs: object,
): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attn-hf-py-"));
  exportHf(family, path.join(dir, "model"), model.config, moduleWeights(model), null);
  const caseFile = path.join(dir, "case.json");
  fs.writeFileSync(caseFile, JSON.stringify({ family, ...inputs, logits: [...logits] }));
  const r = spawnSync(PY!, [SCRIPT, path.join(dir, "model"), caseFile], { encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
}

test("our GPT, exported as GPT-2, gives the same logits in GPT2LMHeadModel", { skip }, () => {
  const model = buildModel(gptPreset("gpt-tiny", { vocabSize: 50, seed: 4 })) as GPT;
  perturb(model, 0.3, 0.71);
  model.eval();
  const ids = [
    [5, 6, 7, 8, 9],
    [9, 8, 7, 6, 5],
  ];
  const logits = noGrad(() => model.forward(fromArray(ids.flat(), [2, 5], "int32")).readSync());
  check("hf-gpt2", model, Float32Array.from(logits), { input_ids: ids });
});

test("our paper-layout Transformer, exported as Marian, gives the same logits in MarianMTModel", {
  skip,
}, () => {
  const model = buildModel(
    encoderDecoderPreset("s2s-tiny", { vocabSize: 50, seed: 6 }),
  ) as Transformer;
  perturb(model, 0.3, 0.71);
  model.eval();
  const src = [[5, 6, 7, 8, 2]];
  const tgt = [[1, 9, 10, 11]];
  const logits = noGrad(() =>
    model
      .forward(fromArray(src.flat(), [1, 5], "int32"), fromArray(tgt.flat(), [1, 4], "int32"))
      .readSync(),
  );
  check("hf-marian", model, Float32Array.from(logits), { input_ids: src, decoder_input_ids: tgt });
});
