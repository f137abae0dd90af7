/** The README's library example works as written (through the package entry point). */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Transformer,
  encoderDecoderPreset,
  fromArray,
  greedyDecode,
  recordIntermediates,
} from "../../src/index.js";

test("README library example", () => {
  const model = new Transformer(encoderDecoderPreset("s2s-tiny", { vocabSize: 64 })).eval();
  const src = fromArray([[5, 6, 7, 2]], undefined, "int32");
  const out = greedyDecode(model, src, { maxLen: 10 });
  assert.equal(out.length, 1);
  const { tensors } = recordIntermediates(() =>
    model.forward(src, fromArray([[1, 9]], undefined, "int32")),
  );
  assert.deepEqual(tensors.get("decoder.layers.0.cross_attn.weights")?.shape, [1, 4, 2, 4]);
});
