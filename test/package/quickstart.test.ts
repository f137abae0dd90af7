/**
 * The README's commands, in order, on a clean copy of the repository (the files git
 * tracks or would track, no node_modules, no dist, no runs): the Quick start's
 * `npm ci && npx attn train ...`, then every command of "What next", each as the
 * README prints it. Three are cut to fit CI, and say how: the two long trainings
 * get `--time 15s` instead of 30m and 10m, and `attn experiment positional --quick`
 * (about 2.5 minutes; test/experiments/positional.test.ts runs the same quick run
 * in full) must start and report progress, then is stopped. `npm test` is the
 * suite running this file, so it is only checked to be there. ../shared is
 * linked next to the copy, as the README's relative data paths expect.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHARED = path.resolve(ROOT, "../shared");

/** The commands of the first ```sh block after a heading, comments dropped, continuations joined. */
export function readmeCommands(readme: string, heading: string): string[] {
  const after = readme.split(`\n${heading}\n`)[1];
  assert.ok(after, `README.md has no "${heading}" section`);
  const block = after.split("```sh\n")[1]?.split("```")[0];
  assert.ok(block, `README.md's "${heading}" has no sh block`);
  return block
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map((l) => l.replace(/\s+#\s.*$/, "").trim())
    .filter((l) => l !== "");
}

/** A clean copy of the working tree: tracked files and untracked ones git does not ignore. */
function cleanCopy(dest: string): void {
  const r = spawnSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, r.stderr);
  for (const f of r.stdout.split("\0")) {
    if (!f) continue;
    const from = path.join(ROOT, f);
    if (!fs.existsSync(from) || fs.statSync(from).isDirectory()) continue;
    fs.mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
    fs.copyFileSync(from, path.join(dest, f));
  }
}

// The npm cache makes `npm ci` an offline install where it can; the command is the README's.
const ENV = {
  ...process.env,
  npm_config_prefer_offline: "true",
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
  ATTN_BACKEND: "",
  NODE_OPTIONS: "",
};

function sh(cmd: string, cwd: string, timeoutMs: number): string {
  const r = spawnSync("bash", ["-c", cmd], { cwd, env: ENV, encoding: "utf8", timeout: timeoutMs });
  assert.equal(
    r.status,
    0,
    `\`${cmd}\` failed (status ${r.status}, ${r.signal ?? "no signal"}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`,
  );
  return r.stdout;
}

/**
 * Starts a long command, waits until its output matches `ready`, runs `check` on that
 * output while the command still runs, then stops it.
 */
async function whileRunning(
  cmd: string,
  cwd: string,
  ready: RegExp,
  timeoutMs: number,
  check: (out: string) => Promise<void> = async () => {},
): Promise<void> {
  const child: ChildProcess = spawn("bash", ["-c", `exec ${cmd}`], {
    cwd,
    env: ENV,
    detached: true,
  });
  let out = "";
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `\`${cmd}\`: nothing matching ${ready} within ${timeoutMs} ms:\n${out.slice(-3000)}`,
            ),
          ),
        timeoutMs,
      );
      const on = (b: Buffer) => {
        out += b.toString();
        if (ready.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on("data", on);
      child.stderr?.on("data", on);
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`\`${cmd}\` exited with ${code} before ${ready}:\n${out.slice(-3000)}`));
      });
    });
    await check(out);
  } finally {
    child.removeAllListeners("exit");
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {}
  }
}

test("the README's commands, in order, on a clean copy", {
  timeout: 1_200_000,
  skip: !fs.existsSync(SHARED) && "no ../shared next to the repository",
}, async () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const quick = readmeCommands(readme, "## Quick start");
  const next = readmeCommands(readme, "## What next");
  assert.equal(quick.length, 2, `the Quick start has exactly two commands: ${quick.join(" | ")}`);
  assert.equal(quick[1], "npm test");

  const top = fs.mkdtempSync(path.join(os.tmpdir(), "attn-quickstart-"));
  const repo = path.join(top, "attention-lab");
  try {
    cleanCopy(repo);
    fs.symlinkSync(SHARED, path.join(top, "shared"));

    // 1. Install (native kernels, dist/, the explorer's dist-web/) and train the dates model.
    const trained = sh(quick[0], repo, 900_000);
    assert.match(trained, /held-out: exact_match \d/);
    assert.ok(
      fs.existsSync(path.join(repo, "dist-web", "index.html")),
      "npm ci built the explorer",
    );

    // 2. Every "What next" command, in order.
    for (const cmd of next) {
      const cut = cmd.replace(/--time (30m|10m)\b/, "--time 15s");
      if (/attn explore\b/.test(cmd)) {
        // Served until stopped: fetch the page while it runs.
        await whileRunning(
          `${cut} --port 0`,
          repo,
          /http:\/\/127\.0\.0\.1:\d+/,
          60_000,
          async (out) => {
            const url = out.match(/http:\/\/127\.0\.0\.1:\d+/)![0];
            const page = await fetch(`${url}/`);
            assert.equal(page.status, 200, "explore serves the page");
            assert.match(await page.text(), /<script/);
          },
        );
        continue;
      }
      if (/attn experiment \S+ --quick/.test(cmd)) {
        await whileRunning(cut, repo, /step|seed|training|%/i, 120_000);
        continue;
      }
      const out = sh(cut, repo, 600_000);
      if (/attn translate/.test(cmd)) assert.match(out.trim(), /^\d{4}-\d{2}-\d{2}$/);
      if (/attn eval .*--json/.test(cmd)) assert.ok(JSON.parse(out).exact_match > 0.9, out);
      if (/attn info/.test(cmd)) assert.match(out, /63,045,632/);
      if (/attn generate/.test(cmd)) assert.ok(out.trim().length > 0, "generate printed text");
      if (/attn experiment --list/.test(cmd)) assert.match(out, /positional/);
    }
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
});
