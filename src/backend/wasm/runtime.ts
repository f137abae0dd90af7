/**
 * The wasm module on one memory, and its worker threads. Platform-neutral:
 * how a module is obtained and how a worker is started come from a
 * `WasmPlatform` (./node.ts, ./browser.ts), so this file imports nothing from
 * Node and runs in a browser's Web Worker as well.
 */
import { WasmHeap } from "./heap.js";

/** The functions attn_kernels.wasm exports (see csrc/). Pointers are byte addresses. */
export interface KernelExports {
  __stack_pointer: WebAssembly.Global;
  __heap_base: WebAssembly.Global;
  attn_zero(p: number, bytes: number): void;
  attn_set_scratch(slot: number, p: number, bytes: number): void;
  attn_gemm_scratch_bytes(): number;
  attn_pool_config(threads: number, spinWorker: number, spinCaller: number, canWait: number): void;
  attn_pool_ready(): number;
  attn_spin_probe(n: number): number;
  attn_gemm(
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: number,
    aoff: number,
    ars: number,
    acs: number,
    la: number,
    B: number,
    boff: number,
    brs: number,
    bcs: number,
    lb: number,
    accumulate: number,
    C: number,
    coff: number,
    ldc: number,
    lc: number,
    batch: number,
  ): number;
  /** Kernels of src/backend/kernels, when built in (see kernels.ts). */
  [name: string]: unknown;
}

/** What a worker needs to join the pool. */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  stackTop: number;
}

export interface WorkerHandle {
  terminate(): void;
}

export interface WasmPlatform {
  /** The compiled module: the threaded build (shared memory) or the single-threaded one. */
  module(threaded: boolean): WebAssembly.Module;
  /** Whether shared memory (and so threads) can be used here. */
  sharedMemory: boolean;
  /** Starts a worker running WORKER_SOURCE with `init`; absent where there are no workers. */
  startWorker?: (init: WorkerInit, onError: (message: string) => void) => WorkerHandle;
  /** Logical CPUs. */
  cores: number;
  /** Whether this thread may block in Atomics.wait (not a browser's main thread). */
  callerCanWait: boolean;
}

/**
 * The worker's whole program: instantiate the module on the shared memory,
 * move the stack pointer to this worker's own stack, and enter the pool's
 * loop (which never returns; the worker is terminated with its process or by
 * `close()`). The data segments were initialised by the first instance:
 * wasm-ld's start function __wasm_init_memory does that only once per memory.
 */
export const WORKER_BODY = `function attnWasmWorker(d) {
  const inst = new WebAssembly.Instance(d.module, { env: { memory: d.memory } });
  inst.exports.__stack_pointer.value = d.stackTop;
  inst.exports.attn_worker_main();
}`;

const PAGE = 65536;
/** Largest memory: all of wasm32's 4 GiB. */
const MAX_PAGES = 65536;
const WORKER_STACK = 128 * 1024;
/** How long idle threads spin before sleeping (µs); see csrc/pool.c. */
const SPIN_WORKER_US = 200;
const SPIN_CALLER_US = 50;

export interface RuntimeOptions {
  /** Threads including the caller (default min(2, cores)); 1 = no workers. */
  threads?: number;
  /** Use the single-threaded build even where shared memory works. */
  singleThreaded?: boolean;
  /** Size of a non-shared memory, fixed up front (bytes; default 1 GiB, halved until it fits). */
  plainMemoryBytes?: number;
}

export class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  readonly exports: KernelExports;
  readonly heap: WasmHeap;
  readonly threaded: boolean;
  private readonly module: WebAssembly.Module;
  private readonly workers: WorkerHandle[] = [];
  private configured = 1;
  private closed = false;
  private readonly scratch: number[] = [];
  private readonly spinPerUs: number;
  /** Messages of workers that failed to start. */
  readonly workerErrors: string[] = [];

  constructor(
    private readonly platform: WasmPlatform,
    options: RuntimeOptions = {},
  ) {
    this.threaded = platform.sharedMemory && !options.singleThreaded;
    const module = platform.module(this.threaded);
    this.module = module;
    if (this.threaded) {
      this.memory = new WebAssembly.Memory({
        initial: 256, // 16 MiB to start; grows on demand
        maximum: MAX_PAGES,
        shared: true,
      });
    } else {
      this.memory = plainMemory(options.plainMemoryBytes);
    }
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as KernelExports;
    const ex = this.exports;
    this.heap = new WasmHeap(
      this.memory,
      ex.__heap_base.value as number,
      this.threaded,
      (addr, bytes) => ex.attn_zero(addr, bytes),
      (this.threaded ? MAX_PAGES : this.memory.buffer.byteLength / PAGE) * PAGE,
    );
    this.spinPerUs = this.threaded ? calibrateSpin(ex) : 0;
    this.setThreads(options.threads ?? Math.min(2, platform.cores));
  }

  /** Threads asked for, caller included. */
  get numThreads(): number {
    return this.configured;
  }

  /** Threads that take part in the next call (workers start asynchronously). */
  get readyThreads(): number {
    return Math.min(this.configured, 1 + (this.threaded ? this.exports.attn_pool_ready() : 0));
  }

  /**
   * Sets the thread count (caller included). Workers are started as needed;
   * until they are up, calls run on fewer threads. Extra workers stay idle.
   */
  setThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(`threads must be an integer >= 1, got ${n}`);
    const start = this.threaded && this.platform.startWorker !== undefined && !this.closed;
    this.configured = Math.min(n, start ? 16 : 1);
    for (let slot = this.scratch.length; slot < this.configured; slot++) {
      const bytes = this.exports.attn_gemm_scratch_bytes();
      const p = this.heap.alloc(bytes, false);
      if (p < 0) throw new Error("wasm backend: out of memory for GEMM scratch");
      this.exports.attn_set_scratch(slot, p, bytes);
      this.scratch.push(p);
    }
    while (start && this.workers.length < this.configured - 1) this.spawn();
    this.exports.attn_pool_config(
      this.configured,
      Math.round(SPIN_WORKER_US * this.spinPerUs),
      Math.round(SPIN_CALLER_US * this.spinPerUs),
      this.platform.callerCanWait ? 1 : 0,
    );
  }

  /**
   * Stops the worker threads; calls run on the calling thread from then on
   * (for good: a worker stopped mid-handshake could leave the pool's counters
   * behind, so threads are not started again). Call between kernel calls.
   */
  close(): void {
    this.closed = true;
    this.configured = 1;
    this.exports.attn_pool_config(1, 0, 0, this.platform.callerCanWait ? 1 : 0);
    for (const w of this.workers.splice(0)) w.terminate();
  }

  /** Resolves when the workers asked for are running (or `timeoutMs` passed). */
  async whenReady(timeoutMs = 10000): Promise<boolean> {
    const t0 = Date.now();
    while (this.readyThreads < this.configured) {
      if (this.workerErrors.length > 0 || Date.now() - t0 > timeoutMs) return false;
      await new Promise((r) => setTimeout(r, 2));
    }
    return true;
  }

  private spawn(): void {
    const start = this.platform.startWorker;
    if (!start) return;
    const stack = this.heap.alloc(WORKER_STACK, false);
    if (stack < 0) throw new Error("wasm backend: out of memory for a worker stack");
    this.workers.push(
      start({ module: this.module, memory: this.memory, stackTop: stack + WORKER_STACK }, (m) =>
        this.workerErrors.push(m),
      ),
    );
  }
}

/** A non-shared memory of fixed size: as large as allowed, from `bytes` down to 64 MiB. */
function plainMemory(bytes = 2 ** 30): WebAssembly.Memory {
  for (let pages = Math.ceil(bytes / PAGE); ; pages = Math.floor(pages / 2)) {
    try {
      return new WebAssembly.Memory({ initial: Math.max(pages, 16), maximum: MAX_PAGES });
    } catch (e) {
      if (pages <= 1024) throw e;
    }
  }
}

/** Spin-loop iterations per microsecond on this machine (about 1 ms of probing). */
function calibrateSpin(ex: KernelExports): number {
  const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());
  let n = 1 << 14;
  let best = 0;
  for (let round = 0; round < 6; round++) {
    const t0 = now();
    ex.attn_spin_probe(n);
    const us = (now() - t0) * 1000;
    if (us > 50) best = Math.max(best, n / us);
    if (us < 200) n *= 2;
  }
  return best > 0 ? best : 1000;
}
