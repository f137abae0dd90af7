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
 * The unpacked small-M / tiny-product kernels are in small_avx512.h.
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
#define ATTN_KC 512 /* K is cut into equal blocks of at most this (1024 = 2 x 512) */
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

#include "small_avx512.h" /* small_nn, small_nt */
#include "gemm_impl.h"

#endif /* __x86_64__ */
