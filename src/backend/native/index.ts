/**
 * The native backend: the reference kernels, with the hot ones replaced by C
 * through Node-API (see ./README.md). Tensors stay plain Float32Arrays on the
 * JS heap; the addon reads and writes them in place.
 */
import type { FloatArray, MatmulOperand } from "../backend.js";
import { ReferenceBackend } from "../reference/index.js";
import { matmul as referenceMatmul } from "../reference/matmul.js";
import type { NativeAddon } from "./addon.js";

export class NativeBackend extends ReferenceBackend {
  override readonly name: string = "native";

  constructor(readonly addon: NativeAddon) {
    super();
    this.matmul = (M, N, K, a, b, c, alpha, accumulate) =>
      this.gemm(M, N, K, a, b, c, alpha, accumulate);
  }

  setNumThreads(n: number): void {
    this.addon.setNumThreads(n);
  }

  private gemm(
    M: number,
    N: number,
    K: number,
    a: MatmulOperand,
    b: MatmulOperand,
    c: { data: FloatArray; offsets: Int32Array; ldc: number },
    alpha: number,
    accumulate: boolean,
  ): void {
    // float64 (gradient checks) stays on the reference loops.
    if (
      !(
        a.data instanceof Float32Array &&
        b.data instanceof Float32Array &&
        c.data instanceof Float32Array
      )
    ) {
      referenceMatmul(M, N, K, a, b, c, alpha, accumulate);
      return;
    }
    this.addon.gemmBatched(
      M,
      N,
      K,
      alpha,
      a.data,
      a.offsets,
      a.rowStride,
      a.colStride,
      b.data,
      b.offsets,
      b.rowStride,
      b.colStride,
      accumulate ? 1 : 0,
      c.data,
      c.offsets,
      c.ldc,
    );
  }
}
