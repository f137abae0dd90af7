/**
 * The wasm backend in a browser (made for a Web Worker, such as the
 * explorer's model worker). Threads need cross-origin isolation (COOP/COEP
 * headers, so that SharedArrayBuffer exists); without it the single-threaded
 * build runs on a plain memory of fixed size. Nothing here imports Node.
 *
 *   const backend = await createBrowserWasmBackend();
 *   setBackend(backend);
 *
 * The .wasm files are referenced with `new URL(..., import.meta.url)`, which
 * Vite (and other bundlers) turn into emitted assets.
 */
import { WasmBackend } from "./index.js";
import {
  type RuntimeOptions,
  WORKER_BODY,
  type WasmPlatform,
  WasmRuntime,
  type WorkerHandle,
  type WorkerInit,
} from "./runtime.js";

interface BrowserGlobals {
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number };
  WorkerGlobalScope?: unknown;
}

async function compile(url: URL): Promise<WebAssembly.Module> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`wasm backend: ${url} gave HTTP ${response.status}`);
  // compileStreaming needs the application/wasm content type; not every server sends it.
  return WebAssembly.compile(await response.arrayBuffer());
}

let workerUrl: string | undefined;

function startWorker(init: WorkerInit, onError: (message: string) => void): WorkerHandle {
  // One blob URL for all workers, kept for the page's lifetime (a few hundred bytes).
  workerUrl ??= URL.createObjectURL(
    new Blob([`${WORKER_BODY}\nonmessage = (e) => attnWasmWorker(e.data);`], {
      type: "text/javascript",
    }),
  );
  const w = new Worker(workerUrl);
  w.onerror = (e) => onError(e.message || "worker failed");
  w.postMessage(init);
  return { terminate: () => w.terminate() };
}

/**
 * A wasm backend for this page or worker. Resolves once the module is
 * compiled; worker threads join as they start (`await backend.whenReady()`).
 */
export async function createBrowserWasmBackend(options: RuntimeOptions = {}): Promise<WasmBackend> {
  const g = globalThis as unknown as BrowserGlobals;
  const shared = typeof SharedArrayBuffer === "function" && g.crossOriginIsolated === true;
  const threaded = shared && !options.singleThreaded;
  const module = await compile(
    threaded
      ? new URL("./attn_kernels.wasm", import.meta.url)
      : new URL("./attn_kernels_st.wasm", import.meta.url),
  );
  const platform: WasmPlatform = {
    module: () => module,
    sharedMemory: threaded,
    startWorker,
    cores: g.navigator?.hardwareConcurrency ?? 1,
    // Atomics.wait is allowed in workers, not on a page's main thread.
    callerCanWait: g.WorkerGlobalScope !== undefined,
  };
  return new WasmBackend(new WasmRuntime(platform, options));
}
