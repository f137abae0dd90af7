/*
 * AVX-512F micro-kernels.  Built as its own static library with
 * -mavx512f -mavx512vl -mfma; only called when the CPU has avx512f, avx512vl
 * and fma (checked in gemm.c with __builtin_cpu_supports).
 *
 * C is row-major, so vectors run along N (16 floats per zmm) and A values are
 * broadcast: the MR x NR tile is MR rows x NR/16 zmm accumulators.
 * Tile 6 x 64: 24 accumulators + 4 B vectors + 1 broadcast (measured on Zen 4
 * against 14x32, 12x32, 8x48: 6x64 was 2-5% faster; all ~93% of FMA peak).
 * Right-edge panels narrower than 64 columns run a 1-3 vector variant.
 */
#include "gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>

#ifndef ATTN_MR
#define ATTN_MR 6
#endif
#ifndef ATTN_NR
#define ATTN_NR 64
#endif
#ifndef ATTN_MC
#define ATTN_MC 192
#endif
#ifndef ATTN_KC
#define ATTN_KC 384
#endif
#ifndef ATTN_NC
#define ATTN_NC 2048
#endif
#ifndef ATTN_SMALL_M
#define ATTN_SMALL_M 32   /* measured crossover vs packing, B row-major */
#endif
#ifndef ATTN_SMALL_M_T
#define ATTN_SMALL_M_T 32 /* same, B column-major (B^T given) */
#endif
#define ATTN_NAME "avx512"
#define ATTN_FN(x) x##_avx512
#define NV (ATTN_NR / 16)

#define INLINE static inline __attribute__((always_inline))

INLINE __mmask16 tail_mask(int n) {
  return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* C row store: c = alpha*acc (+ beta*c), masked to the first n columns. */
INLINE void store_row(float *c, __m512 acc, __m512 valpha, __m512 vbeta, int use_beta,
                      __mmask16 mask) {
  __m512 r = _mm512_mul_ps(acc, valpha);
  if (use_beta) r = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(mask, c), r);
  _mm512_mask_storeu_ps(c, mask, r);
}

/* MR x (16*nv) tile; nv is a compile-time constant after inlining. */
INLINE void ukernel_nv(const int nv, int kc, const float *restrict a, const float *restrict b,
                       float *restrict c, ptrdiff_t ldc, int m, int n, float alpha, float beta) {
  __m512 acc[ATTN_MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < ATTN_MR; i++)
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();

  for (int p = 0; p < kc; p++) {
    __m512 bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 32
    for (int i = 0; i < ATTN_MR; i++) {
      const __m512 ai = _mm512_set1_ps(a[i]);
#pragma GCC unroll 8
      for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += ATTN_MR;
    b += ATTN_NR;
  }

  const __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
  const int use_beta = beta != 0.0f;
  __mmask16 mask[NV];
#pragma GCC unroll 8
  for (int v = 0; v < nv; v++) mask[v] = tail_mask(n - 16 * v);
#pragma GCC unroll 32
  for (int i = 0; i < ATTN_MR; i++) {
    if (i >= m) break;
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++)
      store_row(c + i * ldc + 16 * v, acc[i][v], valpha, vbeta, use_beta, mask[v]);
  }
}

static void ukernel(int kc, const float *restrict a, const float *restrict b, float *restrict c,
                    ptrdiff_t ldc, int m, int n, float alpha, float beta) {
  switch ((n + 15) / 16) { /* vectors needed: right-edge panels skip the zero padding */
    case 1: ukernel_nv(1, kc, a, b, c, ldc, m, n, alpha, beta); break;
#if NV > 2
    case 2: ukernel_nv(2, kc, a, b, c, ldc, m, n, alpha, beta); break;
#endif
#if NV > 3
    case 3: ukernel_nv(3, kc, a, b, c, ldc, m, n, alpha, beta); break;
#endif
    default: ukernel_nv(NV, kc, a, b, c, ldc, m, n, alpha, beta); break;
  }
}

/* ---- small M, B row-major (B(k,j) = b[k*ldb + j]) ----
 * C[R x 16*NVEC] from R rows of A and a strip of B rows, walking down k.
 * R and NVEC are compile-time constants after inlining (R*NVEC <= 16). */
INLINE void nn_strip(const int R, const int NVEC, int k, float alpha, const float *a,
                     ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c,
                     ptrdiff_t ldc, int n) {
  __m512 acc[4][8];
  __mmask16 mask[8];
#pragma GCC unroll 8
  for (int v = 0; v < NVEC; v++) mask[v] = tail_mask(n - 16 * v);
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int v = 0; v < NVEC; v++) acc[r][v] = _mm512_setzero_ps();
  for (int p = 0; p < k; p++) {
    const float *bp = b + p * ldb;
    __m512 bv[8];
#pragma GCC unroll 8
    for (int v = 0; v < NVEC; v++) bv[v] = _mm512_maskz_loadu_ps(mask[v], bp + 16 * v);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      const __m512 ar = _mm512_set1_ps(a[r * lda + p]);
#pragma GCC unroll 8
      for (int v = 0; v < NVEC; v++) acc[r][v] = _mm512_fmadd_ps(ar, bv[v], acc[r][v]);
    }
  }
  const __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int v = 0; v < NVEC; v++)
      store_row(c + r * ldc + 16 * v, acc[r][v], valpha, vbeta, beta != 0.0f, mask[v]);
}

#define NN_STRIP(R, V) nn_strip(R, V, k, alpha, a, lda, b, ldb, beta, c, ldc, n)
/* R (1..4) rows x n (1..128 for R <= 2, 1..64 otherwise) columns: only as
 * many vectors as the strip needs. */
static void nn_strip_any(int R, int k, float alpha, const float *a, ptrdiff_t lda,
                         const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc,
                         int n) {
  const int nv = (n + 15) / 16;
  switch (R * 16 + nv) {
    case 17: NN_STRIP(1, 1); break;
    case 18: NN_STRIP(1, 2); break;
    case 19: NN_STRIP(1, 3); break;
    case 20: NN_STRIP(1, 4); break;
    case 21: NN_STRIP(1, 5); break;
    case 22: NN_STRIP(1, 6); break;
    case 23: NN_STRIP(1, 7); break;
    case 24: NN_STRIP(1, 8); break;
    case 33: NN_STRIP(2, 1); break;
    case 34: NN_STRIP(2, 2); break;
    case 35: NN_STRIP(2, 3); break;
    case 36: NN_STRIP(2, 4); break;
    case 37: NN_STRIP(2, 5); break;
    case 38: NN_STRIP(2, 6); break;
    case 39: NN_STRIP(2, 7); break;
    case 40: NN_STRIP(2, 8); break;
    case 49: NN_STRIP(3, 1); break;
    case 50: NN_STRIP(3, 2); break;
    case 51: NN_STRIP(3, 3); break;
    case 52: NN_STRIP(3, 4); break;
    case 65: NN_STRIP(4, 1); break;
    case 66: NN_STRIP(4, 2); break;
    case 67: NN_STRIP(4, 3); break;
    case 68: NN_STRIP(4, 4); break;
    default: break; /* not reached */
  }
}
#undef NN_STRIP

/* m <= 2: strips of 128 columns (reading 512 contiguous bytes of each B row
 * streams B from L3 ~25% faster than 64); otherwise 4 rows x 64 columns. */
static void small_nn_cols(int m, int n, int k, float alpha, const float *a, ptrdiff_t lda,
                          const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
  const int width = m <= 2 ? 128 : 64;
  for (int j0 = 0; j0 < n; j0 += width) {
    const int w = n - j0 < width ? n - j0 : width;
    for (int i0 = 0; i0 < m; i0 += 4) {
      const int r = m - i0 < 4 ? m - i0 : 4;
      nn_strip_any(r, k, alpha, a + i0 * lda, lda, b + j0, ldb, beta, c + i0 * ldc + j0, ldc, w);
    }
  }
}

/* Floats from p to the next 64-byte boundary (0..15). */
INLINE int floats_to_line(const float *p) { return (int)(((64u - ((uintptr_t)p & 63u)) & 63u) >> 2); }

/* JS typed arrays are usually 16 mod 64 bytes aligned, which splits every zmm
 * load of B across two cache lines (~25% slower for M = 1).  When every row of B
 * has the same alignment, run the first few columns separately so the rest
 * load whole lines.  Each C element is computed the same way either way. */
static void small_nn(int m, int n, int k, float alpha, const float *a, ptrdiff_t lda,
                     const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
  const int head = floats_to_line(b);
  if (head > 0 && head < n && (ldb & 15) == 0) {
    small_nn_cols(m, head, k, alpha, a, lda, b, ldb, beta, c, ldc);
    b += head;
    c += head;
    n -= head;
  }
  small_nn_cols(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* Horizontal sums of four vectors at once: returns (sum a0, sum a1, sum a2, sum a3). */
INLINE __m128 reduce4(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
  /* per 128-bit lane: [a0 0+2, a1 0+2, a0 1+3, a1 1+3] and the same for a2, a3 */
  const __m512 x01 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
  const __m512 x23 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
  /* per lane: [lane sum of a0, a1, a2, a3] */
  const __m512 y = _mm512_add_ps(_mm512_shuffle_ps(x01, x23, 0x44), _mm512_shuffle_ps(x01, x23, 0xEE));
  const __m256 z = _mm256_add_ps(_mm512_castps512_ps256(y),
                                 _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(y), 1)));
  return _mm_add_ps(_mm256_castps256_ps128(z), _mm256_extractf128_ps(z, 1));
}

/* ---- small M, B column-major (B(k,j) = b[j*ldb + k]): dot products ---- */
INLINE void small_nt_block(int R, int J, int k, int head, float alpha, const float *a,
                           ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c,
                           ptrdiff_t ldc) {
  __m512 acc[4][4];
  for (int r = 0; r < R; r++)
    for (int j = 0; j < J; j++) acc[r][j] = _mm512_setzero_ps();
  int p = 0;
  if (head > 0) { /* first `head` k's, so the B loads below are line-aligned */
    const __mmask16 mk = tail_mask(head < k ? head : k);
    __m512 bv[4], av[4];
    for (int j = 0; j < J; j++) bv[j] = _mm512_maskz_loadu_ps(mk, b + j * ldb);
    for (int r = 0; r < R; r++) av[r] = _mm512_maskz_loadu_ps(mk, a + r * lda);
    for (int r = 0; r < R; r++)
      for (int j = 0; j < J; j++) acc[r][j] = _mm512_fmadd_ps(av[r], bv[j], acc[r][j]);
    p = head < k ? head : k;
  }
  for (; p + 16 <= k; p += 16) {
    __m512 bv[4], av[4];
    for (int j = 0; j < J; j++) bv[j] = _mm512_loadu_ps(b + j * ldb + p);
    for (int r = 0; r < R; r++) av[r] = _mm512_loadu_ps(a + r * lda + p);
    for (int r = 0; r < R; r++)
      for (int j = 0; j < J; j++) acc[r][j] = _mm512_fmadd_ps(av[r], bv[j], acc[r][j]);
  }
  if (p < k) {
    const __mmask16 mk = tail_mask(k - p);
    __m512 bv[4], av[4];
    for (int j = 0; j < J; j++) bv[j] = _mm512_maskz_loadu_ps(mk, b + j * ldb + p);
    for (int r = 0; r < R; r++) av[r] = _mm512_maskz_loadu_ps(mk, a + r * lda + p);
    for (int r = 0; r < R; r++)
      for (int j = 0; j < J; j++) acc[r][j] = _mm512_fmadd_ps(av[r], bv[j], acc[r][j]);
  }
  if (J == 4) {
    const __m128 va = _mm_set1_ps(alpha), vb = _mm_set1_ps(beta);
    for (int r = 0; r < R; r++) {
      __m128 v = _mm_mul_ps(va, reduce4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
      if (beta != 0.0f) v = _mm_fmadd_ps(vb, _mm_loadu_ps(c + r * ldc), v);
      _mm_storeu_ps(c + r * ldc, v);
    }
    return;
  }
  for (int r = 0; r < R; r++)
    for (int j = 0; j < J; j++) {
      float v = alpha * _mm512_reduce_add_ps(acc[r][j]);
      if (beta != 0.0f) v += beta * c[r * ldc + j];
      c[r * ldc + j] = v;
    }
}

INLINE void small_nt_rows(int R, int n, int k, float alpha, const float *a, ptrdiff_t lda,
                          const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
  /* peel k so B rows load whole cache lines, if all rows share one alignment */
  const int head = (ldb & 15) == 0 ? floats_to_line(b) : 0;
  int j0 = 0;
  for (; j0 + 4 <= n; j0 += 4)
    small_nt_block(R, 4, k, head, alpha, a, lda, b + j0 * ldb, ldb, beta, c + j0, ldc);
  for (; j0 < n; j0++)
    small_nt_block(R, 1, k, head, alpha, a, lda, b + j0 * ldb, ldb, beta, c + j0, ldc);
}

/* Column blocks of 64 outer, row groups inner: the 64 B columns (64*k floats)
 * stay in L1/L2 while every row of A passes over them. */
static void small_nt(int m, int n, int k, float alpha, const float *a, ptrdiff_t lda,
                     const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
  for (int j0 = 0; j0 < n; j0 += 64) {
    const int nb = n - j0 < 64 ? n - j0 : 64;
    const float *bj = b + j0 * ldb;
    float *cj = c + j0;
    int i0 = 0;
    for (; i0 + 4 <= m; i0 += 4)
      small_nt_rows(4, nb, k, alpha, a + i0 * lda, lda, bj, ldb, beta, cj + i0 * ldc, ldc);
    switch (m - i0) {
      case 3: small_nt_rows(3, nb, k, alpha, a + i0 * lda, lda, bj, ldb, beta, cj + i0 * ldc, ldc); break;
      case 2: small_nt_rows(2, nb, k, alpha, a + i0 * lda, lda, bj, ldb, beta, cj + i0 * ldc, ldc); break;
      case 1: small_nt_rows(1, nb, k, alpha, a + i0 * lda, lda, bj, ldb, beta, cj + i0 * ldc, ldc); break;
      default: break;
    }
  }
}

/* 16x16 transpose in registers: dst row c (16 floats at dst + c*ld) gets
 * element c of each of the 16 source rows (src + i*ls).  Used to pack B^T
 * (NT layout).  unpack -> shuffle_ps -> two rounds of 128-bit lane shuffles. */
static inline void transpose16(const float *restrict src, ptrdiff_t ls, float *restrict dst,
                               ptrdiff_t ld) {
  __m512 r[16], t[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * ls);
#pragma GCC unroll 8
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);     /* per lane L: r_i[4L], r_i+1[4L], ... */
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]); /* r_i[4L+2], r_i+1[4L+2], ... */
  }
#pragma GCC unroll 4
  for (int g = 0; g < 16; g += 4) { /* u[g+q], lane L = rows g..g+3 of column 4L+q */
    r[g + 0] = _mm512_shuffle_ps(t[g + 0], t[g + 2], 0x44);
    r[g + 1] = _mm512_shuffle_ps(t[g + 0], t[g + 2], 0xEE);
    r[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
    r[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
  }
#pragma GCC unroll 4
  for (int q = 0; q < 4; q++) { /* 4x4 transpose of 128-bit lanes of r[q], r[4+q], r[8+q], r[12+q] */
    const __m512 v0 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x44);
    const __m512 v1 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xEE);
    const __m512 v2 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x44);
    const __m512 v3 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xEE);
    _mm512_storeu_ps(dst + (0 + q) * ld, _mm512_shuffle_f32x4(v0, v2, 0x88));
    _mm512_storeu_ps(dst + (4 + q) * ld, _mm512_shuffle_f32x4(v0, v2, 0xDD));
    _mm512_storeu_ps(dst + (8 + q) * ld, _mm512_shuffle_f32x4(v1, v3, 0x88));
    _mm512_storeu_ps(dst + (12 + q) * ld, _mm512_shuffle_f32x4(v1, v3, 0xDD));
  }
}
#define ATTN_TRANSPOSE16 transpose16

#include "gemm_impl.h"

#endif /* __x86_64__ */
