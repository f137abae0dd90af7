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
 *                        ptrdiff_t lda, const float *b, ptrdiff_t ldb,
 *                        float beta, float *c, ptrdiff_t ldc);   B(k,j)=b[k*ldb+j]
 *   static void small_nt(... same ...)                           B(k,j)=b[j*ldb+k]
 */
#include <string.h>

#if (ATTN_MC % ATTN_MR) != 0 || (ATTN_NC % ATTN_NR) != 0
#error "MC must be a multiple of MR and NC a multiple of NR"
#endif

#define ATTN_MIN(x, y) ((x) < (y) ? (x) : (y))

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
      /* row-major A (NN): read rows contiguously, write with stride MR */
      for (int i = 0; i < ATTN_MR; i++) {
        const float *s = src + (ptrdiff_t)i * rs;
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

static size_t ATTN_FN(work_floats)(int m, int k) {
  size_t packed = (size_t)ATTN_MC * ATTN_KC + (size_t)ATTN_KC * ATTN_NC + 64;
  const int small_max = ATTN_SMALL_M > ATTN_SMALL_M_T ? ATTN_SMALL_M : ATTN_SMALL_M_T;
  size_t small = (m <= small_max) ? (size_t)m * (size_t)k + 64 : 0;
  return packed > small ? packed : small;
}

static void ATTN_FN(gemm)(const attn_sub_t *s, float *work) {
  const int m = s->m, n = s->n, k = s->k;
  if (m <= 0 || n <= 0) return;

  /* Small M (decode): stream B directly instead of packing it; packing would
   * cost as much memory traffic as the multiplication itself. */
  const int use_nn = s->bcs == 1 && s->full_m <= ATTN_SMALL_M;
  const int use_nt = !use_nn && s->brs == 1 && s->full_m <= ATTN_SMALL_M_T;
  if (k > 0 && (use_nn || use_nt)) {
    const float *a = s->a;
    ptrdiff_t lda = s->ars;
    if (s->acs != 1) { /* gather A (m x k, tiny) into a contiguous copy */
      for (int i = 0; i < m; i++)
        for (int p = 0; p < k; p++) work[(size_t)i * k + p] = s->a[i * s->ars + p * s->acs];
      a = work;
      lda = k;
    }
    if (use_nn)
      small_nn(m, n, k, s->alpha, a, lda, s->b, s->brs, s->beta, s->c, s->ldc);
    else
      small_nt(m, n, k, s->alpha, a, lda, s->b, s->bcs, s->beta, s->c, s->ldc);
    return;
  }

  float *ap = work;                              /* MC*KC floats */
  float *bp = work + (size_t)ATTN_MC * ATTN_KC;  /* KC*NC floats */
  for (int jc = 0; jc < n; jc += ATTN_NC) {
    const int nc = ATTN_MIN(ATTN_NC, n - jc);
    for (int pc = 0; pc < k; pc += ATTN_KC) {
      const int kc = ATTN_MIN(ATTN_KC, k - pc);
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
