/*
 * Argument helpers for the kernel bindings (binding_ops.c, binding_nn.c).
 * Each returns 1 on success, or throws a JS Error and returns 0.  They are
 * lean on purpose: the ops are called thousands of times per training step.
 */
#ifndef ATTN_OPS_ARGS_H
#define ATTN_OPS_ARGS_H

#define NAPI_VERSION 8
#include <node_api.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "../../kernels/kernels.h"

static inline napi_value ops_throw(napi_env env, const char *fn, const char *fmt, ...) {
  char msg[256];
  int k = snprintf(msg, sizeof msg, "%s: ", fn);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
  va_end(ap);
  napi_throw_error(env, "ERR_ATTN_NATIVE_ARG", msg);
  return NULL;
}

/* Reads exactly `want` arguments into argv. */
static inline int ops_args(napi_env env, napi_callback_info info, const char *fn,
                           size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc != want) {
    ops_throw(env, fn, "expected %zu arguments, got %zu", want, argc);
    return 0;
  }
  return 1;
}

/* A Float32Array (or, with allow_int, an Int32Array: *is_int says which). */
static inline int ops_f32(napi_env env, napi_value v, const char *fn, const char *name,
                          float **data, size_t *len, int allow_int, int *is_int) {
  napi_typedarray_type t;
  void *p = NULL;
  if (napi_get_typedarray_info(env, v, &t, len, &p, NULL, NULL) != napi_ok ||
      !(t == napi_float32_array || (allow_int && t == napi_int32_array))) {
    ops_throw(env, fn, "argument '%s' must be a Float32Array%s", name,
              allow_int ? " or an Int32Array" : "");
    return 0;
  }
  if (p == NULL) *len = 0; /* detached */
  *data = p;
  if (is_int) *is_int = t == napi_int32_array;
  return 1;
}

static inline int ops_i32(napi_env env, napi_value v, const char *fn, const char *name,
                          int32_t **data, size_t *len) {
  napi_typedarray_type t;
  void *p = NULL;
  if (napi_get_typedarray_info(env, v, &t, len, &p, NULL, NULL) != napi_ok ||
      t != napi_int32_array) {
    ops_throw(env, fn, "argument '%s' must be an Int32Array", name);
    return 0;
  }
  if (p == NULL) *len = 0;
  *data = p;
  return 1;
}

static inline int ops_num(napi_env env, napi_value v, const char *fn, const char *name,
                          double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    ops_throw(env, fn, "argument '%s' must be a number", name);
    return 0;
  }
  return 1;
}

/* An integer in [lo, hi]. */
static inline int ops_int(napi_env env, napi_value v, const char *fn, const char *name,
                          int64_t lo, int64_t hi, int64_t *out) {
  double d;
  if (!ops_num(env, v, fn, name, &d)) return 0;
  if (!(d >= (double)lo && d <= (double)hi) || d != (double)(int64_t)d) {
    ops_throw(env, fn, "argument '%s' must be an integer in [%lld, %lld], got %g", name,
              (long long)lo, (long long)hi, d);
    return 0;
  }
  *out = (int64_t)d;
  return 1;
}

/* Throws unless elements [off, off + count) lie inside an array of len. */
static inline int ops_fits(napi_env env, const char *fn, const char *name, int64_t off,
                           int64_t count, size_t len) {
  if (count <= 0 || (off >= 0 && (uint64_t)(off + count) <= (uint64_t)len)) return 1;
  ops_throw(env, fn, "argument '%s' is too short: needs elements %lld..%lld, has %zu", name,
            (long long)off, (long long)(off + count - 1), len);
  return 0;
}

#define OPS_MAX_ROWS ((int64_t)1 << 40)

#endif
