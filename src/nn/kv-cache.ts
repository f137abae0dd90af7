/**
 * The key/value cache of incremental decoding. Each step appends the new
 * positions' K and V ([B, H, t, d_k]) into buffers allocated once for
 * `capacity` positions, and attention reads `k`/`v`: views of the filled part
 * (no copy of earlier positions per step). For cross-attention the memory's
 * K and V are stored once in `k`/`v` directly.
 *
 * Beam search and batch compaction reorder the rows in place (`reorder`):
 * only rows whose source changed are copied, so no step allocates a buffer.
 */
import { AttnError } from "../errors.js";
import { keep, noGrad } from "../tensor/engine.js";
import { assign, reorderRows } from "../tensor/ops/inplace.js";
import { fmt } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { slice } from "../tensor/ops/view.js";

export class KVCache {
  /** Keys of every cached position, [B, H, length, d_k] (a view of the buffer). */
  k: Tensor | null = null;
  /** Values, as `k`. */
  v: Tensor | null = null;
  private kBuf: Tensor | null = null;
  private vBuf: Tensor | null = null;
  /** One row, for reorders whose parents form a cycle (allocated at the first such reorder). */
  private scratch: Tensor | null = null;

  /** `capacity`: positions to allocate for at once (e.g. the model's maximum length); grows if exceeded. */
  constructor(readonly capacity = 0) {}

  /** Cached positions. */
  get length(): number {
    return this.k ? this.k.shape[2] : 0;
  }

  /** Appends K and V of new positions ([B, H, t, d_k]). */
  append(k: Tensor, v: Tensor): void {
    noGrad(() => {
      const len = this.length;
      const t = k.shape[2];
      if (this.k && !sameLead(this.k, k)) {
        throw new AttnError(
          `KVCache.append: new keys ${fmt(k.shape)} do not match the cached ${fmt(this.k.shape)}`,
        );
      }
      if (!this.kBuf || this.kBuf.shape[2] < len + t) {
        const cap = Math.max(this.capacity, len + t, 2 * (this.kBuf?.shape[2] ?? 0));
        this.kBuf = grow(this.kBuf, this.k, k, cap);
        this.vBuf = grow(this.vBuf, this.v, v, cap);
      }
      const rows = k.shape[0];
      write(this.kBuf, k, len);
      write(this.vBuf!, v, len);
      this.k?.dispose();
      this.v?.dispose();
      this.k = keep(filled(this.kBuf, rows, 0, len + t));
      this.v = keep(filled(this.vBuf!, rows, 0, len + t));
    });
  }

  /**
   * Reorders the batch rows in place: row i becomes old row parents[i]
   * (beam search), and rows from parents.length on are dropped (finished
   * sentences leave the batch).
   */
  reorder(parents: ArrayLike<number>): void {
    noGrad(() => {
      for (const key of ["k", "v"] as const) {
        const t = this[key];
        if (!t) continue;
        reorderRows(t, parents, () => this.scratchFor(t));
        this[key] = keep(slice(t, 0, 0, parents.length));
        t.dispose();
      }
    });
  }

  private scratchFor(t: Tensor): Tensor {
    const rowSize = t.size / t.shape[0];
    if (!this.scratch || this.scratch.size < rowSize || this.scratch.dtype !== t.dtype) {
      this.scratch?.dispose();
      this.scratch = keep(Tensor.uninit([rowSize], t.dtype));
    }
    return this.scratch;
  }

  /** Frees everything; the cache is empty (and reusable) afterwards. */
  dispose(): void {
    for (const t of [this.k, this.v, this.kBuf, this.vBuf, this.scratch]) t?.dispose();
    this.k = this.v = this.kBuf = this.vBuf = this.scratch = null;
  }
}

/** A buffer for `cap` positions shaped like `like`, holding the `cached` positions. */
function grow(old: Tensor | null, cached: Tensor | null, like: Tensor, cap: number): Tensor {
  const [B, H, , D] = like.shape;
  const buf = keep(Tensor.uninit([B, H, cap, D], like.dtype));
  if (cached) write(buf, cached, 0);
  old?.dispose();
  return buf;
}

function sameLead(buf: Tensor, x: Tensor): boolean {
  return buf.shape[0] === x.shape[0] && buf.shape[1] === x.shape[1] && buf.shape[3] === x.shape[3];
}

/** The view buf[:rows, :, from:to, :]. */
function filled(buf: Tensor, rows: number, from: number, to: number): Tensor {
  const r = slice(buf, 0, 0, rows);
  const out = slice(r, 2, from, to);
  r.dispose();
  return out;
}

/** buf[:rows, :, at : at + t, :] = x. */
function write(buf: Tensor, x: Tensor, at: number): void {
  const dst = filled(buf, x.shape[0], at, at + x.shape[2]);
  assign(dst, x);
  dst.dispose();
}
