/**
 * Layer-by-layer parity with PyTorch: every recorded intermediate, the
 * logits, the loss and every parameter gradient match the golden fixtures
 * (scripts/make_fixtures.py) within 1e-4 absolute or relative.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MultiHeadAttention } from "../../src/nn/attention.js";
import { recordIntermediates } from "../../src/nn/hooks.js";
import { causalMask, combineMasks } from "../../src/nn/masks.js";
import type { Module } from "../../src/nn/module.js";
import { DecoderLayer, EncoderLayer, type LayerOptions } from "../../src/models/blocks.js";
import {
  type EncoderDecoderConfig,
  type GPTConfig,
  presetConfig,
} from "../../src/models/config.js";
import { GPT } from "../../src/models/gpt.js";
import { Transformer } from "../../src/models/transformer.js";
import { Mulberry32, type Tensor, mul, reshape, sum, tidy, zeros } from "../../src/tensor/index.js";
import {
  type Fixture,
  compareValues,
  fixtureTensor,
  loadFixture,
  withPrefix,
} from "../helpers/fixtures.js";

function loadParams(m: Module, f: Fixture): void {
  const state = new Map<string, { shape: number[]; values: ArrayLike<number> }>();
  for (const [k, v] of withPrefix(f, "param.")) state.set(k, { shape: v.shape, values: v.data });
  m.loadStateDict(state, true);
}

function layerOptions(c: Record<string, unknown>): LayerOptions {
  return {
    dModel: c.dModel as number,
    heads: c.heads as number,
    dFF: (c.dFF as number) ?? 4,
    dropout: 0,
    attnDropout: 0,
    normPlacement: (c.normPlacement as "post" | "pre") ?? "post",
    activation: (c.activation as "relu") ?? "relu",
    attnBias: c.attnBias as boolean,
    attnOutputBias: c.attnBias as boolean,
    ffnBias: true,
    lnEps: (c.lnEps as number) ?? 1e-5,
    positional: "none",
    init: (o, i) => zeros([o, i]),
    rng: new Mulberry32(0),
  };
}

/** [B, Tk] 1 = PAD  ->  [B, 1, 1, Tk] */
function padMask(f: Fixture, key: string): Tensor {
  const t = fixtureTensor(f, key);
  return reshape(t, [t.shape[0], 1, 1, t.shape[1]]);
}

function modelConfig(f: Fixture): EncoderDecoderConfig | GPTConfig {
  const c = f.config;
  const common = {
    vocabSize: c.vocabSize as number,
    dModel: c.dModel as number,
    heads: c.heads as number,
    dFF: c.dFF as number,
    dropout: 0,
    attnDropout: 0,
    normPlacement: c.normPlacement as "post" | "pre",
    positional: c.positional as "sinusoidal",
    maxLen: c.maxLen as number,
    activation: c.activation as "relu",
    attnBias: c.attnBias as boolean,
    lnEps: c.lnEps as number,
    tieOutput: true,
    scaleEmbedding: c.scaleEmbedding as boolean,
  };
  if (f.kind === "gpt")
    return presetConfig("gpt-tiny", { ...common, layers: c.layers as number }) as GPTConfig;
  return presetConfig("s2s-tiny", {
    ...common,
    encoderLayers: c.encoderLayers as number,
    decoderLayers: c.decoderLayers as number,
    shareEmbeddings: true,
  }) as EncoderDecoderConfig;
}

/** Builds the module for a fixture and returns it with a function computing the fixture's scalar loss. */
function build(f: Fixture): {
  module: Module;
  run: () => Tensor;
  floatInputs: Map<string, Tensor>;
} {
  const c = f.config;
  const floatInputs = new Map<string, Tensor>();
  const input = (key: string) => {
    const t = fixtureTensor(f, `input.${key}`);
    if (t.dtype === "float32") {
      t.requiresGrad = true;
      floatInputs.set(key, t);
    }
    return t;
  };
  const dotLoss = (out: Tensor) => sum(mul(out, fixtureTensor(f, "input.dout")));
  switch (f.kind) {
    case "mha": {
      const o = layerOptions(c);
      const m = new MultiHeadAttention({ ...o, bias: o.attnBias }, !c.cross);
      m.namedModules();
      const q = input("query");
      const kv = c.cross ? input("key_value") : q;
      const pad = padMask(f, "input.key_padding_mask");
      const mask = c.causal ? combineMasks(causalMask(q.shape[1]), pad) : pad;
      return { module: m, floatInputs, run: () => dotLoss(m.forward(q, kv, { mask })) };
    }
    case "encoder_layer": {
      const m = new EncoderLayer(layerOptions(c));
      m.namedModules();
      const x = input("x");
      const mask = padMask(f, "input.key_padding_mask");
      return { module: m, floatInputs, run: () => dotLoss(m.forward(x, mask)) };
    }
    case "decoder_layer": {
      const m = new DecoderLayer(layerOptions(c));
      m.namedModules();
      const x = input("x");
      const memory = input("memory");
      const selfMask = combineMasks(causalMask(x.shape[1]), padMask(f, "input.tgt_padding_mask"));
      const memMask = padMask(f, "input.src_padding_mask");
      return {
        module: m,
        floatInputs,
        run: () => dotLoss(m.forward(x, memory, selfMask, memMask)),
      };
    }
    case "encdec": {
      const m = new Transformer(modelConfig(f) as EncoderDecoderConfig);
      const src = input("src");
      const tgtIn = input("tgt_in");
      const tgtOut = input("tgt_out");
      return {
        module: m,
        floatInputs,
        run: () => m.loss(src, tgtIn, tgtOut, c.labelSmoothing as number).loss,
      };
    }
    case "gpt": {
      const m = new GPT(modelConfig(f) as GPTConfig);
      const tokens = input("tokens");
      const targets = input("targets");
      return {
        module: m,
        floatInputs,
        run: () => m.loss(tokens, targets, c.labelSmoothing as number).loss,
      };
    }
    default:
      throw new Error(`unknown fixture kind ${f.kind}`);
  }
}

const FIXTURES = [
  "mha_self",
  "mha_cross",
  "encoder_layer_post",
  "encoder_layer_pre",
  "decoder_layer_post",
  "decoder_layer_pre",
  "encdec_post",
  "encdec_pre_learned",
  "gpt",
  "gpt_rope",
  "gpt_alibi",
];

describe("parity with PyTorch", () => {
  for (const name of FIXTURES) {
    test(name, () => {
      const f = loadFixture(name);
      tidy(() => {
        const { module, run, floatInputs } = build(f);
        loadParams(module, f);
        module.eval();
        const { result: loss, tensors } = recordIntermediates(run);
        const expected = withPrefix(f, "out.");
        const failures: string[] = [];
        let checked = 0;
        for (const [key, exp] of expected) {
          const got =
            key === "loss" && !tensors.has("loss")
              ? { shape: [], values: loss.readSync() }
              : tensors.get(key);
          if (!got) {
            failures.push(`${key}: not recorded`);
            continue;
          }
          assert.deepEqual(got.shape, exp.shape, `${name}: ${key} shape`);
          const c = compareValues(got.values, exp.data);
          if (!c.ok) failures.push(`${key}: ${c.worst}`);
          checked++;
        }
        loss.backward();
        const grads = withPrefix(f, "grad.");
        for (const [pname, p] of module.namedParameters()) {
          const exp = grads.get(pname);
          if (!exp) {
            failures.push(`grad ${pname}: missing in fixture`);
            continue;
          }
          const c = compareValues(p.grad ? p.grad.readSync() : new Float32Array(p.size), exp.data);
          if (!c.ok) failures.push(`grad ${pname}: ${c.worst}`);
          checked++;
        }
        assert.equal(
          grads.size,
          module.namedParameters().length,
          `${name}: parameter count differs from fixture`,
        );
        for (const [key, exp] of withPrefix(f, "grad_input.")) {
          const t = floatInputs.get(key);
          const c = compareValues(t?.grad?.readSync() ?? [], exp.data);
          if (!c.ok) failures.push(`grad_input ${key}: ${c.worst}`);
          checked++;
        }
        assert.deepEqual(failures, [], `${name}: ${failures.length} mismatches`);
        assert.ok(checked > 10, `${name}: only ${checked} values checked`);
      });
    });
  }
});
