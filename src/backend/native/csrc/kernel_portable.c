/*
 * Portable kernels: plain C loops with compile-time trip counts so the
 * compiler can auto-vectorise them (SSE2 on baseline x86-64, NEON on arm64).
 * Used on CPUs without AVX2/AVX-512 and on non-x86 machines.
 */
#include "gemm.h"

#ifndef ATTN_MR
#if defined(__aarch64__)
#define ATTN_MR 6 /* 32 NEON registers: 6 x 4 accumulators + 4 B vectors */
#define ATTN_NR 16
#else
#define ATTN_MR 4 /* 16 SSE registers: 4 x 2 accumulators + 2 B vectors */
#define ATTN_NR 8
#endif
#endif
#define ATTN_MC 120
#define ATTN_KC 256
#define ATTN_NC 2048
#ifndef ATTN_SMALL_M
#define ATTN_SMALL_M 8   /* measured crossover vs packing, B row-major */
#endif
#ifndef ATTN_SMALL_M_T
#define ATTN_SMALL_M_T 4 /* same, B column-major (B^T given) */
#endif
#define ATTN_NAME "portable"
#define ATTN_FN(x) x##_portable

static void ukernel(int kc, const float *restrict a, const float *restrict b, float *restrict c,
                    ptrdiff_t ldc, int m, int n, float alpha, float beta) {
  float acc[ATTN_MR][ATTN_NR];
  for (int i = 0; i < ATTN_MR; i++)
    for (int j = 0; j < ATTN_NR; j++) acc[i][j] = 0.0f;
  for (int p = 0; p < kc; p++) {
    for (int i = 0; i < ATTN_MR; i++) {
      const float ai = a[i];
      for (int j = 0; j < ATTN_NR; j++) acc[i][j] += ai * b[j];
    }
    a += ATTN_MR;
    b += ATTN_NR;
  }
  for (int i = 0; i < m; i++) {
    float *ci = c + i * ldc;
    if (beta == 0.0f)
      for (int j = 0; j < n; j++) ci[j] = alpha * acc[i][j];
    else
      for (int j = 0; j < n; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
  }
}

/* B(k,j) = b[k*ldb + j]: one row of C at a time, 64-column strips kept in a
 * local accumulator (axpy form, vectorises along j). */
static void small_nn(int m, int n, int k, float alpha, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                     const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
  float acc[64];
  for (int i = 0; i < m; i++) {
    for (int j0 = 0; j0 < n; j0 += 64) {
      const int w = n - j0 < 64 ? n - j0 : 64;
      for (int j = 0; j < 64; j++) acc[j] = 0.0f;
      if (w == 64) {
        for (int p = 0; p < k; p++) {
          const float ap = a[i * ars + p * acs];
          const float *bp = b + p * ldb + j0;
          for (int j = 0; j < 64; j++) acc[j] += ap * bp[j];
        }
      } else {
        for (int p = 0; p < k; p++) {
          const float ap = a[i * ars + p * acs];
          const float *bp = b + p * ldb + j0;
          for (int j = 0; j < w; j++) acc[j] += ap * bp[j];
        }
      }
      float *ci = c + i * ldc + j0;
      if (beta == 0.0f)
        for (int j = 0; j < w; j++) ci[j] = alpha * acc[j];
      else
        for (int j = 0; j < w; j++) ci[j] = alpha * acc[j] + beta * ci[j];
    }
  }
}

/* B(k,j) = b[j*ldb + k]: dot products with 8 partial sums (vectorisable
 * without reassociation flags). */
static void small_nt(int m, int n, int k, float alpha, const float *a, ptrdiff_t lda,
                     const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
  for (int i = 0; i < m; i++) {
    const float *ai = a + i * lda;
    for (int j = 0; j < n; j++) {
      const float *bj = b + j * ldb;
      float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int p = 0;
      for (; p + 8 <= k; p += 8)
        for (int q = 0; q < 8; q++) s[q] += ai[p + q] * bj[p + q];
      float t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
      for (; p < k; p++) t += ai[p] * bj[p];
      float v = alpha * t;
      if (beta != 0.0f) v += beta * c[i * ldc + j];
      c[i * ldc + j] = v;
    }
  }
}

#include "gemm_impl.h"
