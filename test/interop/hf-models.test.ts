/**
 * Hugging Face GPT-2 and Marian weights made by the real transformers classes
 * (scripts/make_hf_fixtures.py) imported here: logits within 1e-4 and the same greedy ids;
 * and the round trips ours → HF → ours and HF → ours → HF, bit for bit.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import {
  exportHf,
  type HfFamily,
  importHf,
  moduleWeights,
  type Weights,
} from "../../src/io/index.js";
import { maxDiff, perturb } from "../helpers/weights.js";
import { readSafetensorsFile, toFloat32, toInt32 } from "../../src/io/safetensors.js";
import {
  buildModel,
  encoderDecoderPreset,
  type GPT,
  gptPreset,
  type ModelConfig,
  type Transformer,
} from "../../src/models/index.js";
import { generate, greedyDecode } from "../../src/generate/index.js";
import { fromArray, noGrad } from "../../src/tensor/index.js";

const HF = path.join(import.meta.dirname, "..", "fixtures", "hf");

function expected(family: string) {
  const json = JSON.parse(fs.readFileSync(path.join(HF, family, "expected.json"), "utf8"));
  const st = readSafetensorsFile(path.join(HF, family, "expected.safetensors"));
  const get = (n: string) => st.tensors.get(n)!;
  return { json, get };
}

function loaded(family: HfFamily, dir: string) {
  const imp = importHf(family, dir);
  const model = buildModel(imp.config);
  model.loadStateDict(imp.weights);
  model.eval();
  return { ...imp, model };
}

function assertSameWeights(a: Weights, b: Weights): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [n, t] of a) {
    assert.deepEqual(b.get(n)!.shape, t.shape, n);
    assert.ok(
      Buffer.from(b.get(n)!.values.buffer).equals(Buffer.from(t.values.buffer)),
      `${n} differs`,
    );
  }
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "attn-hf-"));

test("HF GPT-2 imports: logits within 1e-4 of GPT2LMHeadModel, the same greedy ids", () => {
  const { json, get } = expected("gpt2");
  const { model, config } = loaded("hf-gpt2", path.join(HF, "gpt2"));
  assert.equal(config.kind, "gpt");
  const ids = get("input_ids");
  const logits = noGrad(() =>
    (model as GPT).forward(fromArray(toInt32(ids), ids.shape, "int32")).readSync(),
  );
  const d = maxDiff(logits, toFloat32(get("logits")));
  assert.ok(d < 1e-4, `max |Δlogit| ${d}`);
  const prompt: number[] = json.greedy.prompt;
  const out = generate(model as GPT, prompt, { maxNewTokens: 12, temperature: 0 });
  assert.deepEqual([...prompt, ...out], json.greedy.ids);
});

test("HF Marian imports: logits within 1e-4 of MarianMTModel, the same greedy ids", () => {
  const { json, get } = expected("marian");
  const { model, config } = loaded("hf-marian", path.join(HF, "marian"));
  assert.equal(config.kind, "encdec");
  const t = model as Transformer;
  const src = get("input_ids");
  const mask = toInt32(get("attention_mask"));
  const dec = get("decoder_input_ids");
  const logits = noGrad(() =>
    t
      .forward(
        fromArray(toInt32(src), src.shape, "int32"),
        fromArray(toInt32(dec), dec.shape, "int32"),
        {
          srcPadding: fromArray(
            Int32Array.from(mask, (m) => 1 - m),
            src.shape,
            "int32",
          ),
          // No tgtPadding: Marian's decoder starts from PAD, which must not count as padding.
        },
      )
      .readSync(),
  );
  const d = maxDiff(logits, toFloat32(get("logits")));
  assert.ok(d < 1e-4, `max |Δlogit| ${d}`);
  const eos = config.eosId;
  for (const { source, ids } of json.greedy as { source: string; ids: number[] }[]) {
    const { tokenizer } = importHf("hf-marian", path.join(HF, "marian"));
    const srcIds = tokenizer!.encode(source, { eos: true });
    const hfTokens = ids.slice(1);
    const end = hfTokens.indexOf(eos);
    // HF forces EOS as the 12th new token when none came earlier (forced_eos_token_id).
    const want = end < 0 ? hfTokens : hfTokens.slice(0, end);
    const ours = noGrad(() =>
      greedyDecode(t, fromArray(srcIds, [1, srcIds.length], "int32"), { maxLen: 11 }),
    )[0];
    assert.deepEqual(ours, want, source);
  }
});

for (const family of ["hf-gpt2", "hf-marian"] as const) {
  const dir = family === "hf-gpt2" ? "gpt2" : "marian";

  test(`${family}: HF → ours → HF gives back the same tensors, bit for bit`, () => {
    const imp = importHf(family, path.join(HF, dir));
    const out = tmp();
    exportHf(family, out, imp.config, imp.weights, imp.tokenizer);
    const a = readSafetensorsFile(path.join(HF, dir, "model.safetensors"));
    const b = readSafetensorsFile(path.join(out, "model.safetensors"));
    for (const [name, t] of a.tensors) {
      const u = b.tensors.get(name);
      assert.ok(u, `${name} is missing after export`);
      assert.deepEqual(u.shape, t.shape, name);
      assert.ok(
        Buffer.from(toFloat32(u).buffer).equals(Buffer.from(toFloat32(t).buffer)),
        `${name} differs`,
      );
    }
    // The tokenizer comes back too: the same ids for the same text.
    const again = importHf(family, out);
    assert.deepEqual(
      again.tokenizer!.encode("And God said"),
      imp.tokenizer!.encode("And God said"),
    );
  });

  test(`${family}: ours → HF → ours gives back the same config and weights, bit for bit`, () => {
    const configs: ModelConfig[] =
      family === "hf-gpt2"
        ? [
            gptPreset("gpt-tiny", { vocabSize: 50, seed: 3 }),
            gptPreset("gpt-tiny", {
              vocabSize: 50,
              attnBias: false,
              ffnBias: false,
              tieOutput: false,
            }),
          ]
        : [
            // The paper's layout: interleaved sinusoids, no attention biases, ReLU.
            encoderDecoderPreset("s2s-tiny", { vocabSize: 50, seed: 5 }),
            encoderDecoderPreset("s2s-tiny", {
              vocabSize: 50,
              dModel: 30,
              heads: 3,
              shareEmbeddings: false,
              tieOutput: false,
              activation: "gelu_tanh",
            }),
            importHf(family, path.join(HF, dir)).config,
          ];
    for (const cfg of configs) {
      const model = buildModel(cfg);
      // Non-zero biases and norms, so a mix-up shows.
      perturb(model, 1, 0.37);
      const out = tmp();
      exportHf(family, out, model.config, moduleWeights(model), null);
      const back = importHf(family, out);
      assert.deepEqual(back.config, model.config);
      assertSameWeights(moduleWeights(model), back.weights);
    }
  });
}

test("an exported paper-layout model computes the same logits as HF's layout would (permuted residual stream)", () => {
  const cfg = encoderDecoderPreset("s2s-tiny", { vocabSize: 40, seed: 9 });
  const ours = buildModel(cfg) as Transformer;
  ours.eval();
  const out = tmp();
  exportHf("hf-marian", out, cfg, moduleWeights(ours), null);
  // Read the HF files back as HF's architecture (no attention_lab record): halves, zero biases.
  const configFile = path.join(out, "config.json");
  const c = JSON.parse(fs.readFileSync(configFile, "utf8"));
  delete c.attention_lab;
  fs.writeFileSync(configFile, JSON.stringify(c));
  const hf = loaded("hf-marian", out);
  assert.equal(hf.config.sinusoidLayout, "halves");
  const src = fromArray([5, 6, 7, 8, 2], [1, 5], "int32");
  const tgt = fromArray([1, 9, 10, 11], [1, 4], "int32");
  const a = noGrad(() => ours.forward(src, tgt).readSync());
  const b = noGrad(() => (hf.model as Transformer).forward(src, tgt).readSync());
  assert.ok(maxDiff(a, b) < 1e-5, `max |Δ| ${maxDiff(a, b)}`);
});
