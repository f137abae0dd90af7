/*
 * Packed GEMM macro-kernel, instantiated once per ISA.
 *
 * This is the GotoBLAS / BLIS blocking scheme (Goto & van de Geijn, "Anatomy of
 * High-Performance Matrix Multiplication", TOMS 2008; Van Zee & van de Geijn,
 * "BLIS", TOMS 2015), written from the papers' description:
 *
 *   for jc in [0,n) step NC            -- B block column
 *     for pc in [0,k) step KC          -- rank-KC update
 *       pack B[pc:pc+kc, jc:jc+nc] into NR-wide panels   (Bp, kc x NR each)
 *       for ic in [0,m) step MC
 *         pack A[ic:ic+mc, pc:pc+kc] into MR-tall panels  (Ap, kc x MR each)
 *         for jr in [0,nc) step NR
 *           for ir in [0,mc) step MR
 *             micro-kernel: C[MR x NR] = alpha * Ap_ir @ Bp_jr + beta' * C
 *
 * Packing reads through arbitrary strides, so NN/NT/TN/TT all cost the same
 * after packing.  Panels are zero-padded to full MR/NR so the micro-kernel
 * always runs full tiles and only the store is clipped.
 *
 * The including file defines, before including this header:
 *   ATTN_MR, ATTN_NR, ATTN_MC, ATTN_KC, ATTN_NC, ATTN_NAME (string)
 *   ATTN_SMALL_M, ATTN_SMALL_M_T  -- M thresholds for the unpacked small-M kernels
 *                                    (B row-major / B column-major)
 *   ATTN_FN(x)  -- name mangling for this ISA's symbols
 *   static void ukernel(int kc, const float *a, const float *b, float *c,
 *                       ptrdiff_t ldc, int m, int n, float alpha, float beta);
 *   static void small_nn(int m, int n, int k, float alpha, const float *a,
 *                        ptrdiff_t ars, ptrdiff_t acs, const float *b, ptrdiff_t ldb,
 *                        float beta, float *c, ptrdiff_t ldc);   A(i,k)=a[i*ars+k*acs],
 *                                                                B(k,j)=b[k*ldb+j]
 *   static void small_nt(int m, int n, int k, float alpha, const float *a,
 *                        ptrdiff_t lda, const float *b, ptrdiff_t ldb,
 *                        float beta, float *c, ptrdiff_t ldc);   B(k,j)=b[j*ldb+k]
 */
#include <string.h>

#if (ATTN_MC % ATTN_MR) != 0 || (ATTN_NC % ATTN_NR) != 0
#error "MC must be a multiple of MR and NC a multiple of NR"
#endif

#define ATTN_MIN(x, y) ((x) < (y) ? (x) : (y))
#ifndef PACK_A_AHEAD
#define PACK_A_AHEAD (2 * ATTN_MR)
#endif
#if defined(__GNUC__)
#define ATTN_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define ATTN_PREFETCH(p) ((void)(p))
#endif

/* Ap: panels of MR rows; element (i,p) of a panel at panel[p*MR + i]. */
static void pack_a(int mc, int kc, const float *restrict a, ptrdiff_t rs, ptrdiff_t cs,
                   float *restrict dst) {
  for (int i0 = 0; i0 < mc; i0 += ATTN_MR) {
    const int mr = ATTN_MIN(ATTN_MR, mc - i0);
    const float *src = a + (ptrdiff_t)i0 * rs;
    if (mr == ATTN_MR && rs == 1) {
      /* column-major-ish A (TN): MR contiguous floats per k */
      for (int p = 0; p < kc; p++) {
        const float *s = src + (ptrdiff_t)p * cs;
        for (int i = 0; i < ATTN_MR; i++) dst[p * ATTN_MR + i] = s[i];
      }
    } else if (mr == ATTN_MR && cs == 1) {
      /* row-major A (NN): read rows contiguously, write with stride MR.
       * Each row segment is short (kc floats) and a row apart (e.g. 32 KB for
       * dLogits, 8000 wide, read from DRAM): the hardware prefetcher restarts
       * on every one, so fetch the rows PACK_A_AHEAD ahead by hand (packing A
       * took 20% of dH = dLogits E without). */
      for (int i = 0; i < ATTN_MR; i++) {
        const float *s = src + (ptrdiff_t)i * rs;
        if (i0 + i + PACK_A_AHEAD < mc)
          for (int p = 0; p < kc; p += 16)
            ATTN_PREFETCH(s + (ptrdiff_t)PACK_A_AHEAD * rs + p);
        for (int p = 0; p < kc; p++) dst[p * ATTN_MR + i] = s[p];
      }
    } else {
      for (int p = 0; p < kc; p++) {
        int i = 0;
        for (; i < mr; i++) dst[p * ATTN_MR + i] = src[(ptrdiff_t)i * rs + (ptrdiff_t)p * cs];
        for (; i < ATTN_MR; i++) dst[p * ATTN_MR + i] = 0.0f;
      }
    }
    dst += (ptrdiff_t)ATTN_MR * kc;
  }
}

/* Bp: panels of NR columns; element (p,j) of a panel at panel[p*NR + j]. */
static void pack_b(int kc, int nc, const float *restrict b, ptrdiff_t rs, ptrdiff_t cs,
                   float *restrict dst) {
  for (int j0 = 0; j0 < nc; j0 += ATTN_NR) {
    const int nr = ATTN_MIN(ATTN_NR, nc - j0);
    const float *src = b + (ptrdiff_t)j0 * cs;
    if (nr == ATTN_NR && cs == 1) {
      /* row-major B (NN): NR contiguous floats per k */
      for (int p = 0; p < kc; p++) {
        const float *s = src + (ptrdiff_t)p * rs;
        for (int j = 0; j < ATTN_NR; j++) dst[p * ATTN_NR + j] = s[j];
      }
    } else if (nr == ATTN_NR && rs == 1) {
      /* B given as rows of B^T (NT, e.g. nn.Linear weights [N,K]): a transpose,
       * done in 16-deep slices so reads and writes both stay in a few lines */
      int p0 = 0;
#ifdef ATTN_TRANSPOSE16
      for (; p0 + 16 <= kc; p0 += 16)
        for (int j = 0; j < ATTN_NR; j += 16)
          ATTN_TRANSPOSE16(src + (ptrdiff_t)j * cs + p0, cs, dst + p0 * ATTN_NR + j, ATTN_NR);
#endif
      for (; p0 < kc; p0 += 16) {
        const int pe = ATTN_MIN(kc, p0 + 16);
        for (int j = 0; j < ATTN_NR; j++) {
          const float *s = src + (ptrdiff_t)j * cs;
          for (int p = p0; p < pe; p++) dst[p * ATTN_NR + j] = s[p];
        }
      }
    } else {
      for (int p = 0; p < kc; p++) {
        int j = 0;
        for (; j < nr; j++) dst[p * ATTN_NR + j] = src[(ptrdiff_t)p * rs + (ptrdiff_t)j * cs];
        for (; j < ATTN_NR; j++) dst[p * ATTN_NR + j] = 0.0f;
      }
    }
    dst += (ptrdiff_t)ATTN_NR * kc;
  }
}

/* Tiny products (attention heads: M in [ATTN_TINY_MIN_M, ATTN_TINY_M] and
 * K*N <= ATTN_TINY_KN per batch entry) skip packing A: the small-M row-major
 * kernel reads A in place, and B goes once into a dense scratch copy (transposed
 * if need be).  Packing both operands per entry cost about as much as the
 * multiplication.  Below ATTN_TINY_MIN_M rows B is used too few times to be
 * worth copying. */
#ifndef ATTN_TINY_KN
#define ATTN_TINY_KN 16384
#endif
#ifndef ATTN_TINY_M
#define ATTN_TINY_M 256
#endif
#ifndef ATTN_TINY_MIN_M
#define ATTN_TINY_MIN_M 16
#endif

static int ATTN_FN(is_tiny)(int full_m, int full_n, int k) {
  return full_m >= ATTN_TINY_MIN_M && full_m <= ATTN_TINY_M &&
         (size_t)k * (size_t)full_n <= ATTN_TINY_KN;
}

/* Leading dimension of a transposed-B copy: whole cache lines per row. */
static int ATTN_FN(tiny_ld)(int n) { return (n + 15) & ~15; }

static size_t ATTN_FN(work_floats)(int m, int n, int k) {
  size_t packed = (size_t)ATTN_MC * ATTN_KC + (size_t)ATTN_KC * ATTN_NC + 64;
  const int small_max = ATTN_SMALL_M > ATTN_SMALL_M_T ? ATTN_SMALL_M : ATTN_SMALL_M_T;
  size_t small = (m <= small_max) ? (size_t)m * (size_t)k + 64 : 0;
  size_t tiny = (size_t)k * n <= ATTN_TINY_KN ? (size_t)k * ATTN_FN(tiny_ld)(n) + 64 : 0;
  if (small < tiny) small = tiny;
  return packed > small ? packed : small;
}

/* dst[p*ld + j] = B(p, j) for B(p, j) = b[j*ldb + p] (k x n). */
static void ATTN_FN(transpose_b)(int k, int n, const float *b, ptrdiff_t ldb, float *dst, int ld) {
  int j0 = 0;
#ifdef ATTN_TRANSPOSE16
  for (; j0 + 16 <= n; j0 += 16) {
    int p0 = 0;
    for (; p0 + 16 <= k; p0 += 16)
      ATTN_TRANSPOSE16(b + (ptrdiff_t)j0 * ldb + p0, ldb, dst + (ptrdiff_t)p0 * ld + j0, ld);
    for (int p = p0; p < k; p++)
      for (int j = j0; j < j0 + 16; j++) dst[(ptrdiff_t)p * ld + j] = b[(ptrdiff_t)j * ldb + p];
  }
#endif
  for (int p = 0; p < k; p++)
    for (int j = j0; j < n; j++) dst[(ptrdiff_t)p * ld + j] = b[(ptrdiff_t)j * ldb + p];
}

static void ATTN_FN(gemm)(const attn_sub_t *s, float *work) {
  const int m = s->m, n = s->n, k = s->k;
  if (m <= 0 || n <= 0) return;

  /* Small M (decode): stream B directly instead of packing it; packing would
   * cost as much memory traffic as the multiplication itself.  Tiny products
   * likewise.  The choice depends on the whole problem (full_m, full_n), not
   * on this thread's part of it, so results do not depend on the split. */
  if (k > 0 && ATTN_FN(is_tiny)(s->full_m, s->full_n, k)) {
    /* B (at most ATTN_TINY_KN floats) into dense rows, then the row-major
     * kernel.  Attention operands are head slices whose rows are d_model floats
     * apart and map to few L1 sets; the copy costs 1/m of the multiplication. */
    const int ld = ATTN_FN(tiny_ld)(n);
    if (s->brs == 1)
      ATTN_FN(transpose_b)(k, n, s->b, s->bcs, work, ld);
    else if (s->bcs == 1)
      for (int p = 0; p < k; p++)
        memcpy(work + (size_t)p * ld, s->b + p * s->brs, sizeof(float) * (size_t)n);
    else
      for (int p = 0; p < k; p++)
        for (int j = 0; j < n; j++) work[(size_t)p * ld + j] = s->b[p * s->brs + j * s->bcs];
    small_nn(m, n, k, s->alpha, s->a, s->ars, s->acs, work, ld, s->beta, s->c, s->ldc);
    return;
  }
  const int use_nn = s->bcs == 1 && s->full_m <= ATTN_SMALL_M;
  const int use_nt = !use_nn && s->brs == 1 && s->full_m <= ATTN_SMALL_M_T;
  if (k > 0 && use_nn) {
    small_nn(m, n, k, s->alpha, s->a, s->ars, s->acs, s->b, s->brs, s->beta, s->c, s->ldc);
    return;
  }
  if (k > 0 && use_nt) {
    const float *a = s->a;
    ptrdiff_t lda = s->ars;
    if (s->acs != 1) { /* gather A (m x k, tiny) into a contiguous copy */
      for (int i = 0; i < m; i++)
        for (int p = 0; p < k; p++) work[(size_t)i * k + p] = s->a[i * s->ars + p * s->acs];
      a = work;
      lda = k;
    }
    small_nt(m, n, k, s->alpha, a, lda, s->b, s->bcs, s->beta, s->c, s->ldc);
    return;
  }

  float *ap = work;                              /* MC*KC floats */
  float *bp = work + (size_t)ATTN_MC * ATTN_KC;  /* KC*NC floats */
  /* K in equal blocks of at most KC (1024 = 2 x 512, not 384 + 384 + 256):
   * no short last block paying a full C update for little work */
  const int kblocks = (k + ATTN_KC - 1) / ATTN_KC;
  const int kcb = (k + kblocks - 1) / kblocks;
  for (int jc = 0; jc < n; jc += ATTN_NC) {
    const int nc = ATTN_MIN(ATTN_NC, n - jc);
    for (int pc = 0; pc < k; pc += kcb) {
      const int kc = ATTN_MIN(kcb, k - pc);
      const float beta = pc == 0 ? s->beta : 1.0f;
      pack_b(kc, nc, s->b + (ptrdiff_t)pc * s->brs + (ptrdiff_t)jc * s->bcs, s->brs, s->bcs, bp);
      for (int ic = 0; ic < m; ic += ATTN_MC) {
        const int mc = ATTN_MIN(ATTN_MC, m - ic);
        pack_a(mc, kc, s->a + (ptrdiff_t)ic * s->ars + (ptrdiff_t)pc * s->acs, s->ars, s->acs, ap);
        for (int jr = 0; jr < nc; jr += ATTN_NR) {
          const int nr = ATTN_MIN(ATTN_NR, nc - jr);
          const float *bpanel = bp + (size_t)jr * kc;
          float *cblk = s->c + (ptrdiff_t)ic * s->ldc + jc + jr;
          for (int ir = 0; ir < mc; ir += ATTN_MR) {
            const int mr = ATTN_MIN(ATTN_MR, mc - ir);
            ukernel(kc, ap + (size_t)ir * kc, bpanel, cblk + (ptrdiff_t)ir * s->ldc, s->ldc, mr, nr,
                    s->alpha, beta);
          }
        }
      }
    }
  }
}

const attn_kernel_t *ATTN_FN(attn_kernel)(void) {
  static const attn_kernel_t kern = {
      .name = ATTN_NAME,
      .mr = ATTN_MR,
      .nr = ATTN_NR,
      .mc = ATTN_MC,
      .kc = ATTN_KC,
      .nc = ATTN_NC,
      .small_m_nn = ATTN_SMALL_M,
      .small_m_nt = ATTN_SMALL_M_T,
      .work_floats = ATTN_FN(work_floats),
      .gemm = ATTN_FN(gemm),
  };
  return &kern;
}
