/*
 * Vectorisable float32 math for the kernels (no libm): every function is a
 * static inline of straight-line code with selects, so loops over them
 * auto-vectorise.  Coefficients were fitted for this file (weighted least
 * squares iterated towards minimax, numpy, float64) unless a series is named.
 *
 * Accuracy, measured against double precision over dense sweeps (including
 * FMA and non-FMA builds):
 *   attn_expf     ~2 ulp (rel. < 1e-7); exp(-inf) = 0, exp(+inf) = inf,
 *                 overflow -> inf, gradual underflow to denormals, NaN -> NaN.
 *                 attn_exp_core / attn_exp_nonpos: the same polynomial without
 *                 the tails (clamped to [-87, 88]; flushed to 0 below -87).
 *   attn_logf     ~2 ulp; log(0) = -inf, log(<0) = NaN, log(inf) = inf,
 *                 denormal inputs handled.
 *   attn_tanhf    rel. < 3e-7 (polynomial for |x| < 0.55, else via exp).
 *   attn_normcdf  Phi(x) = (1 + erf(x/sqrt2))/2: rel. < 1e-6 (erf polynomial
 *                 for |x|/sqrt2 < 0.9, else exp(-x^2/2) * R(1/(1 + |x|/(2 sqrt2)))
 *                 with x^2/2 split into two floats so the tail keeps its
 *                 relative accuracy).
 *   sigmoid, GELU (tanh form as x * sigmoid(2u), erf form as x * Phi(x)) and
 *   their derivatives inherit ~1e-6 relative accuracy from these.
 *   attn_powf_js  JavaScript Math.pow semantics; integer exponents exact to
 *                 1 ulp, otherwise a^int(b) * exp(frac(b) log|a|): rel. error
 *                 ~(1 + |ln a|) * 1.2e-7.
 */
#ifndef ATTN_KMATH_H
#define ATTN_KMATH_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

#define ATTN_INLINE static inline __attribute__((always_inline))

/* GCC on x86-64 Linux: one clone of each hot function per ISA level, chosen
 * at load time (ifunc), so the addon runs on any x86-64 but uses AVX-512 or
 * AVX2+FMA where present.  Elsewhere (clang, wasm, arm64) a plain function
 * built for the target's flags. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && \
    !defined(ATTN_NO_CLONES)
#define ATTN_SIMD __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ATTN_SIMD
#endif

/* Accumulator lanes for reductions: independent partial sums that compile
 * to 2 zmm / 4 ymm / 8 xmm registers.  Lane partials are combined in a fixed
 * tree, so results never depend on threads. */
#define ATTN_LANES 32

typedef union {
  float f;
  int32_t i;
  uint32_t u;
} attn_fbits;

ATTN_INLINE float attn_i2f(int32_t i) {
  attn_fbits b;
  b.i = i;
  return b.f;
}
ATTN_INLINE int32_t attn_f2i(float f) {
  attn_fbits b;
  b.f = f;
  return b.i;
}
ATTN_INLINE float attn_absf(float x) { return attn_i2f(attn_f2i(x) & 0x7fffffff); }
/* |m| with the sign of s */
ATTN_INLINE float attn_copysignf(float m, float s) {
  return attn_i2f((attn_f2i(m) & 0x7fffffff) | (attn_f2i(s) & (int32_t)0x80000000));
}

#define ATTN_INF __builtin_inff()
#define ATTN_NAN __builtin_nanf("")
/* ln 2 = HI + LO with HI short enough (9 bits) that n * HI is exact. */
#define ATTN_LN2_HI 0.693359375f
#define ATTN_LN2_LO (-2.12194440e-4f)

/* e^(hi + lo) for a small correction lo (|lo| << ulp(hi) is fine). */
ATTN_INLINE float attn_exp_ext(float hi, float lo) {
  /* Clamp (NaN passes through): beyond these the result is 0 or inf anyway. */
  float x = hi < -104.0f ? -104.0f : hi;
  x = x > 89.0f ? 89.0f : x;
  /* n = round(x / ln2) by the 1.5 * 2^23 trick; its integer is in t's low bits. */
  const float magic = 12582912.0f;
  float t = x * 1.44269504f + magic;
  float n = t - magic;
  int32_t ni = attn_f2i(t) - attn_f2i(magic);
  float r = (x - n * ATTN_LN2_HI) - n * ATTN_LN2_LO + lo; /* |r| <= ln2/2 */
  /* e^r = 1 + r + r^2 Q(r), fitted on [-ln2/2, ln2/2], rel. error 3e-9. */
  float q = 1.38146064e-3f;
  q = q * r + 8.36871072e-3f;
  q = q * r + 4.16683875e-2f;
  q = q * r + 1.66665207e-1f;
  q = q * r + 4.99999935e-1f;
  float p = 1.0f + (r + r * r * q);
  /* 2^n as two factors so both stay normal for n in [-150, 128]: gives
   * denormals and overflow to inf with correct rounding of the product. */
  int32_t h = ni >> 1;
  return p * attn_i2f((h + 127) << 23) * attn_i2f((ni - h + 127) << 23);
}
ATTN_INLINE float attn_expf(float x) { return attn_exp_ext(x, 0.0f); }

/* e^x with x clamped to [-87, 88] first (NaN passes): one scale factor, no
 * denormals, so cheaper.  For callers whose tails do not matter. */
ATTN_INLINE float attn_exp_core(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float magic = 12582912.0f;
  float t = x * 1.44269504f + magic;
  float n = t - magic;
  int32_t ni = attn_f2i(t) - attn_f2i(magic);
  float r = (x - n * ATTN_LN2_HI) - n * ATTN_LN2_LO;
  float q = 1.38146064e-3f;
  q = q * r + 8.36871072e-3f;
  q = q * r + 4.16683875e-2f;
  q = q * r + 1.66665207e-1f;
  q = q * r + 4.99999935e-1f;
  float p = 1.0f + (r + r * r * q);
  return p * attn_i2f((ni + 127) << 23);
}

/* e^x for x <= 0 (softmax weights): results below e^-87 (~1.6e-38, where
 * float turns denormal) are flushed to 0; -inf gives 0, NaN stays NaN. */
ATTN_INLINE float attn_exp_nonpos(float x) {
  const float e = attn_exp_core(x);
  return x < -87.0f ? 0.0f : e;
}

ATTN_INLINE float attn_logf(float x) {
  /* Denormals (and non-positives, fixed up below) are scaled by 2^23 first. */
  int sub = x < FLT_MIN;
  float xs = sub ? x * 8388608.0f : x;
  int32_t bits = attn_f2i(xs);
  int32_t e = ((bits >> 23) & 0xff) - 127 - (sub ? 23 : 0);
  float m = attn_i2f((bits & 0x007fffff) | 0x3f800000); /* [1, 2) */
  int big = m > 1.41421356f;
  m = big ? m * 0.5f : m; /* [sqrt(1/2), sqrt(2)) */
  e += big;
  /* log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172: series to s^9. */
  float s = (m - 1.0f) / (m + 1.0f);
  float z = s * s;
  float q = z * (0.333333333f + z * (0.2f + z * (0.142857143f + z * 0.111111111f)));
  float lm = 2.0f * s + 2.0f * s * q;
  float ef = (float)e;
  float r = ef * ATTN_LN2_HI + (ef * ATTN_LN2_LO + lm);
  r = x == 0.0f ? -ATTN_INF : r;
  r = x < 0.0f ? ATTN_NAN : r;
  r = x == ATTN_INF ? ATTN_INF : r;
  return x != x ? x : r;
}

ATTN_INLINE float attn_tanhf(float x) {
  float ax = attn_absf(x);
  float z = x * x;
  /* |x| < 0.55: x + x^3 Q(x^2), fitted, rel. error 1.3e-8. */
  float q = -6.62147452e-3f;
  q = q * z + 2.13162198e-2f;
  q = q * z - 5.39107286e-2f;
  q = q * z + 1.33331217e-1f;
  q = q * z - 3.33333321e-1f;
  float small = x + x * z * q;
  /* else 1 - 2/(e^(2|x|) + 1): no cancellation there; saturates to 1. */
  float big = 1.0f - 2.0f / (attn_exp_core(2.0f * ax) + 1.0f);
  return ax < 0.55f ? small : attn_copysignf(big, x);
}

ATTN_INLINE float attn_sigmoidf(float x) { return 1.0f / (1.0f + attn_expf(-x)); }

#define ATTN_GELU_K 0.797884561f /* sqrt(2/pi) */
#define ATTN_GELU_C 0.044715f

/* 0.5 x (1 + tanh u) = x sigmoid(2u), u = K (x + C x^3): accurate also for
 * large negative x, where 1 + tanh u would cancel. */
ATTN_INLINE float attn_gelu_tanhf(float x) {
  float u = ATTN_GELU_K * (x + ATTN_GELU_C * x * x * x);
  /* the clamp in exp_core changes the result by < |x| 1e-38 */
  float g = x / (1.0f + attn_exp_core(-2.0f * u));
  return x == -ATTN_INF ? ATTN_NAN : g; /* -inf * 0 in the reference */
}

ATTN_INLINE float attn_gelu_tanh_gradf(float x) {
  float x2 = x * x;
  float u = ATTN_GELU_K * (x + ATTN_GELU_C * x2 * x);
  float e = attn_exp_core(-2.0f * u); /* clamped: e*s = 1 - s stays finite below */
  float s = 1.0f / (1.0f + e); /* (1 + tanh u) / 2 */
  float sp = e * s;            /* (1 - tanh u) / 2, without cancellation */
  /* d/dx = s + x (1 - tanh^2 u) u'/2 = s + 2 x s sp K (1 + 3 C x^2) */
  float g = s + 2.0f * x * s * sp * ATTN_GELU_K * (1.0f + 3.0f * ATTN_GELU_C * x2);
  return attn_absf(x) == ATTN_INF ? ATTN_NAN : g; /* inf * 0 in the reference */
}

/* Phi(x) and, through *pdf, the normal density phi(x). */
ATTN_INLINE float attn_normcdf_pdf(float x, float *pdf) {
  float xa = attn_absf(x);
  float a = xa * 0.707106781f; /* |x| / sqrt2 */
  /* a < 0.9: erf(a) = a P(a^2), fitted, rel. error 1.2e-8. */
  float z = a * a;
  float p = -6.11128425e-4f;
  p = p * z + 5.01622679e-3f;
  p = p * z - 2.67819558e-2f;
  p = p * z + 1.12822299e-1f;
  p = p * z - 3.76125324e-1f;
  p = p * z + 1.12837916f;
  float small = 0.5f + attn_copysignf(0.5f * a * p, x);
  /* x^2/2 = hi + lo exactly enough: xhi keeps 12 mantissa bits, so xhi^2 is
   * exact.  Beyond |x| = 20 the tail is 0 in float anyway (and inf - inf
   * would make NaN). */
  float xt = xa > 20.0f ? 20.0f : xa;
  float xhi = attn_i2f(attn_f2i(xt) & (int32_t)0xfffff000);
  float xlo = xt - xhi;
  float e = attn_exp_ext(-0.5f * (xhi * xhi), -0.5f * (xlo * (xhi + xt))); /* exp(-x^2/2) */
  *pdf = e * 0.398942280f;
  /* a >= 0.9: erfc(a) = exp(-a^2) R(t), t = 1/(1 + a/2), fitted on [0.9, 10], rel. 9e-9. */
  float t = 1.0f / (1.0f + 0.5f * a);
  float r = 7.42109645e-2f;
  r = r * t - 1.64122850e-1f;
  r = r * t - 2.79395599e-3f;
  r = r * t + 1.25909954e-1f;
  r = r * t + 1.48844327e-1f;
  r = r * t + 2.55514724e-1f;
  r = r * t + 2.80564321e-1f;
  r = r * t + 2.82238849e-1f;
  r = r * t - 5.64694459e-6f;
  float half = 0.5f * e * r; /* erfc(a) / 2 */
  float big = x < 0.0f ? half : 1.0f - half;
  return a < 0.9f ? small : big;
}

ATTN_INLINE float attn_gelu_erff(float x) {
  float pdf;
  return x * attn_normcdf_pdf(x, &pdf);
}
ATTN_INLINE float attn_gelu_erf_gradf(float x) {
  float pdf;
  float cdf = attn_normcdf_pdf(x, &pdf);
  return cdf + x * pdf;
}

/* Math.pow(a, b) of JavaScript (scalar; pow is not a hot op). */
static inline float attn_powf_js(float a, float b) {
  if (b != b) return ATTN_NAN;
  if (b == 0.0f) return 1.0f;
  if (a != a) return ATTN_NAN;
  float ab = attn_absf(a), bb = attn_absf(b);
  if (bb == ATTN_INF) {
    if (ab == 1.0f) return ATTN_NAN;
    return (ab > 1.0f) == (b > 0.0f) ? ATTN_INF : 0.0f;
  }
  /* every float >= 2^23 is an even integer */
  int is_int = bb >= 8388608.0f || (float)(int32_t)b == b;
  int odd = is_int && bb < 16777216.0f && ((int32_t)b & 1);
  const int neg = attn_f2i(a) < 0; /* sign bit: -0 counts */
  if (ab == 0.0f || ab == ATTN_INF) {
    float mag = (ab == 0.0f) == (b > 0.0f) ? 0.0f : ATTN_INF;
    return neg && odd ? -mag : mag;
  }
  if (neg && !is_int) return ATTN_NAN;
  float r;
  if (b == 0.5f) {
    r = __builtin_sqrtf(ab);
  } else if (bb >= 16777216.0f) {
    r = attn_expf(b * attn_logf(ab)); /* 0 or inf, but for |a| within 1e-7 of 1 */
  } else {
    /* a^b = a^trunc(b) (repeated squaring in double: exact to ~1 ulp) times
     * a^frac(b) = exp(frac(b) log a), whose argument stays small */
    const int32_t k = (int32_t)bb;
    double base = ab, acc = 1.0;
    for (int32_t e = k; e > 0; e >>= 1, base *= base)
      if (e & 1) acc *= base;
    if (b < 0.0f) acc = 1.0 / acc;
    const float f = b - (b < 0.0f ? -(float)k : (float)k);
    r = (float)(f == 0.0f ? acc : acc * (double)attn_expf(f * attn_logf(ab)));
  }
  return neg && odd ? -r : r;
}

#endif
