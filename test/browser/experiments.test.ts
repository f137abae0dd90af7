/**
 * The explorer's Experiments view in Debian's Chromium, served by attn
 * explore's server: it lists the registry, opens from the navigation, from a
 * chapter's link and by URL (an unknown name is reported, not replaced);
 * opens a results.json made here by a real run (runExperiment on the smoke
 * experiment) and shows its table and plots; refuses a file of another format
 * with an inline error; shows a committed full run served read-only under
 * /experiments/NAME/results.json (only registry names); runs the smoke
 * experiment live in the page on wasm (the registry's --quick runs take
 * minutes there), offers its results.json, and cancels a run. No console
 * errors; screenshots in test-artifacts/screenshots/experiments-*.png.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { type ExploreServer, startExploreServer } from "../../src/cli/explore.js";
import {
  EXPERIMENTS,
  type ExperimentResult,
  formatCell,
  runExperiment,
} from "../../src/experiments/index.js";
import { SMOKE } from "../../web/src/experiments/smoke.js";
import { type Browser, DIST_WEB, ensureBuilt, launchBrowser, SCREENSHOTS } from "./helpers.js";

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** The table's cells as shown, row by row. */
async function tableText(page: Page): Promise<string[][]> {
  return page
    .locator("[data-testid=exp-table] tbody tr")
    .evaluateAll((rows) =>
      rows.map((r) => Array.from(r.querySelectorAll("th, td"), (c) => c.textContent ?? "")),
    );
}

/** What the page must show for a result: a row per (condition, arm), formatCell per metric. */
function expectedTable(r: ExperimentResult): string[][] {
  const grouped = r.rows.some((row) => row.group !== "");
  return r.rows.map((row) => [
    ...(grouped ? [row.group] : []),
    row.arm,
    ...r.metrics.map((m) => (row.cells[m.key] ? formatCell(row.cells[m.key], m.format) : "—")),
  ]);
}

async function plotsDrawn(page: Page, n: number): Promise<void> {
  await page.waitForFunction(
    (n) =>
      document.querySelectorAll("[data-testid=exp-plot][data-state=done] .exp-svg > svg").length ===
      n,
    n,
    { timeout: 30_000 },
  );
}

describe("explorer: the Experiments view", { timeout: 120_000 }, () => {
  let tmp: string;
  let fixture: string;
  let result: ExperimentResult;
  let server: ExploreServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    ensureBuilt();
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "attn-experiments-"));
    // A real result: the smoke experiment (two arms, three seeds, bars and lines) run here.
    result = await runExperiment(SMOKE, { quick: true, seeds: [1, 2, 3], commit: null });
    fixture = path.join(tmp, "results.json");
    fs.writeFileSync(fixture, `${JSON.stringify(result, null, 1)}\n`);
    // Served as positional's "full run": the route and the button, not the numbers, are under test.
    const results = path.join(tmp, "results");
    fs.mkdirSync(path.join(results, "positional"), { recursive: true });
    fs.copyFileSync(fixture, path.join(results, "positional", "results.json"));
    fs.writeFileSync(path.join(results, "secret.txt"), "not served\n");
    server = await startExploreServer({ appDir: DIST_WEB, resultsDir: results, port: 0 });
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("opens from the navigation, from a chapter's link and by URL; lists the registry", async () => {
    await page.goto(`${server.url}?ckpt=none&ch=positional`);
    await page.click("[data-testid=exp-link-positional]");
    await page.waitForSelector("[data-testid=exp-card-positional].on");
    assert.match(page.url(), /[?&]ch=experiments&exp=positional(&|$)/);
    const cards = await page
      .locator(".exp-card")
      .evaluateAll((cs) => cs.map((c) => c.getAttribute("data-testid")));
    assert.deepEqual(
      cards,
      EXPERIMENTS.map((e) => `exp-card-${e.name}`),
    );
    await shot(page, "experiments-list");
    // Back to a chapter and again through the navigation.
    await page.click("[data-chapter=attention]");
    await page.waitForSelector("[data-testid=chapter-attention]");
    assert.ok(await page.locator("[data-testid=chapter-experiments]").isHidden());
    await page.click("[data-chapter=experiments]");
    await page.waitForSelector("[data-testid=chapter-experiments]", { state: "visible" });
    // A wrong name in the URL is reported by name.
    await page.goto(`${server.url}?ckpt=none&ch=experiments&exp=no-such`);
    const unknown = page.locator("[data-testid=exp-unknown]");
    await unknown.waitFor();
    assert.match((await unknown.textContent()) ?? "", /No experiment “no-such”.*positional/);
  });

  test("opens a results.json: its table (formatCell) and its plots", async () => {
    await page.goto(`${server.url}?ckpt=none&ch=experiments`);
    await page.setInputFiles("[data-testid=exp-file]", fixture);
    await page.waitForSelector("[data-testid=exp-result][data-experiment=smoke]");
    assert.deepEqual(await tableText(page), expectedTable(result));
    assert.equal(result.rows.length, 2);
    const conclusions = await page.locator("[data-testid=exp-conclusions] li").allTextContents();
    assert.deepEqual(conclusions, result.conclusions);
    await plotsDrawn(page, result.plots.length);
    const svgText = await page.locator("[data-testid=exp-plot] svg").first().textContent();
    assert.match(svgText ?? "", /Held-out token accuracy/);
    assert.match(page.url(), /exp=smoke/);
    await shot(page, "experiments-result");
  });

  test("a file of another format gives an inline error", async () => {
    const file = (name: string, text: string) => ({
      name,
      mimeType: "application/json",
      buffer: Buffer.from(text),
    });
    await page.setInputFiles(
      "[data-testid=exp-file]",
      file("config.json", JSON.stringify({ format: "attention-lab-run", version: 1 })),
    );
    const error = page.locator("[data-testid=exp-error]");
    await error.waitFor();
    assert.match(
      (await error.textContent()) ?? "",
      /config\.json is not an experiment's results\.json: its format is "attention-lab-run", not "attention-lab-experiment"/,
    );
    const broken = { ...result, rows: [{ arm: "a", group: "", cells: { exact: { mean: "x" } } }] };
    await page.setInputFiles("[data-testid=exp-file]", file("broken.json", JSON.stringify(broken)));
    await page.waitForSelector("[data-testid=exp-error]:has-text('rows[0].cells.exact.mean')");
    await page.setInputFiles("[data-testid=exp-file]", file("notes.json", "not json"));
    await page.waitForSelector("[data-testid=exp-error]:has-text('notes.json is not JSON')");
    // Dropped on the box, a file goes the same way.
    const dropped = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['{"format":"other"}'], "dropped.json"));
      return dt;
    });
    await page.dispatchEvent("[data-testid=exp-drop]", "drop", { dataTransfer: dropped });
    await page.waitForSelector(
      "[data-testid=exp-error]:has-text('dropped.json is not an experiment')",
    );
    await shot(page, "experiments-error");
  });

  test("the committed full run: served read-only for registry names, shown by the page", async () => {
    const get = (p: string) => fetch(new URL(p, server.url));
    const listed = await (await get("explore.json")).json();
    assert.deepEqual(listed.experiments, ["positional"]);
    assert.equal((await get("experiments/positional/results.json")).status, 200);
    for (const p of [
      "experiments/no-such/results.json",
      "experiments/positional/table.txt",
      "experiments/secret.txt",
      "experiments/positional",
    ])
      assert.equal((await get(p)).status, 404, p);
    assert.equal((await get("experiments/positional/..%2F..%2Fsecret.txt")).status, 403);
    await page.goto(`${server.url}?ckpt=none&ch=experiments&exp=positional`);
    await page.click("[data-testid=exp-full-positional]");
    await page.waitForSelector(
      "[data-testid=exp-source]:has-text('docs/concepts/results/positional/results.json')",
    );
    assert.deepEqual(await tableText(page), expectedTable(result));
  });

  test("runs an experiment live in the page on wasm, and offers its results.json", async (t) => {
    await page.goto(`${server.url}?ckpt=none&ch=experiments&exp=smoke`);
    await page.click("[data-testid=exp-run-smoke]");
    await page.waitForSelector("[data-testid=exp-log]:has-text('(1/6)')", { timeout: 60_000 });
    await shot(page, "experiments-running");
    const t0 = Date.now();
    await page.waitForSelector("[data-testid=exp-result][data-experiment=smoke]", {
      timeout: 90_000,
    });
    const source = (await page.locator("[data-testid=exp-source]").textContent()) ?? "";
    assert.match(source, /Run here, --quick, on wasm/);
    t.diagnostic(`live smoke run: ${source} (shown ${Date.now() - t0} ms after the first trial)`);
    const rows = await tableText(page);
    assert.deepEqual(
      rows.map((r) => r[1]),
      ["sinusoidal", "none"],
    );
    await plotsDrawn(page, 2);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click("[data-testid=exp-download]"),
    ]);
    const saved = JSON.parse(fs.readFileSync((await download.path())!, "utf8")) as ExperimentResult;
    assert.equal(saved.format, "attention-lab-experiment");
    assert.equal(saved.backend, "wasm");
    assert.deepEqual(expectedTable(saved), rows);
    await shot(page, "experiments-live");
  });

  test("cancels a run", async () => {
    await page.click("[data-testid=exp-run-smoke]");
    await page.waitForSelector("[data-testid=exp-running]");
    await page.click("[data-testid=exp-cancel]");
    await page.waitForSelector("[data-testid=exp-error]:has-text('The run was cancelled.')");
    assert.equal(await page.locator("[data-testid=exp-running]").count(), 0);
    assert.ok(await page.locator("[data-testid=exp-run-smoke]").isEnabled());
  });

  test("no console errors and no network outside 127.0.0.1", () => {
    assert.deepEqual(browser.errors, []);
    assert.deepEqual(browser.blocked, []);
  });
});
