/**
 * The allocator of the wasm backend: hands out 64-byte aligned blocks of the
 * linear memory, kept in free lists by size class for reuse.
 *
 * Size classes: multiples of 64 bytes up to 1 KiB, then 8 classes per power
 * of two (at most 12.5% slack). A block's class follows from the byte length
 * of the typed array handed out, so blocks carry no header. Blocks are never
 * split or merged: a training step allocates the same sizes every time.
 *
 * Growth: shared memory grows in place (views made earlier keep working, each
 * over the SharedArrayBuffer of its time); a plain (non-shared) memory would
 * detach every view on growth, so it is given its full size up front and
 * never grows: when it is full, alloc() returns -1 and the backend falls back
 * to JS-heap arrays.
 */

export const ALIGN = 64;
const PAGE = 65536;

/** The size class (bytes actually reserved) of a request of `bytes`. */
export function sizeClass(bytes: number): number {
  if (bytes <= 1024) return Math.max(ALIGN, (bytes + ALIGN - 1) & ~(ALIGN - 1));
  const step = 2 ** (31 - Math.clz32(bytes)) / 8; // power of two <= bytes, / 8
  return Math.ceil(bytes / step) * step;
}

export class WasmHeap {
  /** Every buffer this memory has had; views over any of them are ours. */
  private readonly buffers: ArrayBufferLike[] = [];
  private current: ArrayBufferLike;
  private top: number;
  private readonly free = new Map<number, number[]>();
  /** Bytes in use (size classes) and in free lists; for tests and stats. */
  usedBytes = 0;
  freeBytes = 0;

  constructor(
    readonly memory: WebAssembly.Memory,
    /** First address the heap may use (above the module's data and stack). */
    base: number,
    /** Whether memory.grow keeps existing views valid (shared memory). */
    readonly canGrow: boolean,
    /** Called with (address, bytes) to zero a reused block. */
    private readonly zero: (addr: number, bytes: number) => void,
    /** Upper bound of the memory in bytes (its maximum). */
    readonly maxBytes: number,
  ) {
    this.current = memory.buffer;
    this.buffers.push(this.current);
    this.top = Math.ceil(base / ALIGN) * ALIGN;
  }

  /** The memory's current buffer (grows replace it for shared memory). */
  get buffer(): ArrayBufferLike {
    return this.current;
  }

  /** Size of the memory in bytes. */
  get byteLength(): number {
    return this.current.byteLength;
  }

  /** True if `buf` is (one of the buffers of) this memory. */
  owns(buf: ArrayBufferLike): boolean {
    if (buf === this.current) return true;
    const bs = this.buffers;
    for (let i = bs.length - 2; i >= 0; i--) if (bs[i] === buf) return true;
    return false;
  }

  /**
   * Address of a block of at least `bytes` bytes, zero-filled when `zero`;
   * -1 if the memory cannot hold it.
   */
  alloc(bytes: number, zero: boolean): number {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    if (list !== undefined && list.length > 0) {
      const addr = list.pop() as number;
      this.freeBytes -= size;
      this.usedBytes += size;
      if (zero) this.zero(addr, size);
      return addr;
    }
    // Fresh memory past the top has never been handed out, so it is zero.
    if (this.top + size > this.current.byteLength && !this.grow(this.top + size)) return -1;
    const addr = this.top;
    this.top += size;
    this.usedBytes += size;
    return addr;
  }

  /** Returns the block at `addr` of a request of `bytes` bytes. */
  release(addr: number, bytes: number): void {
    const size = sizeClass(bytes);
    let list = this.free.get(size);
    if (list === undefined) this.free.set(size, (list = []));
    list.push(addr);
    this.usedBytes -= size;
    this.freeBytes += size;
  }

  /** High-water mark of the heap (bytes of memory handed out at least once). */
  get highWater(): number {
    return this.top;
  }

  private grow(needed: number): boolean {
    if (!this.canGrow || needed > this.maxBytes) return false;
    const have = this.current.byteLength;
    // Grow by at least a quarter (few grows, few buffers to compare in owns()).
    const want = Math.min(this.maxBytes, Math.max(needed, have + Math.max(have / 4, 16 * 2 ** 20)));
    try {
      this.memory.grow(Math.ceil((want - have) / PAGE));
    } catch {
      try {
        this.memory.grow(Math.ceil((needed - have) / PAGE));
      } catch {
        return false;
      }
    }
    this.current = this.memory.buffer;
    this.buffers.push(this.current);
    return true;
  }
}
