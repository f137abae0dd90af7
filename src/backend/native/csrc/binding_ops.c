/*
 * Node-API bindings of the strided elementwise kernels (src/backend/kernels):
 * unary, binary, where, reduce, copy, fill.  A view's geometry comes in one
 * Int32Array `meta` (no JS objects per call):
 *   [nd, shape[0..nd), then per operand: strides[0..nd), offset]
 * Every element each operand can touch is bounds-checked here (64-bit), so
 * bad arguments throw instead of reaching memory outside the arrays.
 */
#include "ops_args.h"

typedef struct {
  int nd;
  ptrdiff_t shape[ATTN_MAX_DIMS];
  ptrdiff_t st[4][ATTN_MAX_DIMS];
  const ptrdiff_t *stp[4];
  int64_t off[4];
} ops_meta;

/* Decodes `meta` for nops operands with the given names and array lengths. */
static int read_meta(napi_env env, const char *fn, napi_value v, int nops,
                     const char *const *names, const size_t *lens, ops_meta *m) {
  int32_t *a;
  size_t len;
  if (!ops_i32(env, v, fn, "meta", &a, &len)) return 0;
  if (len < 1 || a[0] < 0 || a[0] > ATTN_MAX_DIMS) {
    ops_throw(env, fn, "meta: rank must be in [0, %d]", ATTN_MAX_DIMS);
    return 0;
  }
  const int nd = a[0];
  if (len < (size_t)(1 + nd + nops * (nd + 1))) {
    ops_throw(env, fn, "meta is too short for rank %d and %d operands", nd, nops);
    return 0;
  }
  m->nd = nd;
  int64_t total = 1;
  for (int d = 0; d < nd; d++) {
    if (a[1 + d] < 0) {
      ops_throw(env, fn, "meta: negative dimension %d", a[1 + d]);
      return 0;
    }
    m->shape[d] = a[1 + d];
    total *= a[1 + d];
    if (total > OPS_MAX_ROWS) {
      ops_throw(env, fn, "meta: shape has too many elements");
      return 0;
    }
  }
  for (int k = 0; k < nops; k++) {
    const int32_t *s = a + 1 + nd + k * (nd + 1);
    m->off[k] = s[nd];
    m->stp[k] = m->st[k];
    /* lowest and highest element touched; both move monotonically, so the
     * first step out of range is final and nothing overflows */
    int64_t lo = s[nd], hi = s[nd];
    for (int d = 0; d < nd; d++) {
      m->st[k][d] = s[d];
      if (total == 0) continue;
      const int64_t span = (int64_t)(m->shape[d] - 1) * s[d];
      if (span < 0) lo += span;
      else hi += span;
      if (lo < 0 || hi >= (int64_t)lens[k]) break;
    }
    if (total > 0 && (lo < 0 || hi >= (int64_t)lens[k])) {
      ops_throw(env, fn, "argument '%s' is too short or the view is out of range: it reaches "
                "elements %lld..%lld of %zu", names[k], (long long)lo, (long long)hi, lens[k]);
      return 0;
    }
  }
  return 1;
}

/* unary(op, x, out, meta) */
static napi_value js_unary(napi_env env, napi_callback_info info) {
  static const char *fn = "unary", *names[] = {"x", "out"};
  napi_value argv[4];
  int64_t op;
  float *x, *o;
  size_t lens[2];
  ops_meta m;
  if (!ops_args(env, info, fn, 4, argv) ||
      !ops_int(env, argv[0], fn, "op", 0, ATTN_U_COUNT - 1, &op) ||
      !ops_f32(env, argv[1], fn, "x", &x, &lens[0], 0, NULL) ||
      !ops_f32(env, argv[2], fn, "out", &o, &lens[1], 0, NULL) ||
      !read_meta(env, fn, argv[3], 2, names, lens, &m))
    return NULL;
  attn_unary((int)op, m.nd, m.shape, x + m.off[0], m.stp[0], o + m.off[1], m.stp[1]);
  return NULL;
}

/* binary(op, a, b, out, meta): all Float32Array, or all Int32Array (not pow) */
static napi_value js_binary(napi_env env, napi_callback_info info) {
  static const char *fn = "binary", *names[] = {"a", "b", "out"};
  napi_value argv[5];
  int64_t op;
  float *a, *b, *o;
  int ai, bi, oi;
  size_t lens[3];
  ops_meta m;
  if (!ops_args(env, info, fn, 5, argv) ||
      !ops_int(env, argv[0], fn, "op", 0, ATTN_B_COUNT - 1, &op) ||
      !ops_f32(env, argv[1], fn, "a", &a, &lens[0], 1, &ai) ||
      !ops_f32(env, argv[2], fn, "b", &b, &lens[1], 1, &bi) ||
      !ops_f32(env, argv[3], fn, "out", &o, &lens[2], 1, &oi))
    return NULL;
  if (ai != bi || ai != oi) return ops_throw(env, fn, "a, b and out must have one element type");
  if (ai && op == ATTN_B_POW) return ops_throw(env, fn, "pow is not implemented for Int32Array");
  if (!read_meta(env, fn, argv[4], 3, names, lens, &m)) return NULL;
  if (ai)
    attn_binary_i32((int)op, m.nd, m.shape, (int32_t *)a + m.off[0], m.stp[0],
                    (int32_t *)b + m.off[1], m.stp[1], (int32_t *)o + m.off[2], m.stp[2]);
  else
    attn_binary((int)op, m.nd, m.shape, a + m.off[0], m.stp[0], b + m.off[1], m.stp[1],
                o + m.off[2], m.stp[2]);
  return NULL;
}

/* where(cond, a, b, out, meta): cond Float32Array or Int32Array */
static napi_value js_where(napi_env env, napi_callback_info info) {
  static const char *fn = "where", *names[] = {"cond", "a", "b", "out"};
  napi_value argv[5];
  float *c, *a, *b, *o;
  int cond_int;
  size_t lens[4];
  ops_meta m;
  if (!ops_args(env, info, fn, 5, argv) ||
      !ops_f32(env, argv[0], fn, "cond", &c, &lens[0], 1, &cond_int) ||
      !ops_f32(env, argv[1], fn, "a", &a, &lens[1], 0, NULL) ||
      !ops_f32(env, argv[2], fn, "b", &b, &lens[2], 0, NULL) ||
      !ops_f32(env, argv[3], fn, "out", &o, &lens[3], 0, NULL) ||
      !read_meta(env, fn, argv[4], 4, names, lens, &m))
    return NULL;
  attn_where(m.nd, m.shape, c + m.off[0], cond_int, m.stp[0], a + m.off[1], m.stp[1],
             b + m.off[2], m.stp[2], o + m.off[3], m.stp[3]);
  return NULL;
}

/* reduce(op, x, out, meta): op 0 = sum, 1 = max */
static napi_value js_reduce(napi_env env, napi_callback_info info) {
  static const char *fn = "reduce", *names[] = {"x", "out"};
  napi_value argv[4];
  int64_t op;
  float *x, *o;
  size_t lens[2];
  ops_meta m;
  if (!ops_args(env, info, fn, 4, argv) || !ops_int(env, argv[0], fn, "op", 0, 1, &op) ||
      !ops_f32(env, argv[1], fn, "x", &x, &lens[0], 0, NULL) ||
      !ops_f32(env, argv[2], fn, "out", &o, &lens[1], 0, NULL) ||
      !read_meta(env, fn, argv[3], 2, names, lens, &m))
    return NULL;
  attn_reduce((int)op, m.nd, m.shape, x + m.off[0], m.stp[0], o + m.off[1], m.stp[1]);
  return NULL;
}

/* copy(src, dst, meta): both Float32Array or both Int32Array (bitwise) */
static napi_value js_copy(napi_env env, napi_callback_info info) {
  static const char *fn = "copy", *names[] = {"src", "dst"};
  napi_value argv[3];
  float *s, *d;
  int si, di;
  size_t lens[2];
  ops_meta m;
  if (!ops_args(env, info, fn, 3, argv) ||
      !ops_f32(env, argv[0], fn, "src", &s, &lens[0], 1, &si) ||
      !ops_f32(env, argv[1], fn, "dst", &d, &lens[1], 1, &di))
    return NULL;
  if (si != di) return ops_throw(env, fn, "src and dst must have the same element type");
  if (!read_meta(env, fn, argv[2], 2, names, lens, &m)) return NULL;
  attn_copy32(m.nd, m.shape, s + m.off[0], m.stp[0], d + m.off[1], m.stp[1]);
  return NULL;
}

/* fill(dst, value, meta) */
static napi_value js_fill(napi_env env, napi_callback_info info) {
  static const char *fn = "fill", *names[] = {"dst"};
  napi_value argv[3];
  float *d;
  double v;
  size_t lens[1];
  ops_meta m;
  if (!ops_args(env, info, fn, 3, argv) ||
      !ops_f32(env, argv[0], fn, "dst", &d, &lens[0], 0, NULL) ||
      !ops_num(env, argv[1], fn, "value", &v) || !read_meta(env, fn, argv[2], 1, names, lens, &m))
    return NULL;
  attn_fill(m.nd, m.shape, d + m.off[0], m.stp[0], (float)v);
  return NULL;
}

napi_value attn_js_unary_grad(napi_env env, napi_callback_info info);
napi_value attn_js_bias_act(napi_env env, napi_callback_info info);
napi_value attn_js_softmax(napi_env env, napi_callback_info info);
napi_value attn_js_softmax_grad(napi_env env, napi_callback_info info);
napi_value attn_js_layer_norm(napi_env env, napi_callback_info info);
napi_value attn_js_layer_norm_grad(napi_env env, napi_callback_info info);
napi_value attn_js_gather(napi_env env, napi_callback_info info);
napi_value attn_js_scatter_add(napi_env env, napi_callback_info info);
napi_value attn_js_cross_entropy(napi_env env, napi_callback_info info);
napi_value attn_js_adam(napi_env env, napi_callback_info info);
napi_value attn_js_dropout(napi_env env, napi_callback_info info);
napi_value attn_js_topk(napi_env env, napi_callback_info info);

/* Adds the kernel functions to the addon's exports (called from binding.c). */
int attn_register_ops(napi_env env, napi_value exports) {
#define P(name, cb) {name, NULL, cb, NULL, NULL, NULL, napi_enumerable, NULL}
  const napi_property_descriptor props[] = {
      P("unary", js_unary),
      P("unaryGrad", attn_js_unary_grad),
      P("biasAct", attn_js_bias_act),
      P("binary", js_binary),
      P("where", js_where),
      P("reduce", js_reduce),
      P("copy", js_copy),
      P("fill", js_fill),
      P("softmax", attn_js_softmax),
      P("softmaxGrad", attn_js_softmax_grad),
      P("layerNorm", attn_js_layer_norm),
      P("layerNormGrad", attn_js_layer_norm_grad),
      P("gather", attn_js_gather),
      P("scatterAdd", attn_js_scatter_add),
      P("crossEntropy", attn_js_cross_entropy),
      P("adam", attn_js_adam),
      P("dropout", attn_js_dropout),
      P("topk", attn_js_topk),
  };
#undef P
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
