/**
 * The decode loop reads nothing synchronously on its hot path: on a backend
 * whose memory the CPU cannot read (the reference backend posing as a device,
 * values back only through an async `download`), `decodeBatch` refuses with
 * the readSync error while `decodeBatchAsync` decodes, greedy and beam, to
 * exactly what the CPU gives; and it frees its memory when done.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { DType, TypedArray } from "../../src/backend/backend.js";
import { ReferenceBackend } from "../../src/backend/reference/index.js";
import { decodeBatch, decodeBatchAsync } from "../../src/generate/index.js";
import { type EncoderDecoderConfig, presetConfig } from "../../src/models/config.js";
import { Transformer } from "../../src/models/transformer.js";
import { getBackend, setBackend } from "../../src/tensor/index.js";

/** Values leave only through download, as from a GPU. */
class DeviceLike extends ReferenceBackend {
  override readonly name = "device-like";
  /** Arrays handed out and not yet released. */
  live = 0;
  override allocate(dtype: DType, size: number, zero?: boolean): TypedArray {
    this.live++;
    return super.allocate(dtype, size, zero);
  }
  override release(data: TypedArray): void {
    this.live--;
    super.release(data);
  }
  async download(data: TypedArray, offset: number, size: number): Promise<TypedArray> {
    await new Promise((r) => setTimeout(r, 0));
    return data.slice(offset, offset + size);
  }
}

const model = () =>
  new Transformer(
    presetConfig("s2s-tiny", {
      vocabSize: 19,
      dModel: 16,
      dFF: 32,
      maxLen: 40,
      seed: 5,
    }) as EncoderDecoderConfig,
  ).eval();
const sources = [[5, 6, 7, 8], [9], [10, 11, 12, 13, 14, 15], [4, 4]];

describe("decoding on a backend without synchronous reads", () => {
  const prev = getBackend();
  after(() => setBackend(prev));

  for (const opts of [
    {},
    { beam: 3 },
    { beam: 2, maxLen: 3 },
    { beam: 4, beamStop: "k-closed" as const },
  ]) {
    test(`decodeBatchAsync equals the CPU's decodeBatch (${JSON.stringify(opts)})`, async () => {
      setBackend(new ReferenceBackend());
      const want = decodeBatch(model(), sources, opts);
      const device = new DeviceLike();
      setBackend(device);
      const m = model();
      const before = device.live;
      assert.throws(() => decodeBatch(m, sources, opts), /readSync/);
      assert.equal(device.live, before, "a failed read frees the loop's memory");
      const got = await decodeBatchAsync(m, sources, opts);
      assert.deepEqual(got, want);
      assert.equal(device.live, before, "the loop freed what it made");
    });
  }
});
