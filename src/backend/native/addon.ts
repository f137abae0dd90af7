/**
 * Loader for the optional `attn_native` Node-API addon (fast fp32 GEMM in C,
 * see ./README.md). Build it with `npx node-gyp rebuild` (or `npm run
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
}

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
    typeof o === "object" &&
    o !== null &&
    typeof o.gemmBatched === "function" &&
    typeof o.setNumThreads === "function" &&
    typeof o.getNumThreads === "function" &&
    typeof o.cpuFeatures === "function" &&
    typeof o.selectKernel === "function"
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
      else loadError = `${path} does not export the attn_native interface`;
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
