/**
 * Scales and legends (issue 13, item 4), on the shipped dates model in Debian's
 * Chromium: every heatmap has a colour bar and a visible readout of the cell under
 * the pointer; views compared side by side share one colour scale (E[id] and
 * E[id]·√d; embedding, PE and input; the residual stages); the norms that motivate
 * ×√d_model; the PE table's dimension axis and default waves spread across
 * d_model; the PCA's colour key and readout.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { CHAPTER_IDS } from "../../web/src/chapters/guide.js";
import { SCREENSHOTS, idle, openShipped, SHIPPED, type ShippedPage } from "./helpers.js";

async function bar(page: Page, testId: string): Promise<[number, number]> {
  const b = page.locator(`[data-testid=${testId}] [data-testid=colorbar]`).first();
  return [Number(await b.getAttribute("data-lo")), Number(await b.getAttribute("data-hi"))];
}

// Every chapter but Training (live training is the explorer test's).
const CHAPTERS = CHAPTER_IDS.filter((c) => c !== "training");

describe("scales and legends", {
  timeout: 150_000,
  skip: !SHIPPED && "no shipped checkpoints in web/public/checkpoints",
}, () => {
  let shippedPage: ShippedPage;
  let page: Page;

  before(async () => {
    shippedPage = await openShipped(
      `?ckpt=dates&ch=embedding&src=${encodeURIComponent("15 Nov 1996")}`,
      { width: 1400, height: 900 },
    );
    ({ page } = shippedPage);
  });

  after(async () => {
    await shippedPage?.close();
  });

  test("every heatmap has a colour bar, and hovering any heatmap shows row, column and value", async () => {
    for (const ch of CHAPTERS) {
      await page.click(`[data-chapter=${ch}]`);
      await idle(page);
      const maps = page.locator("main figure.heatmap");
      const n = await maps.count();
      if (!["overview", "output", "decoding"].includes(ch)) assert.ok(n > 0, `${ch}: no heatmaps`);
      for (let k = 0; k < n; k++) {
        const map = maps.nth(k);
        const title = (await map.locator(".hm-title").textContent()) ?? "";
        const cb = map.locator("[data-testid=colorbar]");
        assert.equal(await cb.count(), 1, `${ch} "${title}": no colour bar`);
        const lo = Number(await cb.getAttribute("data-lo"));
        const hi = Number(await cb.getAttribute("data-hi"));
        assert.ok(
          Number.isFinite(lo) && Number.isFinite(hi) && lo < hi,
          `${ch} "${title}": ${lo}..${hi}`,
        );
        const canvas = map.locator("canvas");
        await canvas.scrollIntoViewIfNeeded();
        // A map wider than its column scrolls in its own box: scroll that to the last column.
        await map.locator(".hm-scroll").evaluate((el) => {
          el.scrollLeft = el.scrollWidth;
        });
        const box = await canvas.boundingBox();
        assert.ok(box, `${ch} "${title}": canvas not laid out`);
        // The middle of the bottom-right cell (the grid's origin and cell size are on the canvas).
        const [x0, y0, cw, chh] = ((await canvas.getAttribute("data-grid")) ?? "")
          .split(",")
          .map(Number);
        const { rows, cols } = await canvas.evaluate((c) => ({
          rows: Number(c.getAttribute("aria-label")?.match(/heatmap of (\d+) by (\d+)/)?.[1]),
          cols: Number(c.getAttribute("aria-label")?.match(/heatmap of (\d+) by (\d+)/)?.[2]),
        }));
        await page.mouse.move(box.x + x0 + (cols - 0.5) * cw, box.y + y0 + (rows - 0.5) * chh);
        const said = (await map.locator("[data-testid=hm-readout]").textContent()) ?? "";
        assert.match(
          said,
          /(−?\d+\.\d+(e[+−]?\d+)?|−?\d+e[+−]?\d+|−∞)\)?\.?$/,
          `${ch} "${title}": readout "${said}"`,
        );
      }
    }
  });

  test("E[id] and E[id]·√d share one scale, and the two norms show why the scale is there", async () => {
    await page.click("[data-chapter=embedding]");
    await idle(page);
    const lookup = await bar(page, "emb-lookup");
    const scaled = await bar(page, "emb-scaled");
    assert.deepEqual(lookup, scaled);
    const norms = await page
      .locator("[data-testid=why-scale-bars] td.bars-num")
      .evaluateAll((tds) => tds.map((t) => Number(t.getAttribute("data-value"))));
    assert.equal(norms.length, 3, "‖E[id]‖, ‖E[id]·√d‖ and ‖PE[pos]‖");
    const [nE, nS, nP] = norms;
    assert.ok(Math.abs(nS - nE * Math.sqrt(64)) < 1e-3 * nS, `‖E·√64‖ ${nS} vs 8·‖E‖ ${8 * nE}`);
    // Position 0's sinusoid: sin 0 = 0 and cos 0 = 1 in each of the 32 pairs.
    assert.ok(Math.abs(nP - Math.sqrt(32)) < 1e-3, `‖PE[0]‖ ${nP}`);
    assert.match(
      (await page.locator("[data-testid=why-scale]").textContent()) ?? "",
      /√\(d_model\/2\)/,
    );
    await page.locator("[data-testid=why-scale]").scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOTS, "scales-embedding.png") });
  });

  test("embedding, PE and input share one scale; the PE table has a dimension axis; waves spread", async () => {
    await page.click("[data-chapter=positional]");
    await idle(page);
    const e = await bar(page, "pe-embed");
    assert.deepEqual(await bar(page, "pe-pos"), e);
    assert.deepEqual(await bar(page, "pe-input"), e);
    // A dimension label per column in the table view.
    await page.click("[data-testid=pe-table] figcaption button");
    const cols = await page.locator("[data-testid=pe-table] thead th").count();
    assert.equal(cols, 64 + 1);
    await page.click("[data-testid=pe-table] figcaption button");
    // Default waves: dimensions 0, d/8 and d/4 (wavelengths 6.3, 20 and 63 positions).
    const legend = await page.locator(".chart .u-legend .u-series .u-label").allTextContents();
    for (const dim of ["dim 0", "dim 8", "dim 16"])
      assert.ok(legend.includes(dim), `${dim} in ${legend}`);
    await page.locator("[data-testid=pe-table]").scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOTS, "scales-positional.png") });
  });

  test("the residual stages share one scale", async () => {
    await page.click("[data-chapter=residual]");
    await idle(page);
    const bars = await page
      .locator(".stages [data-testid=colorbar]")
      .evaluateAll((els) =>
        els.map((b) => `${b.getAttribute("data-lo")}..${b.getAttribute("data-hi")}`),
      );
    assert.ok(bars.length >= 7, `${bars.length} stages`);
    assert.equal(new Set(bars).size, 1, `ranges: ${[...new Set(bars)].join(", ")}`);
  });

  test("the PCA has a colour key and a readout of the point under the pointer", async () => {
    await page.click("[data-chapter=embedding]");
    await idle(page);
    const key = await page.locator("[data-testid=pca-key] li").allTextContents();
    assert.ok(
      key.some((k) => /digits/.test(k)) && key.some((k) => /specials/.test(k)),
      String(key),
    );
    const pt = page.locator("[data-testid=pca] g.pt").nth(5);
    await pt.scrollIntoViewIfNeeded();
    const box = await pt.locator("circle").boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    assert.match(
      (await page.locator("[data-testid=pca-readout]").textContent()) ?? "",
      /id \d+, [a-z ]+.*axis 1 −?[0-9.]+, axis 2 −?[0-9.]+/,
    );
  });

  test("the shipped GPT's generation length is a control, past its 128-position context", async () => {
    await page.goto(
      `${shippedPage.url}?ckpt=kjv-gpt&ch=decoding&src=${encodeURIComponent("And God said")}`,
    );
    await page.waitForSelector('#analysis-meta[data-kind="gpt"]', {
      state: "attached",
      timeout: 30_000,
    });
    await idle(page);
    await page.check("[data-testid=gen-sample]");
    await page.waitForSelector("[data-testid=decode-sampled]", { timeout: 20_000 });
    await page.locator("[data-testid=gen-length]").evaluate((el: HTMLInputElement) => {
      el.value = "200";
      el.dispatchEvent(new Event("change", { bubbles: true }));
    });
    // A character GPT trained on running text never emits <eos>: exactly 200 steps.
    await page.waitForSelector('[data-testid=decode-steps][data-count="200"]', { timeout: 30_000 });
    await page.click("[data-testid=decode-last]");
    assert.match(
      (await page.locator("[data-testid=chapter-decoding] .col h3").first().textContent()) ?? "",
      /its last 128 tokens: the context holds 128/,
    );
    const text = (await page.locator("[data-testid=gen-text] strong").textContent()) ?? "";
    assert.equal(text.length, 200);
    await page.screenshot({ path: path.join(SCREENSHOTS, "scales-gpt-length.png") });
  });
});
