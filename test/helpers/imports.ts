/** Shared by the import tests: the source files of a tree and the relative modules each imports. */
import fs from "node:fs";
import path from "node:path";

export function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(p) && !p.endsWith(".d.ts") ? [p] : [];
  });
}

/**
 * Relative modules a file imports or re-exports, resolved to .ts/.tsx paths;
 * with `runtimeOnly`, not `import type` nor braces of types only (they are erased).
 */
export function relativeImports(file: string, text: string, runtimeOnly = true): string[] {
  const out: string[] = [];
  const re = /^(?:import|export)\s+(type\s+)?([^;]*?)\s+from\s+"(\.[^"]+)"/gms;
  for (const m of text.matchAll(re)) {
    if (runtimeOnly && m[1]) continue;
    const names = m[2].trim();
    if (runtimeOnly && names.startsWith("{")) {
      const list = names
        .replace(/[{}]/g, "")
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean);
      if (list.length > 0 && list.every((x) => x.startsWith("type "))) continue;
    }
    const base = path.resolve(path.dirname(file), m[3].replace(/\.js$/, ""));
    out.push(fs.existsSync(`${base}.tsx`) ? `${base}.tsx` : `${base}.ts`);
  }
  return out;
}
