/**
 * Choosing the compute backend in Node: ATTN_BACKEND=native|wasm|js (or the
 * `name` argument); by default the fastest one that loads.
 */
import { AttnError } from "../errors.js";
import { setBackend } from "../tensor/engine.js";
import type { Backend } from "./backend.js";
import { loadNativeAddon, nativeAddonLoadError } from "./native/addon.js";
import { NativeBackend } from "./native/index.js";
import { ReferenceBackend } from "./reference/index.js";

export type BackendName = "native" | "wasm" | "js";
export const BACKEND_NAMES: readonly BackendName[] = ["native", "wasm", "js"];

function tryNative(): Backend | null {
  const addon = loadNativeAddon();
  return addon ? new NativeBackend(addon) : null;
}

/** Makes `name` (or ATTN_BACKEND, or the fastest available) the active backend and returns it. */
export function useBackend(
  name: string | undefined = process.env.ATTN_BACKEND || undefined,
): Backend {
  let b: Backend | null;
  if (name === undefined || name === "" || name === "auto") {
    b = tryNative() ?? new ReferenceBackend();
  } else if (name === "native") {
    b = tryNative();
    if (!b) {
      throw new AttnError(
        `backend "native" is not available: ${nativeAddonLoadError() ?? "the addon did not load"} (build it with npm run build:native)`,
      );
    }
  } else if (name === "wasm") {
    throw new AttnError('backend "wasm" is not built yet in this version; use "native" or "js"');
  } else if (name === "js") {
    b = new ReferenceBackend();
  } else {
    throw new AttnError(
      `unknown backend "${name}" (ATTN_BACKEND must be one of ${BACKEND_NAMES.join(", ")})`,
    );
  }
  setBackend(b);
  return b;
}
