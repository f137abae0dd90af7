/*
 * AVX-512 kernels for small M, tiny products and B given transposed, without
 * packing (see gemm_impl.h for when each is used).  Included by
 * kernel_avx512.c after its helpers (INLINE, tail_mask, store_row), so it is
 * compiled with the same -mavx512f -mavx512vl -mfma flags.
 * The small-M loops have the shape of kernel_avx2.c's on purpose: one ISA per
 * file, each with its own intrinsics and vector width.
 */
/* ---- small M, B row-major (B(k,j) = b[k*ldb + j]) ----
 * C[R x 16*NVEC] from R rows of A and a strip of B rows, walking down k.
 * R and NVEC are compile-time constants after inlining (R*NVEC <= 16). */
INLINE void nn_strip(const int R, const int NVEC, int k, float alpha, const float *a,
                     ptrdiff_t ars, ptrdiff_t acs, const float *b, ptrdiff_t ldb, float beta,
                     float *c, ptrdiff_t ldc, int n) {
  __m512 acc[4][8];
  __mmask16 mask[8];
#pragma GCC unroll 8
  for (int v = 0; v < NVEC; v++) mask[v] = tail_mask(n - 16 * v);
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int v = 0; v < NVEC; v++) acc[r][v] = _mm512_setzero_ps();
  const float *ap = a; /* A(r, p) at ap[r * ars] */
  for (int p = 0; p < k; p++, ap += acs) {
    const float *bp = b + p * ldb;
    __m512 bv[8];
#pragma GCC unroll 8
    for (int v = 0; v < NVEC; v++) bv[v] = _mm512_maskz_loadu_ps(mask[v], bp + 16 * v);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      const __m512 ar = _mm512_set1_ps(ap[r * ars]);
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

#define NN_STRIP(R, V) nn_strip(R, V, k, alpha, a, ars, acs, b, ldb, beta, c, ldc, n)
/* R (1..4) rows x n (1..128 for R <= 2, 1..64 otherwise) columns: only as
 * many vectors as the strip needs. */
static void nn_strip_any(int R, int k, float alpha, const float *a, ptrdiff_t ars, ptrdiff_t acs,
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
static void small_nn_cols(int m, int n, int k, float alpha, const float *a, ptrdiff_t ars,
                          ptrdiff_t acs, const float *b, ptrdiff_t ldb, float beta, float *c,
                          ptrdiff_t ldc) {
  const int width = m <= 2 ? 128 : 64;
  for (int j0 = 0; j0 < n; j0 += width) {
    const int w = n - j0 < width ? n - j0 : width;
    for (int i0 = 0; i0 < m; i0 += 4) {
      const int r = m - i0 < 4 ? m - i0 : 4;
      nn_strip_any(r, k, alpha, a + i0 * ars, ars, acs, b + j0, ldb, beta, c + i0 * ldc + j0, ldc,
                   w);
    }
  }
}

/* Floats from p to the next 64-byte boundary (0..15). */
INLINE int floats_to_line(const float *p) { return (int)(((64u - ((uintptr_t)p & 63u)) & 63u) >> 2); }

/* JS typed arrays are usually 16 mod 64 bytes aligned, which splits every zmm
 * load of B across two cache lines (~25% slower for M = 1).  When every row of B
 * has the same alignment, run the first few columns separately so the rest
 * load whole lines.  Each C element is computed the same way either way. */
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

/* pf: the next block of B rows (pf_n of them) to pull into L2 meanwhile, or NULL. */
INLINE void small_nt_rows(int R, int n, int k, float alpha, const float *a, ptrdiff_t lda,
                          const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc,
                          const float *pf, int pf_n) {
  /* No peeling of k to align the B loads: the lanes each k lands in, and so the
   * rounding of the sum, must not depend on where the buffer happens to sit
   * (JS buffers move between runs: results would differ from run to run). */
  const int head = 0;
  int j0 = 0;
  for (; j0 + 4 <= n; j0 += 4) {
    if (pf)
      for (int j = j0; j < j0 + 4 && j < pf_n; j++)
        for (int p = 0; p < k; p += 16) _mm_prefetch((const char *)(pf + j * ldb + p), _MM_HINT_T1);
    small_nt_block(R, 4, k, head, alpha, a, lda, b + j0 * ldb, ldb, beta, c + j0, ldc);
  }
  for (; j0 < n; j0++)
    small_nt_block(R, 1, k, head, alpha, a, lda, b + j0 * ldb, ldb, beta, c + j0, ldc);
}

/* ---- M <= 2, B column-major (x W^T while decoding): rows of B in memory order ----
 * Weights are read once per call and, while decoding, come mostly from DRAM.
 * Reading the B rows one after the other keeps the hardware prefetcher on one
 * stream: interleaving even 2 rows of 1 KB (as small_nt_block does) halves the
 * rate (measured 9.5 vs 21 GB/s from DRAM, 1 x 256 x 256 cold: 29 -> 17 us).
 * Used for K <= 512: longer rows prefetch well anyway, and there the blocked
 * code is faster when B is in cache.  A row is cut into chunks of 16 floats
 * from k = 0 (never aligned to the address: the sum's rounding would then
 * depend on where the buffer sits).  Each output is computed the same way
 * whatever its position, so splitting N over threads gives the same bits. */
#define NT_REG_CHUNKS 17 /* x kept in registers up to 16 full chunks + a head */

/* R = 1 and at most NT_REG_CHUNKS chunks: x lives in registers, one load per
 * FMA; chunks alternate between two accumulators. */
INLINE void nt_seq_regs(const int NC, int n, int k, int h0, float alpha, const float *x,
                        const float *b, ptrdiff_t ldb, float beta, float *c) {
  const __mmask16 m0 = tail_mask(h0 < k ? h0 : k);
  const __mmask16 ml = tail_mask(k - (h0 + 16 * (NC - 2)));
  __m512 xv[NT_REG_CHUNKS];
#pragma GCC unroll 17
  for (int i = 0; i < NC; i++)
    xv[i] = i == 0 ? _mm512_maskz_loadu_ps(m0, x)
            : i == NC - 1 ? _mm512_maskz_loadu_ps(ml, x + h0 + 16 * (i - 1))
                          : _mm512_loadu_ps(x + h0 + 16 * (i - 1));
  const __m128 va = _mm_set1_ps(alpha), vb = _mm_set1_ps(beta);
  for (int j0 = 0; j0 < n; j0 += 4) {
    const int nr = n - j0 < 4 ? n - j0 : 4;
    __m512 r[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
      __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
      if (q < nr) {
        const float *bj = b + (j0 + q) * ldb;
#pragma GCC unroll 17
        for (int i = 0; i < NC; i++) {
          const __m512 bv = i == 0 ? _mm512_maskz_loadu_ps(m0, bj)
                            : i == NC - 1 ? _mm512_maskz_loadu_ps(ml, bj + h0 + 16 * (i - 1))
                                          : _mm512_loadu_ps(bj + h0 + 16 * (i - 1));
          if (i & 1) s1 = _mm512_fmadd_ps(xv[i], bv, s1);
          else s0 = _mm512_fmadd_ps(xv[i], bv, s0);
        }
      }
      r[q] = _mm512_add_ps(s0, s1);
    }
    const __mmask8 sm = (__mmask8)((1u << nr) - 1u);
    __m128 v = _mm_mul_ps(va, reduce4(r[0], r[1], r[2], r[3]));
    if (beta != 0.0f) v = _mm_fmadd_ps(vb, _mm_maskz_loadu_ps(sm, c + j0), v);
    _mm_mask_storeu_ps(c + j0, sm, v);
  }
}

/* One B row against R (1..2) rows of A (read from L1): chunk 0 into s[.][0],
 * then chunk i into s[.][i % 4]; four accumulators hide the FMA latency. */
INLINE void nt_dot_row(const int R, int k, int h0, __mmask16 m0, const float *a, ptrdiff_t lda,
                       const float *bj, __m512 *out) {
  __m512 s[2][4];
#pragma GCC unroll 2
  for (int i = 0; i < R; i++) s[i][0] = s[i][1] = s[i][2] = s[i][3] = _mm512_setzero_ps();
  const __m512 bv = _mm512_maskz_loadu_ps(m0, bj);
#pragma GCC unroll 2
  for (int i = 0; i < R; i++) s[i][0] = _mm512_mul_ps(_mm512_maskz_loadu_ps(m0, a + i * lda), bv);
  int p = h0;
  for (; p + 64 <= k; p += 64) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; u++) {
      const __m512 b0 = _mm512_loadu_ps(bj + p + 16 * u);
#pragma GCC unroll 2
      for (int i = 0; i < R; i++)
        s[i][(u + 1) & 3] =
            _mm512_fmadd_ps(_mm512_loadu_ps(a + i * lda + p + 16 * u), b0, s[i][(u + 1) & 3]);
    }
  }
#pragma GCC unroll 4
  for (int u = 0; u < 4 && p < k; u++, p += 16) { /* up to 63 left: 4 chunks */
    const __mmask16 mk = tail_mask(k - p);
    const __m512 b0 = _mm512_maskz_loadu_ps(mk, bj + p);
#pragma GCC unroll 2
    for (int i = 0; i < R; i++)
      s[i][(u + 1) & 3] =
          _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, a + i * lda + p), b0, s[i][(u + 1) & 3]);
  }
#pragma GCC unroll 2
  for (int i = 0; i < R; i++)
    out[i] = _mm512_add_ps(_mm512_add_ps(s[i][0], s[i][1]), _mm512_add_ps(s[i][2], s[i][3]));
}

INLINE void nt_seq_mem(const int R, int n, int k, int h0, float alpha, const float *a,
                       ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c,
                       ptrdiff_t ldc) {
  const __mmask16 m0 = tail_mask(h0 < k ? h0 : k);
  const __m128 va = _mm_set1_ps(alpha), vb = _mm_set1_ps(beta);
  for (int j0 = 0; j0 < n; j0 += 4) {
    const int nr = n - j0 < 4 ? n - j0 : 4;
    __m512 r[4][2];
    for (int q = 0; q < 4; q++) {
      if (q < nr) {
        nt_dot_row(R, k, h0, m0, a, lda, b + (j0 + q) * ldb, r[q]);
      } else {
        r[q][0] = r[q][1] = _mm512_setzero_ps();
      }
    }
    const __mmask8 sm = (__mmask8)((1u << nr) - 1u);
#pragma GCC unroll 2
    for (int i = 0; i < R; i++) {
      __m128 v = _mm_mul_ps(va, reduce4(r[0][i], r[1][i], r[2][i], r[3][i]));
      if (beta != 0.0f) v = _mm_fmadd_ps(vb, _mm_maskz_loadu_ps(sm, c + i * ldc + j0), v);
      _mm_mask_storeu_ps(c + i * ldc + j0, sm, v);
    }
  }
}

static void nt_seq(int m, int n, int k, float alpha, const float *a, ptrdiff_t lda,
                   const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
  /* Chunks start at k = 0, whatever the address: the summation order (and so the
   * result) must not depend on where the buffer sits in memory. */
  const int h0 = 16;
  const int nc = k <= h0 ? 1 : 1 + (k - h0 + 15) / 16;
#define NT_REGS(NC) nt_seq_regs(NC, n, k, h0, alpha, a, b, ldb, beta, c)
  if (m == 1 && nc <= NT_REG_CHUNKS) {
    switch (nc) {
      case 1: NT_REGS(1); return;
      case 2: NT_REGS(2); return;
      case 3: NT_REGS(3); return;
      case 4: NT_REGS(4); return;
      case 5: NT_REGS(5); return;
      case 6: NT_REGS(6); return;
      case 7: NT_REGS(7); return;
      case 8: NT_REGS(8); return;
      case 9: NT_REGS(9); return;
      case 10: NT_REGS(10); return;
      case 11: NT_REGS(11); return;
      case 12: NT_REGS(12); return;
      case 13: NT_REGS(13); return;
      case 14: NT_REGS(14); return;
      case 15: NT_REGS(15); return;
      case 16: NT_REGS(16); return;
      default: NT_REGS(17); return;
    }
  }
#undef NT_REGS
  if (m == 1)
    nt_seq_mem(1, n, k, h0, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    nt_seq_mem(2, n, k, h0, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* Column blocks of 64 outer, row groups inner: the 64 B columns (64*k floats)
 * stay in L1/L2 while every row of A passes over them. */
static void small_nt(int m, int n, int k, float alpha, const float *a, ptrdiff_t lda,
                     const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
  if (m <= 2 && k <= 512) {
    nt_seq(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  for (int j0 = 0; j0 < n; j0 += 64) {
    const int nb = n - j0 < 64 ? n - j0 : 64;
    const float *bj = b + j0 * ldb;
    float *cj = c + j0;
    /* B streams from DRAM when it is a weight matrix: the first row group
     * prefetches the next block, which the hardware prefetcher would not (it
     * sees 4 interleaved short rows) */
    const float *pf = j0 + 64 < n && m > 4 ? b + (j0 + 64) * ldb : NULL;
    const int pf_n = n - j0 - 64;
    for (int i0 = 0; i0 < m; i0 += 4, pf = NULL) {
      const float *ai = a + i0 * lda;
      float *ci = cj + i0 * ldc;
      switch (m - i0 < 4 ? m - i0 : 4) {
        case 4: small_nt_rows(4, nb, k, alpha, ai, lda, bj, ldb, beta, ci, ldc, pf, pf_n); break;
        case 3: small_nt_rows(3, nb, k, alpha, ai, lda, bj, ldb, beta, ci, ldc, pf, pf_n); break;
        case 2: small_nt_rows(2, nb, k, alpha, ai, lda, bj, ldb, beta, ci, ldc, pf, pf_n); break;
        default: small_nt_rows(1, nb, k, alpha, ai, lda, bj, ldb, beta, ci, ldc, pf, pf_n); break;
      }
    }
  }
}
