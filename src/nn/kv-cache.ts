/**
 * The key/value cache of incremental decoding. Each step appends the new
 * positions' K and V ([B, H, t, d_k]) into buffers allocated once for
 * `capacity` positions, and attention reads `k`/`v`: views of the filled part
 * (no copy of earlier positions per step). For cross-attention the memory's
 * K and V are stored once in `k`/`v` directly.
 */
import { AttnError } from "../errors.js";
import { getBackend, keep, noGrad } from "../tensor/engine.js";
import { fmt } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { select, slice } from "../tensor/ops/view.js";
import { stack } from "../tensor/ops/concat.js";

export class KVCache {
  /** Keys of every cached position, [B, H, length, d_k] (a view of the buffer). */
  k: Tensor | null = null;
  /** Values, as `k`. */
  v: Tensor | null = null;
  private kBuf: Tensor | null = null;
  private vBuf: Tensor | null = null;

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
      write(this.kBuf, k, len);
      write(this.vBuf!, v, len);
      this.k?.dispose();
      this.v?.dispose();
      this.k = keep(slice(this.kBuf, 2, 0, len + t));
      this.v = keep(slice(this.vBuf!, 2, 0, len + t));
    });
  }

  /** Reorders the batch rows (beam search: row i becomes old row parents[i]). */
  reorder(parents: number[]): void {
    noGrad(() => {
      for (const key of ["k", "v"] as const) {
        const t = this[key];
        if (!t) continue;
        const oldBuf = key === "k" ? this.kBuf : this.vBuf;
        if (!oldBuf) {
          // Stored directly (cross-attention memory): a compact copy.
          this[key] = keep(
            stack(
              parents.map((p) => select(t, 0, p)),
              0,
            ),
          );
        } else {
          const [, H, cap, D] = oldBuf.shape;
          const buf = keep(Tensor.uninit([parents.length, H, cap, D], t.dtype));
          const view = slice(buf, 2, 0, t.shape[2]);
          parents.forEach((p, i) => {
            const src = select(t, 0, p);
            const dst = select(view, 0, i);
            getBackend().copy(src.view(), dst.view());
            src.dispose();
            dst.dispose();
          });
          this[key] = keep(view);
          oldBuf.dispose();
          if (key === "k") this.kBuf = buf;
          else this.vBuf = buf;
        }
        t.dispose();
      }
    });
  }

  /** Frees everything; the cache is empty (and reusable) afterwards. */
  dispose(): void {
    for (const t of [this.k, this.v, this.kBuf, this.vBuf]) t?.dispose();
    this.k = this.v = this.kBuf = this.vBuf = null;
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

/** buf[:, :, at : at + t, :] = x. */
function write(buf: Tensor, x: Tensor, at: number): void {
  const dst = slice(buf, 2, at, at + x.shape[2]);
  getBackend().copy(x.view(), dst.view());
  dst.dispose();
}
