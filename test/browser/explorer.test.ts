/**
 * The explorer in Debian's Chromium, served by attn explore's server with a
 * checkpoint made here, offline (everything but 127.0.0.1 is aborted):
 * displayed numbers equal the Node engine's, training lowers the loss,
 * removing the causal mask changes the output, no console errors, and a
 * screenshot of every chapter lands in test-artifacts/screenshots/.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { type ExploreServer, startExploreServer } from "../../src/cli/explore.js";
import { getTask } from "../../src/data/tasks.js";
import { makeSeq2SeqBatch } from "../../src/data/batching.js";
import { readSafetensorsFile, serializeSafetensors, toFloat32 } from "../../src/io/safetensors.js";
import { type EncoderDecoderConfig, presetConfig } from "../../src/models/config.js";
import { Transformer } from "../../src/models/transformer.js";
import { recordIntermediates } from "../../src/nn/hooks.js";
import { fromArray, Mulberry32, noGrad, tidy } from "../../src/tensor/index.js";
import { tokenizerFromJSON, trainCharTokenizer } from "../../src/tokenizers/index.js";
import { Adam } from "../../src/train/optim.js";
import { type Browser, DIST_WEB, ensureBuilt, launchBrowser, SCREENSHOTS } from "./helpers.js";

/** A small dates checkpoint: seeded init plus a few Adam steps, written as attn's checkpoint files. */
function makeCheckpoint(dir: string): void {
  const task = getTask("dates");
  const tok = trainCharTokenizer([], { alphabet: task.alphabet });
  const cfg = presetConfig("s2s-tiny", {
    vocabSize: tok.vocabSize,
    dModel: 32,
    heads: 4,
    dFF: 64,
    encoderLayers: 2,
    decoderLayers: 2,
    dropout: 0,
    maxLen: 64,
    seed: 11,
  } as Partial<EncoderDecoderConfig>);
  const model = new Transformer(cfg as EncoderDecoderConfig);
  const opt = new Adam(model.parameters(), { lr: 3e-3 });
  const rng = new Mulberry32(5);
  for (let s = 0; s < 8; s++) {
    const b = makeSeq2SeqBatch(
      Array.from({ length: 8 }, () => {
        const p = task.sample(rng);
        return { src: tok.encode(p.src), tgt: tok.encode(p.tgt) };
      }),
    );
    tidy(() => {
      const { loss } = model.loss(
        fromArray(b.src, [b.size, b.srcLen], "int32"),
        fromArray(b.tgtIn, [b.size, b.tgtLen], "int32"),
        fromArray(b.tgtOut, [b.size, b.tgtLen], "int32"),
        0.1,
      );
      loss.backward();
      opt.step();
      opt.zeroGrad();
    });
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "config.json"),
    JSON.stringify({ model: cfg, task: "dates" }, null, 2),
  );
  fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(tok.toJSON()));
  const tensors = new Map(
    model
      .namedParameters()
      .map(([n, p]) => [
        n,
        { dtype: "F32" as const, shape: [...p.shape], data: Float32Array.from(p.values()) },
      ]),
  );
  fs.writeFileSync(
    path.join(dir, "model.safetensors"),
    serializeSafetensors(tensors, { format: "pt" }),
  );
}

/** The same checkpoint, loaded by the Node engine the way the CLI would. */
function loadInNode(dir: string): Transformer {
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"))
    .model as EncoderDecoderConfig;
  const model = new Transformer(cfg);
  const file = readSafetensorsFile(path.join(dir, "model.safetensors"));
  model.loadStateDict(
    new Map([...file.tensors].map(([n, t]) => [n, { shape: t.shape, values: toFloat32(t, n) }])),
  );
  return model.eval();
}

async function meta(page: Page): Promise<{ src: number[]; tgtIn: number[] }> {
  const el = page.locator("#analysis-meta");
  return {
    src: JSON.parse((await el.getAttribute("data-src-ids")) ?? "[]"),
    tgtIn: JSON.parse((await el.getAttribute("data-tgt-in")) ?? "[]"),
  };
}

async function idle(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid=status][data-busy="0"]', {
    state: "attached",
    timeout: 30_000,
  });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

async function numberAt(page: Page, selector: string): Promise<number> {
  return Number(await page.locator(selector).first().getAttribute("data-value"));
}

describe("explorer in Chromium", { timeout: 110_000 }, () => {
  let tmp: string;
  let ckpt: string;
  let server: ExploreServer;
  let browser: Browser;
  let page: Page;
  let model: Transformer;

  before(async () => {
    ensureBuilt();
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "attn-explorer-"));
    ckpt = path.join(tmp, "dates-ckpt");
    makeCheckpoint(ckpt);
    model = loadInNode(ckpt);
    server = await startExploreServer({ appDir: DIST_WEB, checkpoint: ckpt, port: 0 });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    await page.goto(server.url);
    await page.waitForSelector("#analysis-meta", { state: "attached", timeout: 30_000 });
    await idle(page);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("loads the served checkpoint, offline", async () => {
    assert.match(
      (await page.locator("[data-testid=model-line]").textContent()) ?? "",
      /checkpoint/,
    );
    assert.deepEqual(browser.blocked, []);
    await shot(page, "first-open");
  });

  test("typed dates input: attention weight and logit equal the Node engine's", async () => {
    const text = "March 5, 2019";
    const tok = tokenizerFromJSON(
      JSON.parse(fs.readFileSync(path.join(ckpt, "tokenizer.json"), "utf8")),
    );
    await page.fill("[data-testid=src-input]", "");
    await page.locator("[data-testid=src-input]").pressSequentially(text);
    const want = JSON.stringify([...tok.encode(text), 2]);
    await page.waitForSelector(`#analysis-meta[data-src-ids="${want}"]`, {
      state: "attached",
      timeout: 20_000,
    });
    await idle(page);
    const { src, tgtIn } = await meta(page);
    assert.ok(tgtIn.length >= 1 && tgtIn[0] === 1);
    const { tensors, result } = noGrad(() =>
      recordIntermediates(() =>
        model.forward(
          fromArray(src, [1, src.length], "int32"),
          fromArray(tgtIn, [1, tgtIn.length], "int32"),
        ),
      ),
    );
    const logits = result.values();

    await page.click("[data-chapter=attention]");
    await page.selectOption("[data-testid=pick-block]", "cross");
    await page.selectOption("[data-testid=pick-layer]", "1");
    await page.selectOption("[data-testid=pick-head]", "2");
    const canvas = page.locator("[data-testid=attn-heatmap] canvas");
    await canvas.focus();
    for (const k of ["ArrowUp", "ArrowRight", "ArrowRight", "ArrowRight"]) await canvas.press(k);
    const cell = page.locator("[data-testid=attn-weight]");
    const name = (await cell.getAttribute("data-tensor"))!;
    const [b, h, i, j] = JSON.parse((await cell.getAttribute("data-index"))!) as number[];
    assert.equal(name, "decoder.layers.1.cross_attn.weights");
    assert.deepEqual([b, h, j], [0, 2, 3]);
    const rec = tensors.get(name)!;
    const [, H, Tq, Tk] = rec.shape;
    assert.equal(H, 4);
    const expected = rec.values[((b * H + h) * Tq + i) * Tk + j];
    const shown = await numberAt(page, "[data-testid=attn-weight]");
    assert.ok(Math.abs(shown - expected) < 1e-4, `attention weight ${shown} vs engine ${expected}`);
    // The data table behind the heatmap holds the same number.
    await page.click("[data-testid=attn-heatmap] figcaption button");
    const td = page.locator(`[data-testid=attn-heatmap] td[data-row="${i}"][data-col="${j}"]`);
    assert.ok(Math.abs(Number(await td.getAttribute("data-value")) - expected) < 1e-4);
    await shot(page, "03-attention");

    await page.click("[data-chapter=output]");
    const logit = page.locator("[data-testid=logit]").first();
    const pos = Number(await logit.getAttribute("data-pos"));
    const id = Number(await logit.getAttribute("data-id"));
    const V = logits.length / tgtIn.length;
    const engineLogit = logits[pos * V + id];
    const shownLogit = Number(await logit.getAttribute("data-value"));
    assert.ok(
      Math.abs(shownLogit - engineLogit) < 1e-4,
      `logit ${shownLogit} vs engine ${engineLogit}`,
    );
  });

  test("every chapter renders (screenshots)", async () => {
    const ids = await page
      .locator("nav.chapters button")
      .evaluateAll((bs) => bs.map((b) => b.getAttribute("data-chapter")!));
    assert.equal(ids.length, 11);
    for (const [n, id] of ids.entries()) {
      await page.click(`[data-chapter=${id}]`);
      await page.waitForSelector(`[data-testid=chapter-${id}]`);
      await shot(page, `${String(n).padStart(2, "0")}-${id}`);
    }
  });

  test("removing the causal mask changes the output", async () => {
    const before = await numberAt(page, "[data-testid=loss]");
    const guess = await page.locator("[data-testid=prediction]").textContent();
    await page.click("[data-chapter=masks]");
    await page.check("[data-testid=iv-noCausalMask]");
    await page.waitForSelector("[data-testid=iv-compare]", { timeout: 20_000 });
    await idle(page);
    const after = await numberAt(page, "[data-testid=loss]");
    const guessAfter = await page.locator("[data-testid=prediction]").textContent();
    assert.ok(
      Math.abs(after - before) > 1e-6 || guess !== guessAfter,
      "loss or guess should change",
    );
    assert.match(
      (await page.locator("[data-testid=iv-compare]").textContent()) ?? "",
      /causal mask/,
    );
    await shot(page, "11-intervention-no-causal-mask");
    await page.uncheck("[data-testid=iv-noCausalMask]");
    await page.waitForSelector("[data-testid=iv-compare]", { state: "detached", timeout: 20_000 });
    assert.ok(Math.abs((await numberAt(page, "[data-testid=loss]")) - before) < 1e-9);
  });

  test("live training lowers the displayed loss", async () => {
    await page.click("[data-chapter=training]");
    await page.selectOption("[data-testid=train-batch]", "8");
    await page.click("[data-testid=train-step]");
    const count = page.locator("[data-testid=train-step-count]");
    await page.waitForSelector('[data-testid=train-step-count][data-step="1"]', {
      timeout: 20_000,
    });
    const first = Number(await count.getAttribute("data-loss"));
    await page.click("[data-testid=train-start]");
    await page.waitForFunction(
      () =>
        Number(
          document.querySelector("[data-testid=train-step-count]")?.getAttribute("data-step"),
        ) >= 25,
      undefined,
      { timeout: 60_000 },
    );
    await page.click("[data-testid=train-start]");
    await page.waitForSelector("[data-testid=train-start]:has-text('Start')", { timeout: 20_000 });
    await page.waitForSelector("[data-testid=samples]", { timeout: 20_000 });
    // The views follow the model: the analysis on screen is of the model as trained so far.
    await page.waitForFunction(
      () =>
        document.querySelector("#analysis-meta")?.getAttribute("data-step") ===
        document.querySelector("[data-testid=train-step-count]")?.getAttribute("data-step"),
      undefined,
      { timeout: 20_000 },
    );
    const last = Number(await count.getAttribute("data-loss"));
    assert.ok(
      last < first,
      `loss after training ${last} should be below the first step's ${first}`,
    );
    await shot(page, "09-training-after-steps");
  });

  test("no console errors and no network outside 127.0.0.1", () => {
    assert.deepEqual(browser.errors, []);
    assert.deepEqual(browser.blocked, []);
  });
});
