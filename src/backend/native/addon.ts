/**
 * Loader for the optional `attn_native` Node-API addon (fast fp32 GEMM and
 * the other kernels in C, see ./README.md). Build it with `npx node-gyp rebuild` (or `npm run
 * build:native`) from the package root; everything works without it, just slower.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface NativeAddon {
  /**
   * C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] for b in 0..batch-1 (batch =
   * aOffsets.length = bOffsets.length = cOffsets.length), with A element (i,k) at
   * A[aOffsets[b] + i*aRowStride + k*aColStride], B element (k,j) at
   * B[bOffsets[b] + k*bRowStride + j*bColStride], C element (i,j) at
   * C[cOffsets[b] + i*ldc + j]. Arrays are used in place (no copies). beta = 0
   * never reads C. Batch entries whose C regions overlap are run in order;
   * C must not overlap A or B. Throws an Error on invalid arguments or any
   * out-of-range index.
   */
  gemmBatched(
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    aOffsets: Int32Array,
    aRowStride: number,
    aColStride: number,
    B: Float32Array,
    bOffsets: Int32Array,
    bRowStride: number,
    bColStride: number,
    beta: number,
    C: Float32Array,
    cOffsets: Int32Array,
    ldc: number,
  ): void;
  /** Size of the worker pool including the calling thread (1..256). */
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** The kernel in use: "avx512" | "avx2" | "portable". */
  cpuFeatures(): string;
  /**
   * Testing/benchmark hook: force a kernel ("auto" | "avx512" | "avx2" |
   * "portable"). Returns the active kernel's name; throws if unsupported here.
   */
  selectKernel(name: string): string;

  // ---- Non-GEMM kernels (src/backend/kernels, C; see ./README.md) ----
  // float32 only. Op codes are the positions in UNARY_OPS / BINARY_OPS below.
  // A strided view's geometry is packed into one Int32Array `meta`:
  //   [nd, shape[0..nd), then for each operand: strides[0..nd), offset]
  // (operands in argument order). Every argument is checked in C (types,
  // lengths, each operand's lowest and highest touched element, ids and
  // targets in range): a bad call throws an Error and touches nothing.

  /** out = op(x) over meta's shape (operands x, out). */
  unary(op: number, x: Float32Array, out: Float32Array, meta: Int32Array): void;
  /** dx = dy * op'(x), y = op(x); contiguous, `size` elements. */
  unaryGrad(
    op: number,
    x: Float32Array,
    y: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    size: number,
  ): void;
  /**
   * Fused bias + activation: out[r, c] = act(x[r, c] + bias[c]) for a
   * contiguous [rows, cols] x; `op` is a unary op code, or UNARY_OPS.length
   * for the bias add alone. Not used by the ops layer yet.
   */
  biasAct(
    op: number,
    x: Float32Array,
    bias: Float32Array,
    out: Float32Array,
    rows: number,
    cols: number,
  ): void;
  /**
   * out = a op b over meta's shape (operands a, b, out; broadcast = stride 0).
   * All Float32Array, or all Int32Array (every op but pow; results as the
   * reference's: computed in double, stored with ToInt32).
   */
  binary(
    op: number,
    a: Float32Array | Int32Array,
    b: Float32Array | Int32Array,
    out: Float32Array | Int32Array,
    meta: Int32Array,
  ): void;
  /** out = cond != 0 ? a : b (operands cond, a, b, out). */
  where(
    cond: Float32Array | Int32Array,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    meta: Int32Array,
  ): void;
  /** op 0 = sum, 1 = max: folds x into out (stride 0 on reduced axes; operands x, out). */
  reduce(op: number, x: Float32Array, out: Float32Array, meta: Int32Array): void;
  /** Bitwise strided copy (operands src, dst); both Float32Array or both Int32Array. */
  copy(src: Float32Array | Int32Array, dst: Float32Array | Int32Array, meta: Int32Array): void;
  fill(dst: Float32Array, value: number, meta: Int32Array): void;
  /** log: 0 = softmax, 1 = log-softmax. */
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number, log: number): void;
  softmaxGrad(
    y: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    rows: number,
    cols: number,
    log: number,
  ): void;
  layerNorm(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    out: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  layerNormGrad(
    dy: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    rows: number,
    cols: number,
  ): void;
  gather(
    table: Float32Array,
    ids: Int32Array,
    idsOffset: number,
    out: Float32Array,
    rows: number,
    cols: number,
  ): void;
  scatterAdd(
    dy: Float32Array,
    ids: Int32Array,
    idsOffset: number,
    dtable: Float32Array,
    rows: number,
    cols: number,
  ): void;
  crossEntropy(
    logits: Float32Array,
    logitsOffset: number,
    targets: Int32Array,
    targetsOffset: number,
    rows: number,
    cols: number,
    ignoreIndex: number,
    smoothing: number,
    rowLoss: Float32Array,
    dlogits: Float32Array | null,
  ): void;
  adam(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    size: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
  ): void;
  /** Inverted dropout with the mask drawn inside (DropoutArgs); state is an int32. */
  dropout(
    x: Float32Array,
    xOffset: number,
    out: Float32Array,
    size: number,
    state: number,
    p: number,
    scale: number,
  ): void;
  /** The k largest of each row and their columns (TopKArgs). */
  topk(
    x: Float32Array,
    rows: number,
    cols: number,
    k: number,
    values: Float32Array,
    indices: Int32Array,
  ): void;
}

/** Op codes of the addon: the index in these lists. */
export { BINARY_OPS, UNARY_OPS } from "../backend.js";
/** Largest rank of a strided view the addon takes (ATTN_MAX_DIMS). */
export const NATIVE_MAX_DIMS = 16;

/** Every function the addon must export. */
const ADDON_FUNCTIONS = [
  "gemmBatched",
  "setNumThreads",
  "getNumThreads",
  "cpuFeatures",
  "selectKernel",
  "unary",
  "unaryGrad",
  "biasAct",
  "binary",
  "where",
  "reduce",
  "copy",
  "fill",
  "softmax",
  "softmaxGrad",
  "layerNorm",
  "layerNormGrad",
  "gather",
  "scatterAdd",
  "crossEntropy",
  "adam",
  "dropout",
] as const;

const ADDON_FILE = join("build", "Release", "attn_native.node");

let cached: NativeAddon | null | undefined;
let loadError: string | undefined;

/** The directory holding package.json, walking up from this module. */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** Where the addon is looked for (env ATTN_NATIVE_PATH overrides). */
export function nativeAddonPath(): string | null {
  const override = process.env.ATTN_NATIVE_PATH;
  if (override) return resolve(override);
  const root = packageRoot();
  return root === null ? null : join(root, ADDON_FILE);
}

function isAddon(x: unknown): x is NativeAddon {
  const o = x as Record<string, unknown> | null;
  return (
    typeof o === "object" && o !== null && ADDON_FUNCTIONS.every((f) => typeof o[f] === "function")
  );
}

/**
 * Loads build/Release/attn_native.node (or $ATTN_NATIVE_PATH). Returns null,
 * never throws, if it is missing or fails to load; see nativeAddonLoadError().
 * The result is cached.
 */
export function loadNativeAddon(): NativeAddon | null {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    const path = nativeAddonPath();
    if (path === null) {
      loadError = "could not find the package root (package.json)";
    } else if (!existsSync(path)) {
      loadError = `${path} does not exist (build it with \`npx node-gyp rebuild\`)`;
    } else {
      const mod: unknown = createRequire(import.meta.url)(path);
      if (isAddon(mod)) cached = mod;
      else
        loadError = `${path} does not export the attn_native interface (stale build? run \`npm run build:native\`)`;
    }
  } catch (err) {
    loadError = err instanceof Error ? err.message : String(err);
  }
  return cached;
}

/** Why loadNativeAddon() returned null (undefined if it loaded or was not tried). */
export function nativeAddonLoadError(): string | undefined {
  return loadError;
}
