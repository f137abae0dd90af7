/*
 * SIMD128 GEMM kernels: packing, the 4x8 micro-kernel, and the unpacked
 * small-M kernels for decoding.
 *
 * Blocking follows the GotoBLAS/BLIS scheme (Goto & van de Geijn 2008): B is
 * packed into KC x NR panels, A into MR x KC panels, and a register-blocked
 * micro-kernel updates an MR x NR tile of C per panel pair. WebAssembly has no
 * FMA in SIMD128, so each step is f32x4.mul + f32x4.add; V8 keeps the 8
 * accumulators of a 4x8 tile in xmm registers, while larger tiles (5x8, 6x8,
 * 4x12, 3x16) spilled and measured 25-35% slower. The micro-kernel's loop is
 * in ukernel.s (see there why).
 */
#include <wasm_simd128.h>

#include "attn_wasm.h"

#define MIN(x, y) ((x) < (y) ? (x) : (y))

/* In-register 4x4 transpose: rows r0..r3 become columns. */
#define TRANSPOSE4(r0, r1, r2, r3)                          \
  do {                                                      \
    v128_t t0_ = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5);    \
    v128_t t1_ = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);    \
    v128_t t2_ = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7);    \
    v128_t t3_ = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);    \
    r0 = wasm_i32x4_shuffle(t0_, t1_, 0, 1, 4, 5);          \
    r1 = wasm_i32x4_shuffle(t0_, t1_, 2, 3, 6, 7);          \
    r2 = wasm_i32x4_shuffle(t2_, t3_, 0, 1, 4, 5);          \
    r3 = wasm_i32x4_shuffle(t2_, t3_, 2, 3, 6, 7);          \
  } while (0)

/* Ap: panels of MR rows, element (i,p) of a panel at panel[p*MR + i];
 * rows past mc are zero so the micro-kernel always runs full tiles. */
static void pack_a(int mc, int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, float *dst) {
  for (int i0 = 0; i0 < mc; i0 += ATTN_MR, dst += ATTN_MR * kc) {
    const int mr = MIN(ATTN_MR, mc - i0);
    const float *s = a + i0 * rs;
    int p = 0;
    if (mr == ATTN_MR && rs == 1) { /* A^T stored (TN): 4 contiguous rows per k */
      for (; p < kc; p++) wasm_v128_store(dst + p * 4, wasm_v128_load(s + p * cs));
    } else if (mr == ATTN_MR && cs == 1) { /* row-major A: transpose 4x4 blocks */
      for (; p + 4 <= kc; p += 4) {
        v128_t r0 = wasm_v128_load(s + p), r1 = wasm_v128_load(s + rs + p);
        v128_t r2 = wasm_v128_load(s + 2 * rs + p), r3 = wasm_v128_load(s + 3 * rs + p);
        TRANSPOSE4(r0, r1, r2, r3);
        wasm_v128_store(dst + p * 4, r0);
        wasm_v128_store(dst + p * 4 + 4, r1);
        wasm_v128_store(dst + p * 4 + 8, r2);
        wasm_v128_store(dst + p * 4 + 12, r3);
      }
    }
    for (; p < kc; p++)
      for (int i = 0; i < ATTN_MR; i++) dst[p * 4 + i] = i < mr ? s[i * rs + p * cs] : 0.0f;
  }
}

/* Bp: panels of NR columns, element (p,j) of a panel at panel[p*NR + j]. */
static void pack_b(int kc, int nc, const float *b, ptrdiff_t rs, ptrdiff_t cs, float *dst) {
  for (int j0 = 0; j0 < nc; j0 += ATTN_NR, dst += ATTN_NR * kc) {
    const int nr = MIN(ATTN_NR, nc - j0);
    const float *s = b + j0 * cs;
    int p = 0;
    if (nr == ATTN_NR && cs == 1) { /* row-major B (NN) */
      for (; p < kc; p++) {
        wasm_v128_store(dst + p * 8, wasm_v128_load(s + p * rs));
        wasm_v128_store(dst + p * 8 + 4, wasm_v128_load(s + p * rs + 4));
      }
    } else if (nr == ATTN_NR && rs == 1) { /* B^T stored (NT, Linear weights) */
      for (; p + 4 <= kc; p += 4) {
        for (int h = 0; h < 8; h += 4) {
          const float *q = s + h * cs + p;
          v128_t r0 = wasm_v128_load(q), r1 = wasm_v128_load(q + cs);
          v128_t r2 = wasm_v128_load(q + 2 * cs), r3 = wasm_v128_load(q + 3 * cs);
          TRANSPOSE4(r0, r1, r2, r3);
          wasm_v128_store(dst + p * 8 + h, r0);
          wasm_v128_store(dst + p * 8 + 8 + h, r1);
          wasm_v128_store(dst + p * 8 + 16 + h, r2);
          wasm_v128_store(dst + p * 8 + 24 + h, r3);
        }
      }
    }
    for (; p < kc; p++)
      for (int j = 0; j < ATTN_NR; j++) dst[p * 8 + j] = j < nr ? s[p * rs + j * cs] : 0.0f;
  }
}

/* The inner loop, in ukernel.s: acc (4 x 8, row-major) = Ap @ Bp over kc. */
void attn_ukernel_4x8(int kc, const float *a, const float *b, float *acc);

/* C tile (m x n of 4 x 8) = alpha * Ap @ Bp + (beta ? C : 0). */
static void ukernel(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc, int m, int n,
                    float alpha, int beta) {
  float t[32] __attribute__((aligned(16)));
  attn_ukernel_4x8(kc, a, b, t);
  const v128_t va = wasm_f32x4_splat(alpha);
  if (m == ATTN_MR && n == ATTN_NR) {
    for (int i = 0; i < 4; i++, c += ldc) {
      v128_t lo = wasm_f32x4_mul(va, wasm_v128_load(t + 8 * i));
      v128_t hi = wasm_f32x4_mul(va, wasm_v128_load(t + 8 * i + 4));
      if (beta) {
        lo = wasm_f32x4_add(lo, wasm_v128_load(c));
        hi = wasm_f32x4_add(hi, wasm_v128_load(c + 4));
      }
      wasm_v128_store(c, lo);
      wasm_v128_store(c + 4, hi);
    }
    return;
  }
  /* Edge tile: the same arithmetic, stored element by element. */
  for (int i = 0; i < m; i++, c += ldc)
    for (int j = 0; j < n; j++) {
      const float v = alpha * t[i * 8 + j];
      c[j] = beta ? v + c[j] : v;
    }
}

void attn_gemm_packed(const attn_sub_t *s, float *work) {
  float *ap = work;                              /* MC x KC */
  float *bp = work + (size_t)ATTN_MC * ATTN_KC;  /* KC x NC */
  for (int jc = 0; jc < s->n; jc += ATTN_NC) {
    const int nc = MIN(ATTN_NC, s->n - jc);
    for (int pc = 0; pc < s->k; pc += ATTN_KC) {
      const int kc = MIN(ATTN_KC, s->k - pc);
      const int beta = pc == 0 ? s->beta : 1;
      pack_b(kc, nc, s->b + pc * s->brs + jc * s->bcs, s->brs, s->bcs, bp);
      for (int ic = 0; ic < s->m; ic += ATTN_MC) {
        const int mc = MIN(ATTN_MC, s->m - ic);
        pack_a(mc, kc, s->a + ic * s->ars + pc * s->acs, s->ars, s->acs, ap);
        for (int jr = 0; jr < nc; jr += ATTN_NR) {
          float *cb = s->c + ic * s->ldc + jc + jr;
          for (int ir = 0; ir < mc; ir += ATTN_MR)
            ukernel(kc, ap + ir * kc, bp + jr * kc, cb + ir * s->ldc, s->ldc,
                    MIN(ATTN_MR, mc - ir), MIN(ATTN_NR, nc - jr), s->alpha, beta);
        }
      }
    }
  }
}

/* ---- small M (decode): B is streamed, not packed ---- */

static inline void store_one(float *c, float v, float alpha, int beta) {
  *c = beta ? alpha * v + *c : alpha * v;
}

#define INLINE static inline __attribute__((always_inline))

/* One strip of W columns for M rows, B(p,j) = b[p*ldb + j]. M and W are
 * constants at every call, so the accumulators stay in registers. Each C
 * element sums p in order in one lane, as the scalar tail does, so the strip
 * width never changes a result. */
INLINE void nn_strip(const attn_sub_t *s, int j, const int M, const int W) {
  v128_t acc[4][4];
  for (int i = 0; i < M; i++)
    for (int v = 0; v < W / 4; v++) acc[i][v] = wasm_f32x4_splat(0.0f);
  const float *bj = s->b + j;
  for (int p = 0; p < s->k; p++, bj += s->brs) {
    v128_t bv[4];
    for (int v = 0; v < W / 4; v++) bv[v] = wasm_v128_load(bj + 4 * v);
    for (int i = 0; i < M; i++) {
      const v128_t x = wasm_f32x4_splat(s->a[i * s->ars + p * s->acs]);
      for (int v = 0; v < W / 4; v++) acc[i][v] = wasm_f32x4_add(acc[i][v], wasm_f32x4_mul(x, bv[v]));
    }
  }
  const v128_t va = wasm_f32x4_splat(s->alpha);
  for (int i = 0; i < M; i++) {
    float *c = s->c + i * s->ldc + j;
    for (int v = 0; v < W / 4; v++) {
      v128_t r = wasm_f32x4_mul(va, acc[i][v]);
      if (s->beta) r = wasm_f32x4_add(r, wasm_v128_load(c + 4 * v));
      wasm_v128_store(c + 4 * v, r);
    }
  }
}

INLINE void small_nn_m(const attn_sub_t *s, const int M) {
  const int W = M <= 2 ? 16 : 8; /* at most 8 accumulators */
  int j = 0;
  for (; j + W <= s->n; j += W) nn_strip(s, j, M, W);
  for (; j + 4 <= s->n; j += 4) nn_strip(s, j, M, 4);
  for (; j < s->n; j++)
    for (int i = 0; i < M; i++) {
      float t = 0.0f;
      for (int p = 0; p < s->k; p++) t += s->a[i * s->ars + p * s->acs] * s->b[p * s->brs + j];
      store_one(s->c + i * s->ldc + j, t, s->alpha, s->beta);
    }
}

/* Dot products for M rows of A (rows contiguous, lda) and G columns of C,
 * j, j+q, ..., j+(G-1)q, with B(p,j) = b[j*ldb + p]: each B^T row is read
 * front to back, and the G rows come from G distant parts of B^T, i.e. G
 * sequential streams. Adjacent rows read together measured 4x slower from
 * DRAM (7.6 vs 28-33 GB/s: decode streams weights that are not in cache),
 * one row at a time 1.7x slower from cache. Every element sums 4 lanes over
 * p < k4, then (l0+l1)+(l2+l3), then the tail in order, whatever G is. */
INLINE void nt_group(const attn_sub_t *s, const float *a, ptrdiff_t lda, int j, int q, const int M,
                     const int G) {
  const int k = s->k, k4 = k & ~3;
  const ptrdiff_t ldb = s->bcs;
  const float *bq[4];
  v128_t acc[4][4];
  for (int g = 0; g < G; g++) bq[g] = s->b + (j + g * q) * ldb;
  for (int i = 0; i < M; i++)
    for (int g = 0; g < G; g++) acc[i][g] = wasm_f32x4_splat(0.0f);
  for (int p = 0; p < k4; p += 4) {
    v128_t bv[4];
    for (int g = 0; g < G; g++) bv[g] = wasm_v128_load(bq[g] + p);
    for (int i = 0; i < M; i++) {
      const v128_t x = wasm_v128_load(a + i * lda + p);
      for (int g = 0; g < G; g++) acc[i][g] = wasm_f32x4_add(acc[i][g], wasm_f32x4_mul(x, bv[g]));
    }
  }
  for (int i = 0; i < M; i++)
    for (int g = 0; g < G; g++) {
      const v128_t t = acc[i][g];
      float r = (wasm_f32x4_extract_lane(t, 0) + wasm_f32x4_extract_lane(t, 1)) +
                (wasm_f32x4_extract_lane(t, 2) + wasm_f32x4_extract_lane(t, 3));
      for (int p = k4; p < k; p++) r += a[i * lda + p] * bq[g][p];
      store_one(s->c + i * s->ldc + j + g * q, r, s->alpha, s->beta);
    }
}

INLINE void small_nt_m(const attn_sub_t *s, const float *a, ptrdiff_t lda, const int M) {
  const int G = M <= 2 ? 4 : 2; /* at most 8 accumulators */
  const int q = s->n / G;
  for (int j = 0; j < q; j++) nt_group(s, a, lda, j, q, M, G);
  for (int j = G * q; j < s->n; j++) nt_group(s, a, lda, j, 0, M, 1);
}

/* One function per M: V8 compiles a small function with a hot loop much
 * better than one huge function holding every variant (2x measured). */
#define NOINLINE static __attribute__((noinline))
NOINLINE void small_nn_1(const attn_sub_t *s) { small_nn_m(s, 1); }
NOINLINE void small_nn_2(const attn_sub_t *s) { small_nn_m(s, 2); }
NOINLINE void small_nn_3(const attn_sub_t *s) { small_nn_m(s, 3); }
NOINLINE void small_nn_4(const attn_sub_t *s) { small_nn_m(s, 4); }
NOINLINE void small_nt_1(const attn_sub_t *s, const float *a, ptrdiff_t lda) { small_nt_m(s, a, lda, 1); }
NOINLINE void small_nt_2(const attn_sub_t *s, const float *a, ptrdiff_t lda) { small_nt_m(s, a, lda, 2); }
NOINLINE void small_nt_3(const attn_sub_t *s, const float *a, ptrdiff_t lda) { small_nt_m(s, a, lda, 3); }
NOINLINE void small_nt_4(const attn_sub_t *s, const float *a, ptrdiff_t lda) { small_nt_m(s, a, lda, 4); }

int attn_gemm_is_small(int full_m, ptrdiff_t brs, ptrdiff_t bcs) {
  return full_m <= ATTN_SMALL_M && (bcs == 1 || brs == 1);
}

int attn_gemm_small(const attn_sub_t *s, float *work, size_t work_floats) {
  if (!attn_gemm_is_small(s->full_m, s->brs, s->bcs)) return 0;
  if (s->bcs == 1) {
    switch (s->m) {
      case 1: small_nn_1(s); break;
      case 2: small_nn_2(s); break;
      case 3: small_nn_3(s); break;
      default: small_nn_4(s); break;
    }
    return 1;
  }
  const float *a = s->a;
  ptrdiff_t lda = s->ars;
  if (s->acs != 1) { /* gather the few rows of A into contiguous scratch */
    if (!work || (size_t)s->m * s->k > work_floats) return 0;
    for (int i = 0; i < s->m; i++)
      for (int p = 0; p < s->k; p++) work[i * s->k + p] = s->a[i * s->ars + p * s->acs];
    a = work;
    lda = s->k;
  }
  switch (s->m) {
    case 1: small_nt_1(s, a, lda); break;
    case 2: small_nt_2(s, a, lda); break;
    case 3: small_nt_3(s, a, lda); break;
    default: small_nt_4(s, a, lda); break;
  }
  return 1;
}
