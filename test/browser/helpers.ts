/**
 * Browser-test plumbing: Debian's Chromium driven by playwright-core (never a
 * downloaded browser), a fresh profile per run, all network except 127.0.0.1
 * aborted, and the explorer built when dist-web/ is missing or older than its
 * sources.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const DIST_WEB = path.join(REPO, "dist-web");
export const SCREENSHOTS = path.join(REPO, "test-artifacts", "screenshots");

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The Chromium binary, or an error that says how to install it. */
export function chromiumPath(): string {
  const candidates = [
    process.env.CHROMIUM_PATH,
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
  ].filter((p): p is string => typeof p === "string" && p !== "");
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(
      "browser tests need Debian's Chromium at /usr/bin/chromium (or CHROMIUM_PATH): run `apt-get install -y chromium` (CI's .ci/run installs it)",
    );
  }
  return found;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the explorer (`vite build`) unless dist-web/ is newer than web/ and src/. */
export function ensureBuilt(): void {
  const index = path.join(DIST_WEB, "index.html");
  const built = fs.existsSync(index) ? fs.statSync(index).mtimeMs : 0;
  const sources = Math.max(
    newestMtime(path.join(REPO, "web")),
    newestMtime(path.join(REPO, "src")),
  );
  if (built > sources) return;
  const vite = path.join(REPO, "node_modules", "vite", "bin", "vite.js");
  const r = spawnSync(
    process.execPath,
    [vite, "build", "--config", "web/vite.config.ts", "--logLevel", "error"],
    {
      cwd: REPO,
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(`building the explorer failed:\n${r.stdout}\n${r.stderr}`);
}

export interface Browser {
  context: BrowserContext;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  /** Requests to anything but 127.0.0.1 (aborted). */
  blocked: string[];
  close(): Promise<void>;
}

/** A fresh headless Chromium profile that can only reach 127.0.0.1. */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "attn-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 950 },
    reducedMotion: "reduce",
  });
  const errors: string[] = [];
  const blocked: string[] = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1") return route.continue();
    blocked.push(url.href);
    return route.abort();
  });
  const watch = (page: Page) => {
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
  };
  context.pages().forEach(watch);
  context.on("page", watch);
  return {
    context,
    errors,
    blocked,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Waits until the page's worker has answered everything asked of it. */
export async function idle(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid=status][data-busy="0"]', {
    state: "attached",
    timeout: 30_000,
  });
}

/** Whether the shipped checkpoints are in the repository (the suites that open them skip otherwise). */
export const SHIPPED = fs.existsSync(
  path.join(REPO, "web/public/checkpoints/dates/model.safetensors"),
);

export interface ShippedPage {
  browser: Browser;
  page: Page;
  url: string;
  close(): Promise<void>;
}

/**
 * The built explorer served on a free port with the shipped checkpoints, opened at
 * `query` (e.g. "?ckpt=dates&ch=masks") in a fresh browser, analysis done.
 */
export async function openShipped(
  query: string,
  viewport?: { width: number; height: number },
): Promise<ShippedPage> {
  ensureBuilt();
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  // Imported here so that helpers.ts stays loadable without the CLI's server code.
  const { startExploreServer } = await import("../../src/cli/explore.js");
  const server = await startExploreServer({ appDir: DIST_WEB, port: 0 });
  const browser = await launchBrowser();
  const page = await browser.context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  await page.goto(`${server.url}${query}`);
  await page.waitForSelector("#analysis-meta", { state: "attached", timeout: 30_000 });
  await idle(page);
  return {
    browser,
    page,
    url: server.url,
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}
