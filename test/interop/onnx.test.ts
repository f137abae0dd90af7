/**
 * ONNX export run by ONNX Runtime (onnxruntime-node's CPU library): the encoder, the decoder
 * step with its self- and cross-attention caches, and the GPT with its cache give our logits
 * within 1e-4, and greedy decoding through them gives our ids. Dynamic batch and lengths:
 * a padded batch of two, a whole prefix at once, then one token at a time.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import * as ort from "onnxruntime-node";
import { importToCheckpoint } from "../../src/cli/interop.js";
import { greedyDecode, generate } from "../../src/generate/index.js";
import { importHf, moduleWeights, onnxFiles, type Weights } from "../../src/io/index.js";
import { maxDiff, perturb } from "../helpers/weights.js";
import {
  buildModel,
  encoderDecoderPreset,
  type GPT,
  gptPreset,
  type ModelConfig,
  type Transformer,
} from "../../src/models/index.js";
import { fromArray, noGrad } from "../../src/tensor/index.js";

const HF = path.join(import.meta.dirname, "..", "fixtures", "hf");

/** A model with weights far from init (so a wrong wire shows), or an imported one. */
function model(cfg: ModelConfig, weights?: Weights): GPT | Transformer {
  const m = buildModel(cfg);
  if (weights) m.loadStateDict(weights);
  else perturb(m, 0.2, 0.61);
  m.eval();
  return m;
}

async function sessions(m: GPT | Transformer): Promise<Map<string, ort.InferenceSession>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attn-onnx-"));
  const out = new Map<string, ort.InferenceSession>();
  for (const [name, bytes] of onnxFiles(m.config, moduleWeights(m))) {
    fs.writeFileSync(path.join(dir, name), bytes);
    out.set(name, await ort.InferenceSession.create(path.join(dir, name)));
  }
  return out;
}

const i64 = (rows: number[][]) =>
  new ort.Tensor(
    "int64",
    BigInt64Array.from(rows.flat(), (v) => BigInt(v)),
    [rows.length, rows[0].length],
  );
const empty = (B: number, H: number, dk: number) =>
  new ort.Tensor("float32", new Float32Array(0), [B, H, 0, dk]);

/** Greedy argmax of each row's last logits, never PAD or BOS (as decodeBatch chooses). */
function pick(logits: Float32Array, rows: number, T: number, V: number, skip: number[]): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const base = (r * T + T - 1) * V;
    let best = -1;
    for (let v = 0; v < V; v++) {
      if (skip.includes(v)) continue;
      if (best < 0 || logits[base + v] > logits[base + best]) best = v;
    }
    out.push(best);
  }
  return out;
}

async function checkSeq2Seq(t: Transformer): Promise<void> {
  const cfg = t.config;
  const { padId: pad, bosId: bos, eosId: eos, heads: H } = cfg;
  const dk = cfg.dModel / H;
  const s = await sessions(t);
  const enc = s.get("encoder.onnx")!;
  const dec = s.get("decoder.onnx")!;
  const V = cfg.vocabSize;
  const w = (a: number) => 3 + ((a * 7) % (V - 5)); // ordinary ids, clear of the specials
  const fit = (x: number) => (x === pad || x === bos || x === eos ? 4 : x);
  const src = [
    [w(1), w(2), w(3), w(4), eos].map(fit),
    [w(5), w(6), eos, pad, pad].map((x, i) => (i < 2 ? fit(x) : x)),
  ];
  const e = await enc.run({ input_ids: i64(src) });
  const srcT = fromArray(src.flat(), [2, 5], "int32");
  const memory = noGrad(() => t.encode(srcT).memory.readSync());
  const dm = maxDiff(e.encoder_hidden_states.data as Float32Array, memory);
  assert.ok(dm < 1e-4, `encoder: max |Δ| ${dm}`);

  const feeds = (ids: number[][], past: Map<string, ort.Tensor>) => {
    const f: Record<string, ort.Tensor> = {
      input_ids: i64(ids),
      encoder_attention_mask: e.encoder_attention_mask,
    };
    for (let i = 0; i < cfg.decoderLayers; i++) {
      f[`cross_key_${i}`] = e[`cross_key_${i}`];
      f[`cross_value_${i}`] = e[`cross_value_${i}`];
      f[`past_key_${i}`] = past.get(`key_${i}`) ?? empty(2, H, dk);
      f[`past_value_${i}`] = past.get(`value_${i}`) ?? empty(2, H, dk);
    }
    return f;
  };
  // A whole prefix at once, against the teacher-forced forward pass.
  const tgt = [
    [bos, w(7), w(8), w(9)].map((x, i) => (i ? fit(x) : x)),
    [bos, w(10), w(11), w(12)].map((x, i) => (i ? fit(x) : x)),
  ];
  const full = await dec.run(feeds(tgt, new Map()));
  const ours = noGrad(() =>
    t
      .forward(srcT, fromArray(tgt.flat(), [2, 4], "int32"), {
        tgtPadding: fromArray(new Int32Array(8), [2, 4], "int32"),
      })
      .readSync(),
  );
  const d = maxDiff(full.logits.data as Float32Array, ours);
  assert.ok(d < 1e-4, `decoder (prefix): max |Δlogit| ${d}`);

  // Greedy, one token at a time through the cache, against the library's greedy decoding.
  const maxLen = 8;
  let past = new Map<string, ort.Tensor>();
  let next = [[bos], [bos]];
  const got: number[][] = [[], []];
  const done = [false, false];
  for (let step = 0; step < maxLen && done.includes(false); step++) {
    const r = await dec.run(feeds(next, past));
    const ids = pick(r.logits.data as Float32Array, 2, 1, V, [pad, bos]);
    ids.forEach((id, row) => {
      if (done[row]) return;
      if (id === eos) done[row] = true;
      else got[row].push(id);
    });
    past = new Map();
    for (let i = 0; i < cfg.decoderLayers; i++) {
      past.set(`key_${i}`, r[`present_key_${i}`]);
      past.set(`value_${i}`, r[`present_value_${i}`]);
    }
    next = ids.map((id) => [id]);
  }
  const want = noGrad(() => greedyDecode(t, srcT, { maxLen }));
  assert.deepEqual(got, want);
}

async function checkGpt(m: GPT): Promise<void> {
  const cfg = m.config;
  const H = cfg.heads;
  const dk = cfg.dModel / H;
  const s = (await sessions(m)).get("model.onnx")!;
  const V = cfg.vocabSize;
  const prompt = [
    [5, 6, 7, 8],
    [9, 10, 11, 12],
  ].map((r) => r.map((x) => x % V));
  const past0: Record<string, ort.Tensor> = {};
  for (let i = 0; i < cfg.layers; i++) {
    past0[`past_key_${i}`] = empty(2, H, dk);
    past0[`past_value_${i}`] = empty(2, H, dk);
  }
  const r = await s.run({ input_ids: i64(prompt), ...past0 });
  const ours = noGrad(() => m.forward(fromArray(prompt.flat(), [2, 4], "int32")).readSync());
  const d = maxDiff(r.logits.data as Float32Array, ours);
  assert.ok(d < 1e-4, `gpt (prefix): max |Δlogit| ${d}`);
  // Greedy continuation of the first prompt through the cache.
  let out = r;
  const got: number[] = [];
  for (let step = 0; step < 6; step++) {
    const logits = out.logits.data as Float32Array;
    const T = out.logits.dims[1];
    const id = pick(logits, 2, T, V, [])[0];
    got.push(id);
    const feeds: Record<string, ort.Tensor> = { input_ids: i64([[id], [id]]) };
    for (let i = 0; i < cfg.layers; i++) {
      feeds[`past_key_${i}`] = out[`present_key_${i}`];
      feeds[`past_value_${i}`] = out[`present_value_${i}`];
    }
    out = await s.run(feeds);
  }
  assert.deepEqual(got, generate(m, prompt[0], { maxNewTokens: 6, temperature: 0 }));
}

test("ONNX encoder + decoder step: the imported Marian (biases, swish, halves) and a paper-layout model", async () => {
  const imp = importHf("hf-marian", path.join(HF, "marian"));
  await checkSeq2Seq(model(imp.config, imp.weights) as Transformer);
  await checkSeq2Seq(
    model(encoderDecoderPreset("s2s-tiny", { vocabSize: 40, seed: 2 })) as Transformer,
  );
  await checkSeq2Seq(
    model(
      encoderDecoderPreset("s2s-tiny", {
        vocabSize: 40,
        normPlacement: "pre",
        positional: "learned",
        shareEmbeddings: false,
        tieOutput: false,
        activation: "gelu",
      }),
    ) as Transformer,
  );
});

test("ONNX GPT with its cache: the imported GPT-2 and our own GPT", async () => {
  const imp = importHf("hf-gpt2", path.join(HF, "gpt2"));
  await checkGpt(model(imp.config, imp.weights) as GPT);
  await checkGpt(
    model(
      gptPreset("gpt-tiny", { vocabSize: 30, positional: "sinusoidal", activation: "silu" }),
    ) as GPT,
  );
});

const hasOnnx = spawnSync("/usr/bin/python3", ["-c", "import onnx"]).status === 0;

test("attn export --to onnx writes graphs that ONNX's checker accepts (scripts/check_onnx.py)", {
  skip: hasOnnx
    ? false
    : '/usr/bin/python3 -c "import onnx" fails: apt-get install python3-onnx to run this',
}, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "attn-onnx-cli-"));
  const ROOT = path.join(import.meta.dirname, "..", "..");
  const files: string[] = [];
  for (const family of ["hf-marian", "hf-gpt2"] as const) {
    const ck = path.join(tmp, family);
    importToCheckpoint(family, path.join(HF, family.slice(3)), ck);
    const out = path.join(tmp, `${family}-onnx`);
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(ROOT, "src/cli/main.ts"),
        "export",
        "--to",
        "onnx",
        ck,
        "--out",
        out,
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /onnxruntime-node/);
    files.push(
      ...fs
        .readdirSync(out)
        .filter((f) => f.endsWith(".onnx"))
        .map((f) => path.join(out, f)),
    );
  }
  assert.equal(files.length, 3);
  const c = spawnSync("/usr/bin/python3", [path.join(ROOT, "scripts/check_onnx.py"), ...files], {
    encoding: "utf8",
  });
  assert.equal(c.status, 0, `${c.stdout}${c.stderr}`);
  assert.equal(c.stdout.trim().split("\n").length, 3);
});
