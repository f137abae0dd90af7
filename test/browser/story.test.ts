/**
 * The explorer as one story (issue 13), on the real shipped checkpoints in
 * Debian's Chromium: with no target typed, the intact and the changed model
 * are scored on the same reference (the true answer when the page can compute
 * it, else the intact model's output) and no intervention makes the trained
 * dates model look better; zeroing a head answers in the Multi-head chapter
 * itself; the labels (written tokens, <pad>, layers from 1, no missing
 * glyphs); and every chapter fits a 390 px phone and a 1400 px desktop
 * screen, with screenshots phone-<chapter>.png and desktop-<chapter>.png.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import {
  type Browser,
  SCREENSHOTS,
  idle,
  openShipped,
  SHIPPED,
  type ShippedPage,
} from "./helpers.js";

async function value(page: Page, selector: string): Promise<number> {
  return Number(await page.locator(selector).first().getAttribute("data-value"));
}

/**
 * Elements that stick out of the window on the right, unless a box that
 * scrolls or clips them fits. A string, not a function: tsx would wrap a
 * function's inner helpers in __name(), which the page does not have.
 */
const OVERFLOW = `(() => {
  const width = document.documentElement.clientWidth;
  const clips = (el) => /auto|scroll|hidden|clip/.test(getComputedStyle(el).overflowX);
  const name = (el) =>
    el.tagName.toLowerCase() +
    (el.id ? "#" + el.id : "") +
    (el.getAttribute("class") ? "." + el.getAttribute("class").trim().split(/\\s+/).join(".") : "") +
    (el.getAttribute("data-testid") ? "[" + el.getAttribute("data-testid") + "]" : "");
  const bad = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= width + 0.5) continue;
    let ok = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (clips(p) && p.getBoundingClientRect().right <= width + 0.5) {
        ok = true;
        break;
      }
    }
    if (!ok) bad.push(name(el) + " (right edge " + Math.round(r.right) + " px)");
  }
  return { scroll: document.documentElement.scrollWidth, width, bad: bad.slice(0, 8) };
})()`;

interface Overflow {
  scroll: number;
  width: number;
  bad: string[];
}

async function overflow(page: Page): Promise<Overflow> {
  return page.evaluate<Overflow>(OVERFLOW);
}

async function assertFits(page: Page, what: string): Promise<void> {
  const o = await overflow(page);
  assert.deepEqual(o.bad, [], `${what}: elements past the window's right edge`);
  assert.ok(
    o.scroll <= o.width,
    `${what}: the page is ${o.scroll} px wide in a ${o.width} px window`,
  );
}

describe("the explorer as one story", {
  timeout: 150_000,
  skip: !SHIPPED && "no shipped checkpoints in web/public/checkpoints",
}, () => {
  let shippedPage: ShippedPage;
  let browser: Browser;
  let page: Page;

  before(async () => {
    shippedPage = await openShipped(
      `?ckpt=dates&ch=masks&src=${encodeURIComponent("15 Nov 1996")}`,
      { width: 1400, height: 900 },
    );
    ({ browser, page } = shippedPage);
  });

  after(async () => {
    await shippedPage?.close();
  });

  test("no target typed: both models are scored on the true answer, and no intervention lowers the loss", async () => {
    const ref = page.locator("[data-testid=reference]");
    assert.equal(await ref.getAttribute("data-kind"), "truth");
    assert.match((await ref.textContent()) ?? "", /the true answer 1996-11-15/);
    assert.equal((await page.locator("[data-testid=output]").textContent())?.trim(), "1996-11-15");
    const intact = await value(page, "[data-testid=loss]");
    for (const iv of ["noPositional", "noCausalMask", "noScale"]) {
      await page.check(`[data-testid=iv-${iv}]`);
      await page.waitForSelector("[data-testid=iv-compare] [data-testid=loss-now]", {
        timeout: 20_000,
      });
      await idle(page);
      const cmp = "[data-testid=iv-compare]";
      assert.equal(
        await page.locator(`${cmp} [data-testid=compare-reference]`).getAttribute("data-kind"),
        "truth",
      );
      const before = await value(page, `${cmp} [data-testid=loss-intact]`);
      const now = await value(page, `${cmp} [data-testid=loss-now]`);
      assert.ok(Math.abs(before - intact) < 1e-6, `${iv}: intact loss ${before} vs ${intact}`);
      assert.ok(now >= before, `${iv}: loss ${now} with it removed, ${before} intact`);
      if (iv === "noCausalMask")
        await page.screenshot({ path: path.join(SCREENSHOTS, "story-no-causal-mask.png") });
      await page.uncheck(`[data-testid=iv-${iv}]`);
      await page.waitForSelector(cmp, { state: "detached", timeout: 20_000 });
      await idle(page);
    }

    // Zeroing a head answers where the click was: in the Multi-head chapter, on screen.
    await page.click("[data-chapter=multihead]");
    await page.click('[data-testid="zero-decoder.layers.0.self_attn:3"]');
    const inline = page.locator("[data-testid=mh-compare]");
    await page.waitForSelector("[data-testid=mh-compare] [data-testid=loss-now]", {
      timeout: 20_000,
    });
    await idle(page);
    assert.match((await inline.textContent()) ?? "", /decoder self, layer 1, head 4/);
    const before = await value(page, "[data-testid=mh-compare] [data-testid=loss-intact]");
    const now = await value(page, "[data-testid=mh-compare] [data-testid=loss-now]");
    assert.ok(Math.abs(before - intact) < 1e-6);
    assert.ok(now > before, `zeroed head: loss ${now}, intact ${before}`);
    // Both the chapter's answer and the sidebar's stay in the window while the grid is scrolled.
    for (const sel of ["[data-testid=mh-compare]", "[data-testid=iv-compare]"]) {
      const box = await page.locator(sel).boundingBox();
      assert.ok(
        box && box.y >= 0 && box.y + box.height <= 900 + 1,
        `${sel} on screen: ${JSON.stringify(box)}`,
      );
    }
    await page.screenshot({ path: path.join(SCREENSHOTS, "story-multihead-zeroed.png") });
    await page.click("[data-testid=mh-compare] button:has-text('restore')");
    await page.waitForSelector("[data-testid=mh-compare]", { state: "detached", timeout: 20_000 });
    await idle(page);
  });

  test("a date typed in no task format is scored on the intact model's own output", async () => {
    await page.fill("[data-testid=src-input]", "15.11.1996");
    await page.waitForSelector('[data-testid=reference][data-kind="intact"]', { timeout: 20_000 });
    await idle(page);
    const output = (await page.locator("[data-testid=output]").textContent())?.trim();
    assert.equal(await page.locator("[data-testid=reference]").getAttribute("data-text"), output);
    await page.check("[data-testid=iv-noCausalMask]");
    await page.waitForSelector("[data-testid=iv-compare] [data-testid=loss-now]", {
      timeout: 20_000,
    });
    await idle(page);
    assert.match(
      (await page
        .locator("[data-testid=iv-compare] [data-testid=compare-reference]")
        .textContent()) ?? "",
      /intact model's own output/,
    );
    await page.uncheck("[data-testid=iv-noCausalMask]");
    await page.waitForSelector("[data-testid=iv-compare]", { state: "detached", timeout: 20_000 });
    await page.fill("[data-testid=src-input]", "15 Nov 1996");
    await page.waitForSelector('[data-testid=reference][data-kind="truth"]', { timeout: 20_000 });
    await idle(page);
  });

  test("labels: rows by the token written, <pad>, layers from 1, plain words first", async () => {
    await page.click("[data-chapter=overview]");
    // The primary action of a trained model is the walkthrough.
    assert.equal(
      (await page.locator(".cta button.primary").textContent())?.trim(),
      "Start the walkthrough →",
    );
    await page.click("[data-testid=overview-cross] figcaption button");
    const rows = await page
      .locator("[data-testid=overview-cross] tbody th")
      .evaluateAll((ths) => ths.map((t) => t.textContent));
    assert.deepEqual(rows, [..."1996-11-15", "<eos>"]);
    await page.click("[data-testid=overview-cross] figcaption button");
    assert.match(
      (await page.locator("[data-testid=overview-cross] figcaption").textContent()) ?? "",
      /layer 2 of 2/,
    );
    await page.click("[data-chapter=masks]");
    assert.ok((await page.locator("[data-testid=mask-src-batch] td.pad").count()) > 0);
    for (const t of await page.locator("[data-testid=mask-src-batch] td.pad").allTextContents())
      assert.equal(t, "<pad>");
    await page.click("[data-chapter=attention]");
    assert.deepEqual(await page.locator("[data-testid=pick-layer] option").allTextContents(), [
      "1",
      "2",
    ]);
    await page.click("[data-chapter=decoding]");
    assert.ok(!((await page.locator("body").textContent()) ?? "").includes("⏹"));
    assert.ok((await page.locator("[data-testid=beams] .ended").count()) > 0);
    const side = (await page.locator("aside.side").textContent()) ?? "";
    assert.match(side, /Teacher-forced guess \(each position is fed/);
    assert.match(side, /nats \(natural-log units/);
  });

  test("every chapter fits a phone and a desktop screen (screenshots)", async () => {
    const ids = await page
      .locator("nav.chapters button")
      .evaluateAll((bs) => bs.map((b) => b.getAttribute("data-chapter")!));
    assert.equal(ids.length, 11);
    for (const [name, width, height] of [
      ["phone", 390, 844],
      ["desktop", 1400, 900],
    ] as const) {
      await page.setViewportSize({ width, height });
      for (const id of ids) {
        await page.click(`[data-chapter=${id}]`);
        await page.waitForSelector(`[data-testid=chapter-${id}]`);
        if (id === "positional") {
          for (const s of ["reverse-sinusoidal", "reverse-learned"])
            await page.waitForSelector(`[data-testid=pos-side-${s}] [data-testid=pos-out-nopos]`, {
              timeout: 20_000,
            });
        }
        // Charts redraw at the new width after a resize settles.
        await page.waitForTimeout(250);
        await page.screenshot({
          path: path.join(SCREENSHOTS, `${name}-${id}.png`),
          fullPage: true,
        });
        await assertFits(page, `${name} ${width}×${height}, ${id}`);
      }
      if (name === "phone") {
        // The chapter comes first; the input folds into one line, opened from the keyboard.
        const toggle = page.locator("[data-testid=side-toggle]");
        assert.ok(await toggle.isVisible());
        assert.ok(!(await page.locator("[data-testid=src-input]").isVisible()));
        await toggle.focus();
        await page.keyboard.press("Enter");
        assert.equal(await toggle.getAttribute("aria-expanded"), "true");
        await page.check("[data-testid=iv-noScale]");
        await page.waitForSelector("[data-testid=iv-compare] [data-testid=loss-now]", {
          timeout: 20_000,
        });
        await idle(page);
        await assertFits(page, "phone, input and interventions open");
        await page.screenshot({
          path: path.join(SCREENSHOTS, "phone-sidebar-open.png"),
          fullPage: true,
        });
        await page.uncheck("[data-testid=iv-noScale]");
        await page.waitForSelector("[data-testid=iv-compare]", {
          state: "detached",
          timeout: 20_000,
        });
        await page.keyboard.press("Enter");
      } else {
        assert.ok(!(await page.locator("[data-testid=side-toggle]").isVisible()));
      }
    }
  });

  test("no console errors and no network outside 127.0.0.1", () => {
    assert.deepEqual(browser.errors, []);
    assert.deepEqual(browser.blocked, []);
  });
});
