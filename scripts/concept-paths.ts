/**
 * The figure of the rnn-vs-transformer chapter that needs no trained model:
 * the paper's Table 1 (§4) as numbers, the longest path a signal travels
 * between two of n positions in one layer of each kind, for n up to the
 * shipped dates model's maxLen.
 */
import fs from "node:fs";
import type { Spec } from "./concept-svg.js";

/** Layers a dilated convolution of kernel k needs to connect n positions: the least L with k^L ≥ n. */
function dilatedLayers(n: number, k: number): number {
  let L = 0;
  for (let reach = 1; reach < n; reach *= k) L++;
  return L;
}

export function pathLengthSpec(): Spec {
  const config = JSON.parse(fs.readFileSync("web/public/checkpoints/dates/config.json", "utf8"));
  const maxLen: number = config.model.maxLen;
  const k = 3;
  const r = 4;
  const kinds: [string, (n: number) => number][] = [
    ["self-attention: O(1)", () => 1],
    ["recurrent: O(n)", (n) => n - 1],
    [`convolution, dilated, k = ${k}: O(log_k n)`, (n) => dilatedLayers(n, k)],
    [`self-attention restricted to r = ${r} neighbours: O(n/r)`, (n) => Math.ceil((n - 1) / r)],
  ];
  const values = kinds.flatMap(([kind, f]) =>
    Array.from({ length: maxLen - 1 }, (_, i) => ({ n: i + 2, steps: f(i + 2), kind })),
  );
  return {
    title: {
      text: "Maximum path length between two of n positions (§4, Table 1)",
      subtitle: `steps a signal takes from the first position to the last; n up to the dates model's maxLen ${maxLen}`,
    },
    width: 420,
    height: 240,
    data: { values },
    mark: { type: "line", aria: false, interpolate: "step-after" },
    encoding: {
      x: { field: "n", type: "quantitative", title: "sequence length n" },
      y: { field: "steps", type: "quantitative", title: "maximum path length" },
      color: {
        field: "kind",
        type: "nominal",
        title: null,
        sort: null,
        legend: { orient: "top", columns: 1 },
      },
    },
  };
}
