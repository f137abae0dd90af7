/**
 * Choosing the compute backend in Node: ATTN_BACKEND=native|wasm|js (or the
 * `name` argument); by default the fastest one that loads. `primitive` is the
 * reference backend's primitive kernels with every fused kernel composed from
 * them (src/backend/composed.ts): the suite runs on it to prove the defaults
 * a new backend starts from.
 */
import { AttnError } from "../errors.js";
import { setBackend } from "../tensor/engine.js";
import type { Backend } from "./backend.js";
import { primitiveOnly } from "./composed.js";
import { loadNativeAddon, nativeAddonLoadError } from "./native/addon.js";
import { NativeBackend } from "./native/index.js";
import { ReferenceBackend } from "./reference/index.js";
import { createWasmBackend } from "./wasm/node.js";

export type BackendName = "native" | "wasm" | "js" | "primitive";
export const BACKEND_NAMES: readonly BackendName[] = ["native", "wasm", "js", "primitive"];

let nativeBackend: Backend | null | undefined;

/** The native backend, created once per process (its buffer pool is shared by every caller). */
function tryNative(): Backend | null {
  if (nativeBackend === undefined) {
    const addon = loadNativeAddon();
    nativeBackend = addon ? new NativeBackend(addon) : null;
  }
  return nativeBackend;
}

let wasmBackend: Backend | null | undefined;
let wasmError: string | undefined;

/** The wasm backend, created once per process (it owns a memory and worker threads). */
function tryWasm(): Backend | null {
  if (wasmBackend === undefined) {
    try {
      wasmBackend = createWasmBackend();
    } catch (err) {
      wasmBackend = null;
      wasmError = err instanceof Error ? err.message : String(err);
    }
  }
  return wasmBackend;
}

/** Makes `name` (or ATTN_BACKEND, or the fastest available) the active backend and returns it. */
export function useBackend(
  name: string | undefined = process.env.ATTN_BACKEND || undefined,
): Backend {
  let b: Backend | null;
  if (name === undefined || name === "" || name === "auto") {
    b = tryNative() ?? tryWasm() ?? new ReferenceBackend();
  } else if (name === "native") {
    b = tryNative();
    if (!b) {
      throw new AttnError(
        `backend "native" is not available: ${nativeAddonLoadError() ?? "the addon did not load"} (build it with npm run build:native)`,
      );
    }
  } else if (name === "wasm") {
    b = tryWasm();
    if (!b) {
      throw new AttnError(
        `backend "wasm" is not available: ${wasmError} (rebuild it with npm run build:wasm)`,
      );
    }
  } else if (name === "js") {
    b = new ReferenceBackend();
  } else if (name === "primitive") {
    b = primitiveOnly(new ReferenceBackend());
  } else {
    throw new AttnError(
      `unknown backend "${name}" (ATTN_BACKEND must be one of ${BACKEND_NAMES.join(", ")})`,
    );
  }
  setBackend(b);
  return b;
}
