import type { FloatArray, MatmulOperand } from "../backend.js";

/**
 * Batched C = alpha·A·B (+ C). Two loop orders: when B's rows are contiguous
 * the i-k-j order streams rows of B and C; otherwise (B transposed, the
 * "NT" case) each C element is a dot product along k.
 */
export function matmul(
  M: number,
  N: number,
  K: number,
  a: MatmulOperand,
  b: MatmulOperand,
  c: { data: FloatArray; offsets: Int32Array; ldc: number },
  alpha: number,
  accumulate: boolean,
): void {
  const A = a.data;
  const B = b.data;
  const C = c.data;
  const { rowStride: ars, colStride: acs } = a;
  const { rowStride: brs, colStride: bcs } = b;
  const ldc = c.ldc;
  for (let batch = 0; batch < c.offsets.length; batch++) {
    const ao = a.offsets[batch];
    const bo = b.offsets[batch];
    const co = c.offsets[batch];
    if (!accumulate) for (let i = 0; i < M; i++) C.fill(0, co + i * ldc, co + i * ldc + N);
    if (bcs === 1) {
      for (let i = 0; i < M; i++) {
        const crow = co + i * ldc;
        for (let k = 0; k < K; k++) {
          const aik = alpha * A[ao + i * ars + k * acs];
          const brow = bo + k * brs;
          for (let j = 0; j < N; j++) C[crow + j] += aik * B[brow + j];
        }
      }
    } else {
      for (let i = 0; i < M; i++) {
        const arow = ao + i * ars;
        const crow = co + i * ldc;
        for (let j = 0; j < N; j++) {
          let s = 0;
          let ai = arow;
          let bi = bo + j * bcs;
          for (let k = 0; k < K; k++, ai += acs, bi += brs) s += A[ai] * B[bi];
          C[crow + j] += alpha * s;
        }
      }
    }
  }
}
