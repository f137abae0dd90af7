/**
 * Vite config of the explorer: `npm run dev:web` serves it with hot reload,
 * `npm run build:web` writes the static app to dist-web/ (what `attn explore`
 * serves). The engine is imported straight from ../src.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const webRoot = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** Cross-origin isolation (SharedArrayBuffer for later wasm threads); attn explore sends the same. */
const isolation = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

export default defineConfig({
  root: webRoot,
  base: "./",
  publicDir: "public",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: `${repoRoot}dist-web`,
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 600,
    rolldownOptions: {
      // src/experiments has no side effects: then what only the lazy Experiments view uses
      // (plots, table formats) stays in its chunk instead of the first load's.
      treeshake: {
        moduleSideEffects: (id: string) => !/[\\/]src[\\/]experiments[\\/]/.test(id),
      },
    },
  },
  worker: { format: "es" },
  server: { headers: isolation, fs: { allow: [repoRoot] } },
  preview: { headers: isolation },
});
