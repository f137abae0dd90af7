/** Running the `attn` command from the sources in tests, and what a user error must look like. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const MAIN = path.join(ROOT, "src/cli/main.ts");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  signal: NodeJS.Signals | null;
}

export function attn(args: string[], input?: string, timeoutMs = 120_000): CliResult {
  const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    input,
    timeout: timeoutMs,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

/** A user error: it finished (no hang, no crash), exit 1, one `attn:` line (warnings aside), no stack. */
export function assertUserError(r: CliResult, re: RegExp): void {
  assert.equal(r.signal, null, "finished (no hang, no crash)");
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr
    .trim()
    .split("\n")
    .filter((l) => !l.startsWith("attn: warning"));
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^attn: /);
  assert.match(lines[0], re);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
}
