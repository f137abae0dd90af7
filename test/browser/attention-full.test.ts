/**
 * Attention in full and the masks seen together (issue 13), on the shipped
 * dates checkpoint in Debian's Chromium: the Attention chapter opens on the
 * last query's largest weight and shows V, weights · V (equal to the Node
 * engine's recorded `heads` tap within display rounding), the concatenated
 * heads and W^O's output; the Masks chapter shows by default, for every row
 * of a padded target batch, the causal mask, the padding mask and their
 * union, with both kinds of masked cells present. Screenshots:
 * attention-full.png, masks-together.png.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { readSafetensorsFile, toFloat32 } from "../../src/io/safetensors.js";
import type { EncoderDecoderConfig } from "../../src/models/config.js";
import { Transformer } from "../../src/models/transformer.js";
import { recordIntermediates } from "../../src/nn/hooks.js";
import { fromArray, noGrad } from "../../src/tensor/index.js";
import {
  type Browser,
  REPO,
  SCREENSHOTS,
  idle,
  openShipped,
  SHIPPED,
  type ShippedPage,
} from "./helpers.js";

const DATES = path.join(REPO, "web/public/checkpoints/dates");

/** The shipped checkpoint, loaded by the Node engine the way the CLI would. */
function loadDates(): Transformer {
  const cfg = JSON.parse(fs.readFileSync(path.join(DATES, "config.json"), "utf8")).model;
  const model = new Transformer(cfg as EncoderDecoderConfig);
  const file = readSafetensorsFile(path.join(DATES, "model.safetensors"));
  model.loadStateDict(
    new Map([...file.tensors].map(([n, t]) => [n, { shape: t.shape, values: toFloat32(t, n) }])),
  );
  model.eval();
  return model;
}

describe("attention in full, masks together", {
  timeout: 120_000,
  skip: !SHIPPED && "no shipped checkpoints in web/public/checkpoints",
}, () => {
  let shippedPage: ShippedPage;
  let browser: Browser;
  let page: Page;

  before(async () => {
    shippedPage = await openShipped(
      `?ckpt=dates&ch=attention&src=${encodeURIComponent("15 Nov 1996")}`,
    );
    ({ browser, page } = shippedPage);
  });

  after(async () => {
    await shippedPage?.close();
  });

  test("Attention shows V and weights · V, equal to the engine's heads tap", async () => {
    const el = page.locator("#analysis-meta");
    const src = JSON.parse((await el.getAttribute("data-src-ids")) ?? "[]") as number[];
    const tgtIn = JSON.parse((await el.getAttribute("data-tgt-in")) ?? "[]") as number[];
    const { tensors } = noGrad(() =>
      recordIntermediates(() =>
        loadDates().forward(
          fromArray(src, [1, src.length], "int32"),
          fromArray(tgtIn, [1, tgtIn.length], "int32"),
        ),
      ),
    );
    for (const id of ["attn-v", "attn-head-out", "attn-sum", "attn-concat", "attn-out"])
      assert.equal(await page.locator(`[data-testid=${id}]`).count(), 1, id);

    // The default cell is the last query's largest weight.
    const wcell = page.locator("[data-testid=attn-weight]");
    const [, h, i, j] = JSON.parse((await wcell.getAttribute("data-index"))!) as number[];
    const weights = tensors.get((await wcell.getAttribute("data-tensor"))!)!;
    const [, H, Tq, Tk] = weights.shape;
    assert.equal(i, Tq - 1);
    const start = (h * Tq + i) * Tk;
    const row = Array.from(weights.values).slice(start, start + Tk);
    assert.equal(j, row.indexOf(Math.max(...row)));

    // Every displayed number of weights · V is the recorded heads tap's, within display rounding.
    const cells = page.locator("[data-testid=attn-head-out] td");
    const n = await cells.count();
    const name = (await cells.first().getAttribute("data-tensor"))!;
    assert.match(name, /\.heads$/);
    const heads = tensors.get(name)!;
    const dv = heads.shape[3];
    assert.equal(n, dv);
    for (let k = 0; k < n; k++) {
      const td = cells.nth(k);
      const [b, hh, ii, c] = JSON.parse((await td.getAttribute("data-index"))!) as number[];
      const want = heads.values[((b * H + hh) * Tq + ii) * dv + c];
      const shown = Number(((await td.textContent()) ?? "").replace("−", "-"));
      assert.ok(
        Math.abs(shown - want) <= 0.0005 + 1e-6,
        `heads[${c}]: shown ${shown}, engine ${want}`,
      );
    }
    // The worked sum ends in the same number as the recorded coordinate.
    const sumRows = page.locator("[data-testid=attn-sum] tbody tr");
    const total = Number(
      ((await sumRows.nth(-2).locator("td").textContent()) ?? "").replace("−", "-"),
    );
    const recorded = Number(await sumRows.nth(-1).locator("td").getAttribute("data-value"));
    assert.ok(Math.abs(total - recorded) <= 0.00005 + 1e-6, `sum ${total} vs recorded ${recorded}`);
    await page.locator("[data-testid=attn-values]").scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOTS, "attention-full.png"), fullPage: true });
    assert.deepEqual(browser.errors, []);
  });

  test("Masks shows, by default, the causal and padding masks and their union per target row", async () => {
    await page.click("[data-chapter=masks]");
    const together = page.locator("[data-testid=mask-together]");
    await together.waitFor();
    const rows = await page.locator("[data-testid^=mask-together-]").count();
    assert.ok(rows >= 2, `${rows} target rows`);
    // Targets of different lengths: some row has PAD key columns.
    assert.ok((await together.locator("th.pad-col").count()) > 0, "no PAD column marked");
    const union = together.locator("[data-testid=mask-union]");
    assert.equal(await union.count(), rows);
    const masked = (kind: string) =>
      union.locator(`td[data-masked="1"][data-kind="${kind}"]`).count();
    assert.ok((await masked("causal")) > 0, "no cell masked by the causal mask alone");
    assert.ok((await masked("pad")) > 0, "no cell masked by padding alone");
    // The model's −∞ cells are exactly the union of the two masks.
    const cells = await union
      .locator("td")
      .evaluateAll((tds) =>
        tds.map((t) => [t.getAttribute("data-masked"), t.getAttribute("data-kind")]),
      );
    for (const [m, k] of cells) assert.equal(m === "1", k !== "", `masked ${m}, kind ${k}`);
    await together.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOTS, "masks-together.png"), fullPage: true });
    assert.deepEqual(browser.errors, []);
  });

  test("every chapter opens with the model map, its stage marked and each box a link", async () => {
    const ids = await page
      .locator("nav.chapters button")
      .evaluateAll((bs) => bs.map((b) => b.getAttribute("data-chapter")!));
    for (const id of ids) {
      await page.click(`nav.chapters [data-chapter=${id}]`);
      const map = page.locator(`[data-testid=chapter-${id}] [data-testid=stage-map]`);
      await map.waitFor();
      assert.ok(
        (await map.locator('button[data-current="1"]').count()) > 0,
        `${id}: no stage marked`,
      );
    }
    // Live shapes: the encoder's attention is [B, H, S, S] for this input.
    const el = page.locator("#analysis-meta");
    const S = (JSON.parse((await el.getAttribute("data-src-ids")) ?? "[]") as number[]).length;
    const enc = page.locator('[data-testid=stage-map] button[data-stage="Self-attention"]');
    assert.match((await enc.textContent()) ?? "", new RegExp(`\\[1, \\d+, ${S}, ${S}\\]`));
    // A box opens its chapter.
    await page.click('[data-testid=stage-map] button[data-stage="Feed forward"] >> nth=0');
    await page.locator("[data-testid=chapter-ffn]").waitFor();
    const marked = await page
      .locator('[data-testid=stage-map] button[data-current="1"]')
      .evaluateAll((bs) => bs.map((b) => b.getAttribute("data-stage")));
    assert.deepEqual(marked, ["Feed forward", "Feed forward"]);
    await page.screenshot({ path: path.join(SCREENSHOTS, "stage-map.png") });

    // A GPT: one stack, its causal self-attention marked in the Attention chapter.
    await page.goto(`${shippedPage.url}?ckpt=kjv-gpt&ch=attention`);
    await page.waitForSelector("#analysis-meta", { state: "attached", timeout: 30_000 });
    await idle(page);
    const lanes = await page.locator("[data-testid=stage-map] .sm-name").allTextContents();
    assert.deepEqual(lanes, ["GPT"]);
    assert.deepEqual(
      await page
        .locator('[data-testid=stage-map] button[data-current="1"]')
        .evaluateAll((bs) => bs.map((b) => b.getAttribute("data-stage"))),
      ["Masked self-attention"],
    );
    await page.screenshot({ path: path.join(SCREENSHOTS, "stage-map-gpt.png") });
    assert.deepEqual(browser.errors, []);
  });
});
