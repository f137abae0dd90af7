import type { FloatArray, MatmulArgs } from "../backend.js";

/**
 * Batched C = alpha·A·B (+ C) in plain TypeScript. B is first packed into a
 * contiguous K×N panel (unless it already is one), then a 4×4 block of C is
 * accumulated in 16 local variables per pass over k. Register blocking like
 * this is about 4× faster than the textbook i-k-j loop in V8.
 */
export function matmul({ M, N, K, a, b, c, alpha, accumulate }: MatmulArgs): void {
  const packed =
    b.colStride === 1
      ? null
      : b.data instanceof Float64Array
        ? new Float64Array(K * N)
        : new Float32Array(K * N);
  for (let batch = 0; batch < c.offsets.length; batch++) {
    let B: FloatArray;
    let bo: number;
    let ldb: number;
    if (packed) {
      const src = b.data;
      const o = b.offsets[batch];
      // Only re-pack when this batch entry reads a different B (broadcast batches repeat offsets).
      if (batch === 0 || b.offsets[batch] !== b.offsets[batch - 1]) {
        for (let k = 0; k < K; k++)
          for (let j = 0; j < N; j++)
            packed[k * N + j] = src[o + k * b.rowStride + j * b.colStride];
      }
      B = packed;
      bo = 0;
      ldb = N;
    } else {
      B = b.data;
      bo = b.offsets[batch];
      ldb = b.rowStride;
    }
    gemmBlock(
      M,
      N,
      K,
      a.data,
      a.offsets[batch],
      a.rowStride,
      a.colStride,
      B,
      bo,
      ldb,
      c.data,
      c.offsets[batch],
      c.ldc,
      alpha,
      accumulate,
    );
  }
}

function gemmBlock(
  M: number,
  N: number,
  K: number,
  A: FloatArray,
  ao: number,
  ars: number,
  acs: number,
  B: FloatArray,
  bo: number,
  ldb: number,
  C: FloatArray,
  co: number,
  ldc: number,
  alpha: number,
  acc: boolean,
): void {
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    const a0 = ao + i * ars;
    const a1 = a0 + ars;
    const a2 = a1 + ars;
    const a3 = a2 + ars;
    for (let j = 0; j < N4; j += 4) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let k = 0, bk = bo + j, ak = 0; k < K; k++, bk += ldb, ak += acs) {
        const b0 = B[bk];
        const b1 = B[bk + 1];
        const b2 = B[bk + 2];
        const b3 = B[bk + 3];
        const x0 = A[a0 + ak];
        const x1 = A[a1 + ak];
        const x2 = A[a2 + ak];
        const x3 = A[a3 + ak];
        c00 += x0 * b0;
        c01 += x0 * b1;
        c02 += x0 * b2;
        c03 += x0 * b3;
        c10 += x1 * b0;
        c11 += x1 * b1;
        c12 += x1 * b2;
        c13 += x1 * b3;
        c20 += x2 * b0;
        c21 += x2 * b1;
        c22 += x2 * b2;
        c23 += x2 * b3;
        c30 += x3 * b0;
        c31 += x3 * b1;
        c32 += x3 * b2;
        c33 += x3 * b3;
      }
      store4(C, co + i * ldc + j, alpha, acc, c00, c01, c02, c03);
      store4(C, co + (i + 1) * ldc + j, alpha, acc, c10, c11, c12, c13);
      store4(C, co + (i + 2) * ldc + j, alpha, acc, c20, c21, c22, c23);
      store4(C, co + (i + 3) * ldc + j, alpha, acc, c30, c31, c32, c33);
    }
  }
  // Edges: the last M % 4 rows, and the last N % 4 columns of the blocked rows.
  for (let i = 0; i < M; i++) {
    const j0 = i < M4 ? N4 : 0;
    const ai = ao + i * ars;
    for (let j = j0; j < N; j++) {
      let s = 0;
      for (let k = 0, bk = bo + j, ak = ai; k < K; k++, bk += ldb, ak += acs) s += A[ak] * B[bk];
      const ci = co + i * ldc + j;
      C[ci] = acc ? C[ci] + alpha * s : alpha * s;
    }
  }
}

function store4(
  C: FloatArray,
  at: number,
  alpha: number,
  acc: boolean,
  x0: number,
  x1: number,
  x2: number,
  x3: number,
): void {
  if (acc) {
    C[at] += alpha * x0;
    C[at + 1] += alpha * x1;
    C[at + 2] += alpha * x2;
    C[at + 3] += alpha * x3;
  } else {
    C[at] = alpha * x0;
    C[at + 1] = alpha * x1;
    C[at + 2] = alpha * x2;
    C[at + 3] = alpha * x3;
  }
}
