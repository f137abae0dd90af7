/**
 * The README's "bring your own weights" example, run as a user runs it: against the built
 * package (`npm pack`, installed into a fresh project), not against src/. It imports the
 * Hugging Face Marian fixture and prints a translation.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 300_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test("the README's bring-your-own-weights example runs against the packed package", {
  timeout: 600_000,
}, () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const example = readme.split("```js byo-weights\n")[1]?.split("```")[0];
  assert.ok(example, "README.md has no ```js byo-weights block");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "attn-pack-"));
  // dist/ from the sources as they are now, then the tarball a user would install.
  run("npm", ["run", "build"], ROOT);
  const packed = run(
    "npm",
    ["pack", "--ignore-scripts", "--pack-destination", tmp, "--json"],
    ROOT,
  );
  const tarball = path.join(tmp, JSON.parse(packed)[0].filename);
  const project = path.join(tmp, "user");
  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({ name: "user", version: "1.0.0", type: "module", private: true }),
  );
  run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], project);
  fs.writeFileSync(path.join(project, "example.js"), example);
  const out = run(
    process.execPath,
    ["example.js", path.join(ROOT, "test/fixtures/hf/marian")],
    project,
  );
  // The fixture's weights are random: any translation text will do, as one array of one string.
  assert.match(out.trim(), /^\[\s*'.*'\s*\]$/s);
});
