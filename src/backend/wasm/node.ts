/**
 * The wasm backend in Node: the module is read from disk next to this file
 * (src/ under tsx, or dist/ after `npm run build` + `npm run build:wasm`,
 * else the package's src/backend/wasm/), and workers are worker_threads,
 * unref()'d so they never keep the process alive.
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { WasmBackend } from "./index.js";
import {
  type RuntimeOptions,
  WORKER_BODY,
  type WasmPlatform,
  WasmRuntime,
  type WorkerHandle,
  type WorkerInit,
} from "./runtime.js";

const FILES = { threaded: "attn_kernels.wasm", single: "attn_kernels_st.wasm" };
const compiled = new Map<string, WebAssembly.Module>();

/** Where the .wasm file is: beside this module, else in the package's src/backend/wasm/. */
export function wasmModulePath(file: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, file);
  if (existsSync(beside)) return beside;
  for (let dir = here; ; ) {
    const candidate = join(dir, "src", "backend", "wasm", file);
    if (existsSync(join(dir, "package.json")) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return beside; // not found: the read error names the first place
    dir = parent;
  }
}

function loadModule(threaded: boolean): WebAssembly.Module {
  const file = threaded ? FILES.threaded : FILES.single;
  let m = compiled.get(file);
  if (!m) {
    m = new WebAssembly.Module(readFileSync(wasmModulePath(file)));
    compiled.set(file, m);
  }
  return m;
}

function startWorker(init: WorkerInit, onError: (message: string) => void): WorkerHandle {
  const source = `${WORKER_BODY}\nattnWasmWorker(require("node:worker_threads").workerData);`;
  // execArgv: [] keeps loaders such as tsx out of the worker (it runs no TS).
  const w = new Worker(source, { eval: true, workerData: init, execArgv: [] });
  w.on("error", (e) => onError(e instanceof Error ? e.message : String(e)));
  w.unref();
  return { terminate: () => void w.terminate() };
}

export const nodePlatform: WasmPlatform = {
  module: loadModule,
  sharedMemory: typeof SharedArrayBuffer === "function",
  startWorker,
  cores: availableParallelism(),
  callerCanWait: true,
};

/** Thread count from ATTN_NUM_THREADS (shared with the native backend), if set. */
export function threadsFromEnv(): number | undefined {
  const v = process.env.ATTN_NUM_THREADS;
  if (v === undefined || v === "") return undefined;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) && n >= 1 ? n : undefined;
}

/**
 * A wasm backend for this process (synchronous: workers join when they are
 * up; `await backend.whenReady()` to wait for them). Throws if the module
 * cannot be loaded.
 */
export function createWasmBackend(options: RuntimeOptions = {}): WasmBackend {
  const threads = options.threads ?? threadsFromEnv();
  return new WasmBackend(new WasmRuntime(nodePlatform, { ...options, threads }));
}
