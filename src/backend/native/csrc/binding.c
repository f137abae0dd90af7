/*
 * Node-API glue for attn_native: argument validation and zero-copy access to
 * the typed arrays.  Every array access the GEMM will make is bounds-checked
 * here (extreme corners of each batch entry, in 64-bit), so bad arguments
 * throw a JS Error instead of touching memory outside the arrays.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "gemm.h"

#if defined(__linux__) || defined(__APPLE__)
#include <dlfcn.h>
#endif

#define FN "gemmBatched"

static napi_value throwf(napi_env env, const char *fn, const char *arg, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: argument '%s' %s", fn, arg, what);
  napi_throw_error(env, "ERR_ATTN_NATIVE_ARG", msg);
  return NULL;
}

/* Integer argument in [lo, hi]. */
static int get_int(napi_env env, napi_value v, const char *fn, const char *name, int64_t lo,
                   int64_t hi, int64_t *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    throwf(env, fn, name, "must be a number");
    return 0;
  }
  napi_get_value_double(env, v, &d);
  if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi) {
    char what[128];
    snprintf(what, sizeof what, "must be an integer in [%lld, %lld], got %g", (long long)lo,
             (long long)hi, d);
    throwf(env, fn, name, what);
    return 0;
  }
  *out = (int64_t)d;
  return 1;
}

static int get_float(napi_env env, napi_value v, const char *fn, const char *name, float *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    throwf(env, fn, name, "must be a number");
    return 0;
  }
  napi_get_value_double(env, v, &d);
  *out = (float)d;
  return 1;
}

static int get_typed(napi_env env, napi_value v, const char *fn, const char *name,
                     napi_typedarray_type want, void **data, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok || type != want) {
    throwf(env, fn, name, want == napi_float32_array ? "must be a Float32Array" : "must be an Int32Array");
    return 0;
  }
  if (*data == NULL) *len = 0; /* detached */
  return 1;
}

/* Index range [lo, hi] touched by base + i*rs + j*cs for 0<=i<m, 0<=j<n
 * (m, n >= 1).  |rs|,|cs| <= 2^31 and m, n < 2^31 keep this within int64. */
static void index_range(int64_t base, int64_t m, int64_t rs, int64_t n, int64_t cs, int64_t *lo,
                        int64_t *hi) {
  const int64_t ri = (m - 1) * rs, cj = (n - 1) * cs;
  *lo = base + (ri < 0 ? ri : 0) + (cj < 0 ? cj : 0);
  *hi = base + (ri > 0 ? ri : 0) + (cj > 0 ? cj : 0);
}

/* Throws unless every element of one operand of batch entry b is in range. */
static int check_operand(napi_env env, const char *arr, const char *offs, const char *dims, int b,
                         int64_t base, int64_t m, int64_t rs, int64_t n, int64_t cs, size_t len) {
  int64_t lo, hi;
  index_range(base, m, rs, n, cs, &lo, &hi);
  if (lo >= 0 && (uint64_t)hi < (uint64_t)len) return 1;
  char what[224];
  snprintf(what, sizeof what,
           "is too short: batch %d (%s[%d]=%lld, %s) reads elements %lld..%lld, but the array "
           "has %zu",
           b, offs, b, (long long)base, dims, (long long)lo, (long long)hi, len);
  throwf(env, FN, arr, what);
  return 0;
}

static napi_value gemm_batched(napi_env env, napi_callback_info info) {
  size_t argc = 16;
  napi_value argv[16];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 16) {
    char msg[128];
    snprintf(msg, sizeof msg, FN ": expected 16 arguments, got %zu", argc);
    napi_throw_error(env, "ERR_ATTN_NATIVE_ARG", msg);
    return NULL;
  }
  const int64_t I32MAX = INT32_MAX, I32MIN = INT32_MIN;
  int64_t M, N, K, ars, acs, brs, bcs, ldc;
  float alpha, beta;
  void *pa, *pb, *pc, *poa, *pob, *poc;
  size_t la, lb, lc, loa, lob, loc;
  if (!get_int(env, argv[0], FN, "M", 0, I32MAX, &M) ||
      !get_int(env, argv[1], FN, "N", 0, I32MAX, &N) ||
      !get_int(env, argv[2], FN, "K", 0, I32MAX, &K) ||
      !get_float(env, argv[3], FN, "alpha", &alpha) ||
      !get_typed(env, argv[4], FN, "A", napi_float32_array, &pa, &la) ||
      !get_typed(env, argv[5], FN, "aOffsets", napi_int32_array, &poa, &loa) ||
      !get_int(env, argv[6], FN, "aRowStride", I32MIN, I32MAX, &ars) ||
      !get_int(env, argv[7], FN, "aColStride", I32MIN, I32MAX, &acs) ||
      !get_typed(env, argv[8], FN, "B", napi_float32_array, &pb, &lb) ||
      !get_typed(env, argv[9], FN, "bOffsets", napi_int32_array, &pob, &lob) ||
      !get_int(env, argv[10], FN, "bRowStride", I32MIN, I32MAX, &brs) ||
      !get_int(env, argv[11], FN, "bColStride", I32MIN, I32MAX, &bcs) ||
      !get_float(env, argv[12], FN, "beta", &beta) ||
      !get_typed(env, argv[13], FN, "C", napi_float32_array, &pc, &lc) ||
      !get_typed(env, argv[14], FN, "cOffsets", napi_int32_array, &poc, &loc) ||
      !get_int(env, argv[15], FN, "ldc", 0, I32MAX, &ldc))
    return NULL;
  if (lob != loa) return throwf(env, FN, "bOffsets", "must have the same length as aOffsets");
  if (loc != loa) return throwf(env, FN, "cOffsets", "must have the same length as aOffsets");
  if (loa > (size_t)INT32_MAX) return throwf(env, FN, "aOffsets", "is too long");
  if (M > 1 && ldc < N) return throwf(env, FN, "ldc", "must be >= N when M > 1");
  const int batch = (int)loa;
  const int32_t *oa = (const int32_t *)poa, *ob = (const int32_t *)pob, *oc = (const int32_t *)poc;
  for (int b = 0; b < batch; b++) {
    if (M > 0 && K > 0 &&
        !check_operand(env, "A", "aOffsets", "M, K, aRowStride, aColStride", b, oa[b], M, ars, K,
                       acs, la))
      return NULL;
    if (K > 0 && N > 0 &&
        !check_operand(env, "B", "bOffsets", "K, N, bRowStride, bColStride", b, ob[b], K, brs, N,
                       bcs, lb))
      return NULL;
    if (M > 0 && N > 0 &&
        !check_operand(env, "C", "cOffsets", "M, N, ldc", b, oc[b], M, ldc, N, 1, lc))
      return NULL;
  }
  attn_batched_t g;
  g.M = (int)M;
  g.N = (int)N;
  g.K = (int)K;
  g.batch = batch;
  g.alpha = alpha;
  g.beta = beta;
  g.A = (const float *)pa;
  g.aoff = oa;
  g.ars = (ptrdiff_t)ars;
  g.acs = (ptrdiff_t)acs;
  g.B = (const float *)pb;
  g.boff = ob;
  g.brs = (ptrdiff_t)brs;
  g.bcs = (ptrdiff_t)bcs;
  g.C = (float *)pc;
  g.coff = oc;
  g.ldc = (ptrdiff_t)ldc;
  if (attn_gemm_batched(&g) != 0) {
    napi_throw_error(env, "ERR_ATTN_NATIVE_OOM", FN ": out of memory for packing buffers");
    return NULL;
  }
  return NULL;
}

static napi_value set_num_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1) return throwf(env, "setNumThreads", "n", "is required");
  if (!get_int(env, argv[0], "setNumThreads", "n", 1, 256, &n)) return NULL;
  attn_pool_set_threads((int)n);
  return NULL;
}

static napi_value get_num_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_int32(env, attn_pool_get_threads(), &r);
  return r;
}

static napi_value cpu_features(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_string_utf8(env, attn_active_kernel()->name, NAPI_AUTO_LENGTH, &r);
  return r;
}

/* selectKernel(name): "auto" | "avx512" | "avx2" | "portable" (tests, benchmarks). */
static napi_value select_kernel(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = 0;
  napi_value argv[1];
  char name[32];
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_string ||
      napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok)
    return throwf(env, "selectKernel", "name", "must be a string");
  const char *active = attn_select_kernel(name);
  if (!active) {
    char what[96];
    snprintf(what, sizeof what, "'%s' is not available on this CPU/build", name);
    return throwf(env, "selectKernel", "name", what);
  }
  napi_value r;
  napi_create_string_utf8(env, active, NAPI_AUTO_LENGTH, &r);
  return r;
}

/* The worker threads live as long as the process; make sure the shared
 * object is never unloaded underneath them. */
static void pin_library(void) {
#if defined(__linux__) || defined(__APPLE__)
  Dl_info di;
  if (dladdr((void *)&pin_library, &di) && di.dli_fname)
    (void)dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
#endif
}

/* The non-GEMM kernels (binding_ops.c). */
int attn_register_ops(napi_env env, napi_value exports);

NAPI_MODULE_INIT() {
  pin_library();
  const napi_property_descriptor props[] = {
      {"gemmBatched", NULL, gemm_batched, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setNumThreads", NULL, set_num_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getNumThreads", NULL, get_num_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"cpuFeatures", NULL, cpu_features, NULL, NULL, NULL, napi_enumerable, NULL},
      {"selectKernel", NULL, select_kernel, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok ||
      !attn_register_ops(env, exports))
    return NULL;
  return exports;
}
