/** Embedding lookup: rows of a table gathered by token id; backward scatters gradients back (adding repeats). */
import type { FloatArray } from "../../backend/backend.js";
import { AttnError } from "../../errors.js";
import { record } from "../autograd.js";
import { getBackend } from "../engine.js";
import { fmt } from "../shape.js";
import { Tensor } from "../tensor.js";
import { assertFloat, assertInt, contiguousData } from "./util.js";

/** table [V, D] indexed by ids [...] -> [..., D]. */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  assertFloat("embedding", table);
  assertInt("embedding", ids, "token ids");
  if (table.rank !== 2)
    throw new AttnError(`embedding: table must be [vocab, dim], got ${fmt(table.shape)}`);
  const [V, D] = table.shape;
  const ic = contiguousData(ids);
  const idData = ic.tensor.data as Int32Array;
  for (let i = 0; i < ids.size; i++) {
    const id = idData[ic.offset + i];
    if (id < 0 || id >= V) {
      throw new AttnError(
        `embedding: token id ${id} is outside the vocabulary of ${V} (ids ${fmt(ids.shape)})`,
      );
    }
  }
  const tc = contiguousData(table);
  const out = Tensor.uninit([...ids.shape, D], table.dtype);
  getBackend().gather({
    table: tc.tensor.data.subarray(tc.offset) as FloatArray,
    ids: idData,
    idsOffset: ic.offset,
    out: out.data as FloatArray,
    rows: ids.size,
    cols: D,
  });
  return record(out, "embedding", [table], (g) => {
    const gc = contiguousData(g);
    const dtable = Tensor.empty([V, D], table.dtype);
    getBackend().scatterAdd({
      dy: gc.tensor.data.subarray(gc.offset) as FloatArray,
      ids: idData,
      idsOffset: ic.offset,
      dtable: dtable.data as FloatArray,
      rows: ids.size,
      cols: D,
    });
    return [dtable];
  });
}
