/*
 * AVX2 + FMA micro-kernels.  Built as its own static library with
 * -mavx2 -mfma; only called after __builtin_cpu_supports("avx2") && ("fma").
 * Tile 6 x 16: 12 ymm accumulators + 2 B vectors + 1 broadcast of 16 ymm.
 */
#include "gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>

#define ATTN_MR 6
#define ATTN_NR 16
#define ATTN_MC 144
#define ATTN_KC 256
#define ATTN_NC 2048
#ifndef ATTN_SMALL_M
#define ATTN_SMALL_M 8   /* measured crossover vs packing, B row-major */
#endif
#ifndef ATTN_SMALL_M_T
#define ATTN_SMALL_M_T 32 /* same, B column-major (B^T given) */
#endif
#define ATTN_NAME "avx2"
#define ATTN_FN(x) x##_avx2

#define INLINE static inline __attribute__((always_inline))

/* Lane mask with the first n (0..8) lanes set. */
INLINE __m256i tail_mask8(int n) {
  n = n < 0 ? 0 : n > 8 ? 8 : n;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static void ukernel(int kc, const float *restrict a, const float *restrict b, float *restrict c,
                    ptrdiff_t ldc, int m, int n, float alpha, float beta) {
  __m256 acc[ATTN_MR][2];
#pragma GCC unroll 8
  for (int i = 0; i < ATTN_MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 8
    for (int i = 0; i < ATTN_MR; i++) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += ATTN_MR;
    b += ATTN_NR;
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  const __m256i m0 = tail_mask8(n), m1 = tail_mask8(n - 8);
  const int full = n == ATTN_NR;
#pragma GCC unroll 8
  for (int i = 0; i < ATTN_MR; i++) {
    if (i >= m) break;
    float *ci = c + i * ldc;
    __m256 r0 = _mm256_mul_ps(acc[i][0], va), r1 = _mm256_mul_ps(acc[i][1], va);
    if (full) {
      if (beta != 0.0f) {
        r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r0);
        r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), r1);
      }
      _mm256_storeu_ps(ci, r0);
      _mm256_storeu_ps(ci + 8, r1);
    } else {
      if (beta != 0.0f) {
        r0 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(ci, m0), r0);
        r1 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(ci + 8, m1), r1);
      }
      _mm256_maskstore_ps(ci, m0, r0);
      _mm256_maskstore_ps(ci + 8, m1, r1);
    }
  }
}

/* ---- small M, B(k,j) = b[k*ldb + j]: R (<=2) rows x 32 columns ---- */
INLINE void small_nn_block(int R, int k, float alpha, const float *a, ptrdiff_t ars,
                           ptrdiff_t acs, const float *b, ptrdiff_t ldb, float beta, float *c,
                           ptrdiff_t ldc, int n) {
  __m256 acc[2][4];
  __m256i mask[4];
  for (int v = 0; v < 4; v++) mask[v] = tail_mask8(n - 8 * v);
  for (int r = 0; r < R; r++)
    for (int v = 0; v < 4; v++) acc[r][v] = _mm256_setzero_ps();
  if (n >= 32) {
    for (int p = 0; p < k; p++) {
      const float *bp = b + p * ldb;
      const __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
      const __m256 b2 = _mm256_loadu_ps(bp + 16), b3 = _mm256_loadu_ps(bp + 24);
      for (int r = 0; r < R; r++) {
        const __m256 ar = _mm256_broadcast_ss(a + r * ars + p * acs);
        acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
        acc[r][2] = _mm256_fmadd_ps(ar, b2, acc[r][2]);
        acc[r][3] = _mm256_fmadd_ps(ar, b3, acc[r][3]);
      }
    }
  } else {
    for (int p = 0; p < k; p++) {
      const float *bp = b + p * ldb;
      __m256 bv[4];
      for (int v = 0; v < 4; v++) bv[v] = _mm256_maskload_ps(bp + 8 * v, mask[v]);
      for (int r = 0; r < R; r++) {
        const __m256 ar = _mm256_broadcast_ss(a + r * ars + p * acs);
        for (int v = 0; v < 4; v++) acc[r][v] = _mm256_fmadd_ps(ar, bv[v], acc[r][v]);
      }
    }
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  for (int r = 0; r < R; r++)
    for (int v = 0; v < 4; v++) {
      float *cp = c + r * ldc + 8 * v;
      __m256 x = _mm256_mul_ps(acc[r][v], va);
      if (beta != 0.0f) x = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cp, mask[v]), x);
      _mm256_maskstore_ps(cp, mask[v], x);
    }
}

/* m == 1: 64-column strips (8 ymm accumulators), B loads feed the FMAs directly. */
static void small_nn_row(int n, int k, float alpha, const float *a, ptrdiff_t acs, const float *b,
                         ptrdiff_t ldb, float beta, float *c) {
  for (int j0 = 0; j0 < n; j0 += 64) {
    const int w = n - j0;
    __m256i mask[8];
    __m256 acc[8];
    for (int v = 0; v < 8; v++) {
      mask[v] = tail_mask8(w - 8 * v);
      acc[v] = _mm256_setzero_ps();
    }
    const float *bj = b + j0;
    if (w >= 64) {
      for (int p = 0; p < k; p++) {
        const __m256 ap = _mm256_broadcast_ss(a + p * acs);
        const float *bp = bj + p * ldb;
        for (int v = 0; v < 8; v++) acc[v] = _mm256_fmadd_ps(ap, _mm256_loadu_ps(bp + 8 * v), acc[v]);
      }
    } else {
      for (int p = 0; p < k; p++) {
        const __m256 ap = _mm256_broadcast_ss(a + p * acs);
        const float *bp = bj + p * ldb;
        for (int v = 0; v < 8; v++)
          acc[v] = _mm256_fmadd_ps(ap, _mm256_maskload_ps(bp + 8 * v, mask[v]), acc[v]);
      }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int v = 0; v < 8; v++) {
      float *cp = c + j0 + 8 * v;
      __m256 x = _mm256_mul_ps(acc[v], va);
      if (beta != 0.0f) x = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cp, mask[v]), x);
      _mm256_maskstore_ps(cp, mask[v], x);
    }
  }
}

static void small_nn_cols(int m, int n, int k, float alpha, const float *a, ptrdiff_t ars,
                          ptrdiff_t acs, const float *b, ptrdiff_t ldb, float beta, float *c,
                          ptrdiff_t ldc) {
  if (m == 1) {
    small_nn_row(n, k, alpha, a, acs, b, ldb, beta, c);
    return;
  }
  for (int j0 = 0; j0 < n; j0 += 32) {
    int i0 = 0;
    for (; i0 + 2 <= m; i0 += 2)
      small_nn_block(2, k, alpha, a + i0 * ars, ars, acs, b + j0, ldb, beta, c + i0 * ldc + j0, ldc,
                     n - j0);
    if (i0 < m)
      small_nn_block(1, k, alpha, a + i0 * ars, ars, acs, b + j0, ldb, beta, c + i0 * ldc + j0, ldc,
                     n - j0);
  }
}

/* Floats from p to the next 64-byte boundary (0..15). */
INLINE int floats_to_line(const float *p) { return (int)(((64u - ((uintptr_t)p & 63u)) & 63u) >> 2); }

/* Start the column strips on a cache-line boundary of B when all rows share
 * one alignment (JS buffers are usually 16 mod 64); see small_avx512.h. */
static void small_nn(int m, int n, int k, float alpha, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                     const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
  const int head = floats_to_line(b);
  if (head > 0 && head < n && (ldb & 15) == 0) {
    small_nn_cols(m, head, k, alpha, a, ars, acs, b, ldb, beta, c, ldc);
    b += head;
    c += head;
    n -= head;
  }
  small_nn_cols(m, n, k, alpha, a, ars, acs, b, ldb, beta, c, ldc);
}

INLINE float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/* ---- small M, B(k,j) = b[j*ldb + k]: R (<=2) rows x J (<=4) dot products ---- */
INLINE void small_nt_block(int R, int J, int k, float alpha, const float *a, ptrdiff_t lda,
                           const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
  __m256 acc[2][4];
  for (int r = 0; r < R; r++)
    for (int j = 0; j < J; j++) acc[r][j] = _mm256_setzero_ps();
  int p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 bv[4], av[2];
    for (int j = 0; j < J; j++) bv[j] = _mm256_loadu_ps(b + j * ldb + p);
    for (int r = 0; r < R; r++) av[r] = _mm256_loadu_ps(a + r * lda + p);
    for (int r = 0; r < R; r++)
      for (int j = 0; j < J; j++) acc[r][j] = _mm256_fmadd_ps(av[r], bv[j], acc[r][j]);
  }
  if (p < k) {
    const __m256i mk = tail_mask8(k - p);
    __m256 bv[4], av[2];
    for (int j = 0; j < J; j++) bv[j] = _mm256_maskload_ps(b + j * ldb + p, mk);
    for (int r = 0; r < R; r++) av[r] = _mm256_maskload_ps(a + r * lda + p, mk);
    for (int r = 0; r < R; r++)
      for (int j = 0; j < J; j++) acc[r][j] = _mm256_fmadd_ps(av[r], bv[j], acc[r][j]);
  }
  if (J == 4) {
    const __m128 va = _mm_set1_ps(alpha), vb = _mm_set1_ps(beta);
    for (int r = 0; r < R; r++) {
      /* hadd twice: per 128-bit lane [sum a0, sum a1, sum a2, sum a3], then add lanes */
      const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(acc[r][0], acc[r][1]),
                                      _mm256_hadd_ps(acc[r][2], acc[r][3]));
      __m128 v = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
      v = _mm_mul_ps(va, v);
      if (beta != 0.0f) v = _mm_fmadd_ps(vb, _mm_loadu_ps(c + r * ldc), v);
      _mm_storeu_ps(c + r * ldc, v);
    }
    return;
  }
  for (int r = 0; r < R; r++)
    for (int j = 0; j < J; j++) {
      float v = alpha * hsum256(acc[r][j]);
      if (beta != 0.0f) v += beta * c[r * ldc + j];
      c[r * ldc + j] = v;
    }
}

INLINE void small_nt_rows(int R, int n, int k, float alpha, const float *a, ptrdiff_t lda,
                          const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
  int j0 = 0;
  for (; j0 + 4 <= n; j0 += 4)
    small_nt_block(R, 4, k, alpha, a, lda, b + j0 * ldb, ldb, beta, c + j0, ldc);
  for (; j0 < n; j0++) small_nt_block(R, 1, k, alpha, a, lda, b + j0 * ldb, ldb, beta, c + j0, ldc);
}

/* ---- M <= 4, B column-major: rows of B in memory order (see small_avx512.h:
 * interleaving B rows defeats the hardware prefetcher when B comes from DRAM;
 * 1 x 256 x 256 cold: 27 -> 15 us).  Only for rows of >= 128 floats: shorter
 * ones interleaved are nearly sequential anyway.  Chunks of a row: 8 floats at
 * a time from k = 0, whatever the address.  Every output is computed the same
 * way wherever it is. */
#define NT_SEQ_M 4

INLINE __m128 reduce4_256(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* One B row against R (1..2) rows of A (read from L1): chunk 0 into s[.][0],
 * then chunk i into s[.][i % 4]; four accumulators hide the FMA latency. */
INLINE void nt_dot_row(const int R, int k, int h0, __m256i m0, const float *a, ptrdiff_t lda,
                       const float *bj, __m256 *out) {
  __m256 s[2][4];
  for (int i = 0; i < R; i++) s[i][1] = s[i][2] = s[i][3] = _mm256_setzero_ps();
  const __m256 bv = _mm256_maskload_ps(bj, m0);
  for (int i = 0; i < R; i++) s[i][0] = _mm256_mul_ps(_mm256_maskload_ps(a + i * lda, m0), bv);
  int p = h0;
  for (; p + 32 <= k; p += 32) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; u++) {
      const __m256 b0 = _mm256_loadu_ps(bj + p + 8 * u);
      for (int i = 0; i < R; i++)
        s[i][(u + 1) & 3] =
            _mm256_fmadd_ps(_mm256_loadu_ps(a + i * lda + p + 8 * u), b0, s[i][(u + 1) & 3]);
    }
  }
#pragma GCC unroll 4
  for (int u = 0; u < 4 && p < k; u++, p += 8) { /* up to 31 left: 4 chunks */
    const __m256i mk = tail_mask8(k - p);
    const __m256 b0 = _mm256_maskload_ps(bj + p, mk);
    for (int i = 0; i < R; i++)
      s[i][(u + 1) & 3] =
          _mm256_fmadd_ps(_mm256_maskload_ps(a + i * lda + p, mk), b0, s[i][(u + 1) & 3]);
  }
  for (int i = 0; i < R; i++)
    out[i] = _mm256_add_ps(_mm256_add_ps(s[i][0], s[i][1]), _mm256_add_ps(s[i][2], s[i][3]));
}

INLINE void nt_seq_rows(const int R, int n, int k, int h0, float alpha, const float *a,
                        ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c,
                        ptrdiff_t ldc) {
  const __m256i m0 = tail_mask8(h0 < k ? h0 : k);
  const __m128 va = _mm_set1_ps(alpha), vb = _mm_set1_ps(beta);
  for (int j0 = 0; j0 < n; j0 += 4) {
    const int nr = n - j0 < 4 ? n - j0 : 4;
    __m256 r[4][2];
    for (int q = 0; q < 4; q++) {
      if (q < nr)
        nt_dot_row(R, k, h0, m0, a, lda, b + (j0 + q) * ldb, r[q]);
      else
        r[q][0] = r[q][1] = _mm256_setzero_ps();
    }
    const __m128i sm = _mm_cmpgt_epi32(_mm_set1_epi32(nr), _mm_setr_epi32(0, 1, 2, 3));
    for (int i = 0; i < R; i++) {
      __m128 v = _mm_mul_ps(va, reduce4_256(r[0][i], r[1][i], r[2][i], r[3][i]));
      if (beta != 0.0f) v = _mm_fmadd_ps(vb, _mm_maskload_ps(c + i * ldc + j0, sm), v);
      _mm_maskstore_ps(c + i * ldc + j0, sm, v);
    }
  }
}

/* Blocks of ~256 KB of B, row pairs of A inside: a second pair re-reads the
 * block from L2 instead of DRAM. */
static void nt_seq(int m, int n, int k, float alpha, const float *a, ptrdiff_t lda,
                   const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
  /* Chunks start at k = 0, whatever the address: the summation order (and so the
   * result) must not depend on where the buffer sits in memory. */
  const int h0 = 8;
  int blk = (65536 / (k > 0 ? k : 1)) & ~3;
  if (blk < 4) blk = 4;
  for (int j0 = 0; j0 < n; j0 += blk) {
    const int nb = n - j0 < blk ? n - j0 : blk;
    const float *bj = b + j0 * ldb;
    for (int i0 = 0; i0 < m; i0 += 2) {
      if (m - i0 >= 2)
        nt_seq_rows(2, nb, k, h0, alpha, a + i0 * lda, lda, bj, ldb, beta, c + i0 * ldc + j0, ldc);
      else
        nt_seq_rows(1, nb, k, h0, alpha, a + i0 * lda, lda, bj, ldb, beta, c + i0 * ldc + j0, ldc);
    }
  }
}

/* Column blocks of 64 outer, row pairs inner (B block stays in cache). */
static void small_nt(int m, int n, int k, float alpha, const float *a, ptrdiff_t lda,
                     const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
  if (m <= NT_SEQ_M && k >= 128) {
    nt_seq(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  for (int j0 = 0; j0 < n; j0 += 64) {
    const int nb = n - j0 < 64 ? n - j0 : 64;
    const float *bj = b + j0 * ldb;
    float *cj = c + j0;
    int i0 = 0;
    for (; i0 + 2 <= m; i0 += 2)
      small_nt_rows(2, nb, k, alpha, a + i0 * lda, lda, bj, ldb, beta, cj + i0 * ldc, ldc);
    if (i0 < m) small_nt_rows(1, nb, k, alpha, a + i0 * lda, lda, bj, ldb, beta, cj + i0 * ldc, ldc);
  }
}

#include "gemm_impl.h"

#endif /* __x86_64__ */
