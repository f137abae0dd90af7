/**
 * Walking several strided views of one shape together. Dimensions are first
 * coalesced (merged when every operand is contiguous across them) so the common
 * cases become one long inner loop.
 */

export interface RowPlan {
  /** Length of the innermost loop. */
  inner: number;
  /** Inner stride of each operand. */
  innerStrides: number[];
  /** Number of inner loops. */
  rows: number;
  /** For each operand, the start offset of every row. */
  rowOffsets: Int32Array[];
}

/** Plans rows over `shape` for operands with the given strides and base offsets. */
export function planRows(
  shape: readonly number[],
  strides: (readonly number[])[],
  bases: number[],
): RowPlan {
  // Drop size-1 dimensions, then merge neighbours that are contiguous for every operand.
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, i) => st[i][last] === s[d] * shape[d])) {
      dims[last] *= shape[d];
      strides.forEach((s, i) => {
        st[i][last] = s[d];
      });
    } else {
      dims.push(shape[d]);
      strides.forEach((s, i) => {
        st[i].push(s[d]);
      });
    }
  }
  if (dims.length === 0) {
    return {
      inner: 1,
      innerStrides: strides.map(() => 0),
      rows: 1,
      rowOffsets: bases.map((b) => Int32Array.of(b)),
    };
  }
  const r = dims.length;
  const inner = dims[r - 1];
  let rows = 1;
  for (let d = 0; d < r - 1; d++) rows *= dims[d];
  const rowOffsets = bases.map(() => new Int32Array(rows));
  const counter = new Array<number>(Math.max(0, r - 1)).fill(0);
  const cur = bases.slice();
  for (let row = 0; row < rows; row++) {
    for (let i = 0; i < bases.length; i++) rowOffsets[i][row] = cur[i];
    // Advance the odometer over the outer dimensions.
    for (let d = r - 2; d >= 0; d--) {
      counter[d]++;
      for (let i = 0; i < bases.length; i++) cur[i] += st[i][d];
      if (counter[d] < dims[d]) break;
      counter[d] = 0;
      for (let i = 0; i < bases.length; i++) cur[i] -= st[i][d] * dims[d];
    }
  }
  return { inner, innerStrides: st.map((s) => s[r - 1]), rows, rowOffsets };
}
