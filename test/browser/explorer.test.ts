/**
 * The explorer in Debian's Chromium, served by attn explore's server with
 * shipped checkpoints made here (the repository's manifest, small models),
 * offline (everything but 127.0.0.1 is aborted): the page opens the shipped
 * dates model, displayed numbers equal the Node engine's (encoder-decoder and
 * GPT), training lowers the loss, removing the causal mask changes the
 * output, --checkpoint takes precedence, no console errors, and a screenshot
 * of every chapter (and of every GPT view) lands in
 * test-artifacts/screenshots/. When the real shipped checkpoints are built
 * into dist-web/, the default page must translate its date correctly.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { type ExploreServer, startExploreServer } from "../../src/cli/explore.js";
import { importToCheckpoint } from "../../src/cli/interop.js";
import { getTask } from "../../src/data/tasks.js";
import { makeSeq2SeqBatch } from "../../src/data/batching.js";
import { readSafetensorsFile, serializeSafetensors, toFloat32 } from "../../src/io/safetensors.js";
import {
  type EncoderDecoderConfig,
  type GPTConfig,
  presetConfig,
} from "../../src/models/config.js";
import { GPT } from "../../src/models/gpt.js";
import type { Module } from "../../src/nn/module.js";
import { Transformer } from "../../src/models/transformer.js";
import { recordIntermediates } from "../../src/nn/hooks.js";
import { fromArray, Mulberry32, noGrad, tidy } from "../../src/tensor/index.js";
import {
  type Tokenizer,
  tokenizerFromJSON,
  trainCharTokenizer,
} from "../../src/tokenizers/index.js";
import { Adam } from "../../src/train/optim.js";
import {
  type Browser,
  DIST_WEB,
  ensureBuilt,
  launchBrowser,
  REPO,
  SCREENSHOTS,
  idle,
} from "./helpers.js";

/** Writes attn's checkpoint files: the run config, the tokenizer and the weights. */
function writeCheckpoint(dir: string, model: Module, tok: Tokenizer, config: object): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
  fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(tok.toJSON()));
  const tensors = new Map(
    model
      .namedParameters()
      .map(([n, p]) => [
        n,
        { dtype: "F32" as const, shape: [...p.shape], data: Float32Array.from(p.readSync()) },
      ]),
  );
  fs.writeFileSync(
    path.join(dir, "model.safetensors"),
    serializeSafetensors(tensors, { format: "pt" }),
  );
}

/** The parts of attn train's run config the page reads. */
function runConfig(model: object, data: object): object {
  return { format: "attention-lab-run", version: 1, model, data, train: { steps: 8, seed: 1 } };
}

const KJV =
  "In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters.\n";

/** A small character-level GPT: seeded init plus a few Adam steps on a verse. */
function makeGptCheckpoint(dir: string): void {
  const tok = trainCharTokenizer([KJV]);
  const cfg = presetConfig("gpt-tiny", {
    vocabSize: tok.vocabSize,
    dModel: 32,
    heads: 2,
    dFF: 64,
    layers: 2,
    dropout: 0,
    attnDropout: 0,
    maxLen: 64,
    seed: 3,
  } as Partial<GPTConfig>) as GPTConfig;
  const model = new GPT(cfg);
  const ids = tok.encode(KJV);
  const opt = new Adam(model.parameters(), { lr: 3e-3 });
  const rng = new Mulberry32(9);
  const T = 24;
  for (let s = 0; s < 6; s++) {
    const starts = Array.from({ length: 4 }, () =>
      Math.floor(rng.uniform() * (ids.length - T - 1)),
    );
    const x = starts.flatMap((i) => ids.slice(i, i + T));
    const y = starts.flatMap((i) => ids.slice(i + 1, i + T + 1));
    tidy(() => {
      const { loss } = model.loss(fromArray(x, [4, T], "int32"), fromArray(y, [4, T], "int32"));
      loss.backward();
      opt.step();
      opt.zeroGrad();
    });
  }
  writeCheckpoint(
    dir,
    model,
    tok,
    runConfig(cfg, { kind: "text", path: "kjv.txt", holdout: 0.05, evalSize: 50 }),
  );
}

/** An untrained reverse model with the given positions (enough to render the comparison). */
function makeReverseCheckpoint(dir: string, positional: "sinusoidal" | "learned"): void {
  const tok = trainCharTokenizer([], { alphabet: getTask("reverse").alphabet });
  const cfg = presetConfig("s2s-tiny", {
    vocabSize: tok.vocabSize,
    dModel: 16,
    heads: 2,
    dFF: 32,
    encoderLayers: 1,
    decoderLayers: 1,
    dropout: 0,
    maxLen: 32,
    positional,
    seed: 4,
  } as Partial<EncoderDecoderConfig>) as EncoderDecoderConfig;
  writeCheckpoint(
    dir,
    new Transformer(cfg),
    tok,
    runConfig(cfg, { kind: "task", task: "reverse" }),
  );
}

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
  writeCheckpoint(dir, model, tok, runConfig(cfg, { kind: "task", task: "dates" }));
}

/** The same checkpoint, loaded by the Node engine the way the CLI would. */
function loadInNode<M extends Transformer | GPT>(dir: string, make: (cfg: never) => M): M {
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")).model;
  const model = make(cfg as never);
  const file = readSafetensorsFile(path.join(dir, "model.safetensors"));
  model.loadStateDict(
    new Map([...file.tensors].map(([n, t]) => [n, { shape: t.shape, values: toFloat32(t, n) }])),
  );
  model.eval();
  return model;
}

async function meta(page: Page): Promise<{ src: number[]; tgtIn: number[] }> {
  const el = page.locator("#analysis-meta");
  return {
    src: JSON.parse((await el.getAttribute("data-src-ids")) ?? "[]"),
    tgtIn: JSON.parse((await el.getAttribute("data-tgt-in")) ?? "[]"),
  };
}

/** A page opened on a server, once its first analysis is on screen. */
async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(url);
  await page.waitForSelector("#analysis-meta", { state: "attached", timeout: 30_000 });
  await idle(page);
  return page;
}

/** The real shipped checkpoints, when they are built into dist-web/. */
const REAL = path.join(DIST_WEB, "checkpoints");
const realHas = (name: string) => fs.existsSync(path.join(REAL, name, "model.safetensors"));
/** Decided when the file loads, before the app is built: look at the sources Vite copies into dist-web. */
const shippedInSource = (name: string) =>
  fs.existsSync(path.join(REPO, "web/public/checkpoints", name, "model.safetensors"));

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

async function numberAt(page: Page, selector: string): Promise<number> {
  return Number(await page.locator(selector).first().getAttribute("data-value"));
}

describe("explorer in Chromium", { timeout: 110_000 }, () => {
  let tmp: string;
  let shipped: string;
  let ckpt: string;
  let gptDir: string;
  let server: ExploreServer;
  let browser: Browser;
  let page: Page;
  let model: Transformer;

  before(async () => {
    ensureBuilt();
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "attn-explorer-"));
    // The repository's manifest, with small checkpoints made here in place of the shipped ones.
    shipped = path.join(tmp, "checkpoints");
    fs.mkdirSync(shipped);
    fs.copyFileSync(
      path.join(REPO, "web", "public", "checkpoints", "manifest.json"),
      path.join(shipped, "manifest.json"),
    );
    ckpt = path.join(shipped, "dates");
    gptDir = path.join(shipped, "kjv-gpt");
    makeCheckpoint(ckpt);
    makeGptCheckpoint(gptDir);
    makeReverseCheckpoint(path.join(shipped, "reverse-sinusoidal"), "sinusoidal");
    makeReverseCheckpoint(path.join(shipped, "reverse-learned"), "learned");
    model = loadInNode(ckpt, (c: EncoderDecoderConfig) => new Transformer(c));
    // No --checkpoint: the page must open the shipped dates model by itself.
    server = await startExploreServer({ appDir: DIST_WEB, checkpointsDir: shipped, port: 0 });
    browser = await launchBrowser();
    page = await openPage(browser, server.url);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("opens the shipped dates checkpoint by default, offline; the manifest fills the picker", async () => {
    assert.match(
      (await page.locator("[data-testid=model-line]").textContent()) ?? "",
      /checkpoint “dates”, dates task/,
    );
    assert.equal(await page.locator("#analysis-meta").getAttribute("data-model"), "dates");
    assert.match(page.url(), /[?&]ckpt=dates(&|$)/);
    const options = await page
      .locator("[data-testid=model-pick] option")
      .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    assert.deepEqual(options, [
      "shipped:dates",
      "shipped:reverse-sinusoidal",
      "shipped:reverse-learned",
      "shipped:kjv-gpt",
      "fresh",
    ]);
    assert.match((await page.locator("[data-testid=model-note]").textContent()) ?? "", /ISO dates/);
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
    const logits = result.readSync();

    await page.click("[data-chapter=attention]");
    await page.selectOption("[data-testid=pick-block]", "cross");
    // By value (the tap's 0-based index): the page labels layers and heads from 1.
    await page.selectOption("[data-testid=pick-layer]", { value: "1" });
    await page.selectOption("[data-testid=pick-head]", { value: "2" });
    const canvas = page.locator("[data-testid=attn-heatmap] canvas");
    await canvas.focus();
    // Home: the first key (the chapter opens on the row's largest weight).
    for (const k of ["ArrowUp", "Home", "ArrowRight", "ArrowRight", "ArrowRight"])
      await canvas.press(k);
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
      if (id === "positional") {
        // The shipped sinusoidal and learned reverse models side by side, with and without positions.
        for (const side of ["reverse-sinusoidal", "reverse-learned"]) {
          await page.waitForSelector(`[data-testid=pos-side-${side}] [data-testid=pos-out-nopos]`, {
            timeout: 20_000,
          });
        }
      }
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
    // The PCA kept the frames it was drawn at: each token trails its last positions.
    assert.ok((await page.locator("[data-testid=pca] polyline.trail").count()) > 0, "PCA trails");
    await shot(page, "09-training-after-steps");
  });

  test("a GPT checkpoint: typed prompt, logit equals the Node engine's, every view renders", async () => {
    const gpt = loadInNode(gptDir, (c: GPTConfig) => new GPT(c));
    const tok = tokenizerFromJSON(
      JSON.parse(fs.readFileSync(path.join(gptDir, "tokenizer.json"), "utf8")),
    );
    await page.selectOption("[data-testid=model-pick]", "shipped:kjv-gpt");
    await page.waitForSelector('#analysis-meta[data-kind="gpt"]', {
      state: "attached",
      timeout: 30_000,
    });
    await idle(page);
    assert.match(
      (await page.locator("[data-testid=model-line]").textContent()) ?? "",
      /GPT language model/,
    );
    // No target box and no training for a GPT.
    assert.equal(await page.locator("[data-testid=tgt-input]").count(), 0);
    assert.ok(await page.locator("[data-testid=train-toggle]").isDisabled());
    const prompt = "And God moved upon the";
    await page.fill("[data-testid=src-input]", "");
    await page.locator("[data-testid=src-input]").pressSequentially(prompt);
    const ids = tok.encode(prompt);
    await page.waitForSelector(`#analysis-meta[data-src-ids="${JSON.stringify(ids)}"]`, {
      state: "attached",
      timeout: 20_000,
    });
    await idle(page);
    const logits = noGrad(() =>
      tidy(() => gpt.forward(fromArray(ids, [1, ids.length], "int32")).readSync()),
    );
    const V = logits.length / ids.length;
    await page.click("[data-chapter=output]");
    const logit = page.locator("[data-testid=logit]").first();
    const pos = Number(await logit.getAttribute("data-pos"));
    const id = Number(await logit.getAttribute("data-id"));
    assert.equal(pos, ids.length - 1, "a GPT's output view opens on the prompt's last position");
    const shownLogit = Number(await logit.getAttribute("data-value"));
    assert.ok(
      Math.abs(shownLogit - logits[pos * V + id]) < 1e-4,
      `GPT logit ${shownLogit} vs engine ${logits[pos * V + id]}`,
    );
    const ids11 = await page
      .locator("nav.chapters button")
      .evaluateAll((bs) => bs.map((b) => b.getAttribute("data-chapter")!));
    for (const [n, ch] of ids11.entries()) {
      await page.click(`[data-chapter=${ch}]`);
      await page.waitForSelector(`[data-testid=chapter-${ch}]`);
      await shot(page, `gpt-${String(n).padStart(2, "0")}-${ch}`);
    }
    // Only causal self-attention: no cross-attention anywhere.
    await page.click("[data-chapter=multihead]");
    assert.equal(await page.getByText("Cross-attention (decoder → encoder)").count(), 0);
    await page.click("[data-chapter=masks]");
    assert.equal(await page.locator("[data-testid=mask-src-batch]").count(), 0);
    await page.waitForSelector("[data-testid=mask-mask]");
    // Sampling: the step-by-step view shows the distribution each token was drawn from.
    await page.click("[data-chapter=decoding]");
    await page.check("[data-testid=gen-sample]");
    await page.waitForSelector("[data-testid=decode-sampled]", { timeout: 20_000 });
    await shot(page, "gpt-10-decoding-sampled");
  });

  test("imported Hugging Face checkpoints (Marian, GPT-2) open and every chapter renders", async () => {
    for (const [family, fixture, text] of [
      ["hf-marian", "marian", "Y dijo Dios: Sea la luz."],
      ["hf-gpt2", "gpt2", "And God said"],
    ] as const) {
      const dir = path.join(tmp, `imported-${fixture}`);
      const imp = importToCheckpoint(
        family,
        path.join(REPO, "test", "fixtures", "hf", fixture),
        dir,
      );
      const s = await startExploreServer({ appDir: DIST_WEB, checkpoint: dir, port: 0 });
      try {
        const p = await openPage(browser, s.url);
        await p.fill("[data-testid=src-input]", "");
        await p.locator("[data-testid=src-input]").pressSequentially(text);
        // The page tokenizes as the imported tokenizer does (Marian: SentencePiece, then its EOS).
        const ids = imp.tokenizer!.encode(text, { eos: family === "hf-marian" });
        await p.waitForSelector(`#analysis-meta[data-src-ids="${JSON.stringify(ids)}"]`, {
          state: "attached",
          timeout: 30_000,
        });
        await idle(p);
        const chapters = await p
          .locator("nav.chapters button")
          .evaluateAll((bs) => bs.map((b) => b.getAttribute("data-chapter")!));
        for (const ch of chapters) {
          await p.click(`[data-chapter=${ch}]`);
          await p.waitForSelector(`[data-testid=chapter-${ch}]`);
        }
        await shot(p, `imported-${fixture}`);
        await p.close();
      } finally {
        await s.close();
      }
    }
  });

  test("--checkpoint takes precedence over the shipped checkpoints", async () => {
    const s = await startExploreServer({
      appDir: DIST_WEB,
      checkpoint: gptDir,
      checkpointsDir: shipped,
      port: 0,
    });
    try {
      const p = await openPage(browser, s.url);
      assert.equal(await p.locator("#analysis-meta").getAttribute("data-model"), "served");
      assert.equal(await p.locator("#analysis-meta").getAttribute("data-kind"), "gpt");
      await p.close();
    } finally {
      await s.close();
    }
  });

  test("the real shipped checkpoints: the first page translates its date correctly", {
    skip: !shippedInSource("dates") && "no shipped checkpoints in web/public/checkpoints",
  }, async () => {
    const s = await startExploreServer({ appDir: DIST_WEB, port: 0 });
    try {
      const p = await openPage(browser, s.url);
      assert.equal(await p.locator("#analysis-meta").getAttribute("data-model"), "dates");
      const target = await p.locator("[data-testid=tgt-input]").inputValue();
      assert.equal((await p.locator("[data-testid=output]").textContent())?.trim(), target);
      // `attn explore` serves the page cross-origin isolated: the worker runs the threaded wasm kernels.
      assert.match((await p.locator("header.top").textContent()) ?? "", /wasm · \d+ threads?/);
      await shot(p, "shipped-first-open");
      if (realHas("reverse-sinusoidal") && realHas("reverse-learned")) {
        await p.click("[data-chapter=positional]");
        for (const side of ["reverse-sinusoidal", "reverse-learned"]) {
          const col = `[data-testid=pos-side-${side}]`;
          await p.waitForSelector(`${col} [data-testid=pos-out-nopos]`, { timeout: 20_000 });
          assert.equal(
            await p.locator(`${col} [data-testid=pos-out]`).getAttribute("data-ok"),
            "true",
          );
          assert.equal(
            await p.locator(`${col} [data-testid=pos-out-nopos]`).getAttribute("data-ok"),
            "false",
          );
        }
        await shot(p, "shipped-positions-compare");
      }
      await p.close();
    } finally {
      await s.close();
    }
  });

  test("no console errors and no network outside 127.0.0.1", () => {
    assert.deepEqual(browser.errors, []);
    assert.deepEqual(browser.blocked, []);
  });
});
