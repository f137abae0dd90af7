/**
 * The learning test of the whole stack: an encoder-decoder trained on the copy
 * task (vocabulary 11, length 10, as in the Annotated Transformer) copies 200
 * fresh sequences exactly with greedy decoding.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { useBackend } from "../../src/backend/select.js";
import { makeSeq2SeqBatch } from "../../src/data/batching.js";
import { TaskSource } from "../../src/data/sources.js";
import { getTask, makeSplit } from "../../src/data/tasks.js";
import { greedyDecode } from "../../src/generate/index.js";
import { type EncoderDecoderConfig, presetConfig } from "../../src/models/config.js";
import { Transformer } from "../../src/models/transformer.js";
import { fromArray, manualSeed } from "../../src/tensor/index.js";
import { trainCharTokenizer } from "../../src/tokenizers/index.js";
import { Adam } from "../../src/train/optim.js";
import { seq2seqTrainable } from "../../src/train/recipe.js";
import { cosineSchedule } from "../../src/train/schedules.js";
import { Trainer } from "../../src/train/trainer.js";

test("copy task: 100% exact match on 200 fresh sequences", async () => {
  useBackend();
  manualSeed(1);
  const task = getTask("copy");
  const tok = trainCharTokenizer([task.alphabet]);
  assert.equal(tok.vocabSize, 11);
  const model = new Transformer(
    presetConfig("s2s-tiny", {
      vocabSize: tok.vocabSize,
      dModel: 64,
      heads: 4,
      dFF: 128,
      encoderLayers: 2,
      decoderLayers: 2,
      dropout: 0,
      maxLen: 16,
      seed: 1,
    }) as EncoderDecoderConfig,
  );
  const steps = 400;
  const trainer = new Trainer({
    model: seq2seqTrainable(model, 0),
    data: new TaskSource(task, (s) => tok.encode(s), 64, 7),
    optimizer: new Adam(model.parameters(), { lr: 3e-3 }),
    schedule: cosineSchedule({ peakLr: 3e-3, warmup: 40, totalSteps: steps, minLr: 1e-4 }),
    clipNorm: 1,
    maxSteps: steps,
  });
  await trainer.run();
  model.eval();
  const fresh = makeSplit(task, 424242, 200);
  const b = makeSeq2SeqBatch(fresh.map((p) => ({ src: tok.encode(p.src), tgt: [] })));
  const out = greedyDecode(model, fromArray(b.src, [b.size, b.srcLen], "int32"), { maxLen: 12 });
  const correct = out.filter((ids, i) => tok.decode(ids) === fresh[i].tgt).length;
  console.log(`copy task: ${correct}/200 exact after ${steps} steps`);
  assert.equal(correct, 200);
});
