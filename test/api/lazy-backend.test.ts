/**
 * Importing the package loads no native addon and starts no worker: the
 * backend is chosen when the first tensor is made. A child process (with no
 * backend preset, as a user's) counts process.dlopen calls and new workers
 * around the import and around the first tensor.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";

const probe = `
import worker from "node:worker_threads";
let dlopen = 0;
const real = process.dlopen;
process.dlopen = (...a) => { dlopen++; return real.apply(process, a); };
let workers = 0;
const Real = worker.Worker;
worker.Worker = class extends Real { constructor(...a) { super(...a); workers++; } };
const lab = await import("./src/index.ts");
const afterImport = { dlopen, workers };
const t = lab.zeros([2]);
console.log(JSON.stringify({ afterImport, backend: lab.getBackend().name, after: { dlopen, workers }, n: t.size }));
`;

test("importing the package chooses no backend; the first tensor does", () => {
  const env = { ...process.env };
  delete env.ATTN_BACKEND;
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", probe],
    {
      env,
      encoding: "utf8",
    },
  );
  const r = JSON.parse(out.trim().split("\n").pop()!);
  assert.deepEqual(r.afterImport, { dlopen: 0, workers: 0 });
  assert.equal(r.n, 2);
  // The choice happened at the first tensor: native loads the addon, wasm starts its workers.
  if (r.backend === "native") assert.ok(r.after.dlopen > 0, JSON.stringify(r));
  if (r.backend === "wasm") assert.ok(r.after.workers > 0, JSON.stringify(r));
});
