/**
 * `attn explore`: serves the built explorer (dist-web/, made by `npm run
 * build:web`), the shipped checkpoints listed in its
 * checkpoints/manifest.json, and optionally one checkpoint directory, on
 * 127.0.0.1 by default. It serves nothing else: request paths are
 * percent-decoded first, any `..` segment is refused (403), files must
 * resolve (symlinks included) inside their root, and from a checkpoint only
 * the files the page reads are served. The committed full runs of the
 * experiments (docs/concepts/results/NAME/results.json) are served read-only
 * under /experiments/NAME/results.json, for names of the registry only.
 * Responses carry COOP/COEP so the page is cross-origin isolated
 * (SharedArrayBuffer, for wasm threads later). No network access is made.
 */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { experimentNames } from "../experiments/index.js";
import { AttnError } from "../index.js";
import { resolveCheckpoint } from "./load.js";
import { intFlag } from "./options.js";

/** The checkpoint files the explorer reads (served under /checkpoint/). */
export const CHECKPOINT_FILES = ["config.json", "model.safetensors", "tokenizer.json"] as const;

/** docs/concepts/results/ at the repository root: the committed full runs of the experiments. */
export function defaultResultsDir(): string {
  return fileURLToPath(new URL("../../docs/concepts/results/", import.meta.url));
}

/** dist-web/ at the repository (or package) root: ../../dist-web from src/cli or dist/cli. */
export function defaultAppDir(): string {
  return fileURLToPath(new URL("../../dist-web/", import.meta.url));
}

export interface ExploreOptions {
  /** The built app (default dist-web/). */
  appDir?: string;
  checkpoint?: string | null;
  /** The shipped checkpoints: a folder with manifest.json (default: the app's checkpoints/). */
  checkpointsDir?: string | null;
  /** The experiments' full runs, NAME/results.json (attn explore: docs/concepts/results/; default none). */
  resultsDir?: string | null;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
}

export interface ExploreServer {
  server: http.Server;
  url: string;
  /** The folder of shipped checkpoints served under /checkpoints/ (null: none). */
  checkpointsDir: string | null;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
  ".safetensors": "application/octet-stream",
  ".txt": "text/plain; charset=utf-8",
};

const SECURITY_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/**
 * The decoded path segments of a request target, or a status to refuse it
 * with: 400 for bad percent-encoding, 403 for `..`, backslashes, NUL or an
 * absolute-URL target.
 */
export function requestSegments(target: string): string[] | 400 | 403 {
  if (!target.startsWith("/")) return 403;
  const raw = target.split(/[?#]/, 1)[0];
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return 400;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return 403;
  const segments = decoded.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.some((s) => s === "..")) return 403;
  return segments;
}

function realInside(root: string, file: string): boolean {
  try {
    const real = fs.realpathSync(file);
    const rel = path.relative(fs.realpathSync(root), real);
    return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
  } catch {
    return false;
  }
}

/** A manifest entry's directory: one plain segment ("dates" or "dates/"), or null. */
function entryDir(p: unknown): string | null {
  if (typeof p !== "string") return null;
  const d = p.endsWith("/") ? p.slice(0, -1) : p;
  return /^[A-Za-z0-9][\w.-]*$/.test(d) && !d.includes("..") ? d : null;
}

/**
 * The shipped checkpoints present in a folder: the manifest.json entries
 * whose directory holds all of CHECKPOINT_FILES, as name -> directory.
 */
export function shippedCheckpoints(dir: string | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!dir) return out;
  let manifest: { checkpoints?: { name?: unknown; path?: unknown }[] };
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
  } catch {
    return out;
  }
  for (const e of Array.isArray(manifest.checkpoints) ? manifest.checkpoints : []) {
    const sub = entryDir(e?.path);
    if (typeof e?.name !== "string" || !sub) continue;
    const files = CHECKPOINT_FILES.map((f) => path.join(dir, sub, f));
    if (files.every((f) => realInside(dir, f) && fs.statSync(f).isFile())) out.set(e.name, sub);
  }
  return out;
}

/** The experiments a results folder holds a full run of: registry names with NAME/results.json inside it. */
export function experimentRuns(
  dir: string | null,
  names: readonly string[] = experimentNames(),
): string[] {
  if (!dir) return [];
  return names.filter((n) => {
    const f = path.join(dir, n, "results.json");
    return realInside(dir, f) && fs.statSync(f).isFile();
  });
}

/** Checks the options and returns the resolved directories (AttnError with a one-line fix otherwise). */
export function checkExploreDirs(opts: ExploreOptions): {
  appDir: string;
  checkpoint: string | null;
  name: string | null;
  checkpointsDir: string | null;
  resultsDir: string | null;
} {
  const appDir = path.resolve(opts.appDir ?? defaultAppDir());
  if (!fs.existsSync(path.join(appDir, "index.html"))) {
    throw new AttnError(
      `the explorer is not built (no ${path.join(appDir, "index.html")}): run \`npm run build:web\` first`,
    );
  }
  let checkpoint: string | null = null;
  let name: string | null = null;
  if (opts.checkpoint) {
    // A checkpoint directory, or a run directory (its best/, else its last/), as attn translate takes.
    checkpoint = path.resolve(resolveCheckpoint(opts.checkpoint));
    name = path.relative(path.dirname(path.resolve(opts.checkpoint)), checkpoint);
    const missing = CHECKPOINT_FILES.filter((f) => !fs.existsSync(path.join(checkpoint!, f)));
    if (missing.length > 0) {
      throw new AttnError(`--checkpoint ${opts.checkpoint}: missing ${missing.join(", ")}`);
    }
  }
  let checkpointsDir: string | null = path.join(appDir, "checkpoints");
  if (opts.checkpointsDir) {
    checkpointsDir = path.resolve(opts.checkpointsDir);
    if (!fs.existsSync(path.join(checkpointsDir, "manifest.json"))) {
      throw new AttnError(`--checkpoints ${opts.checkpointsDir}: no manifest.json there`);
    }
  } else if (!fs.existsSync(checkpointsDir)) checkpointsDir = null;
  const resultsDir = opts.resultsDir ? path.resolve(opts.resultsDir) : null;
  return { appDir, checkpoint, name, checkpointsDir, resultsDir };
}

export function createExploreHandler(
  appDir: string,
  checkpoint: string | null,
  name: string | null = checkpoint ? path.basename(checkpoint) : null,
  checkpointsDir: string | null = null,
  resultsDir: string | null = null,
): http.RequestListener {
  return (req, res) => {
    const send = (status: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, {
        ...SECURITY_HEADERS,
        "Content-Type": type,
        "Cache-Control": "no-store",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      send(405, "method not allowed\n");
      return;
    }
    const segs = requestSegments(req.url ?? "/");
    if (segs === 400) return send(400, "bad request\n");
    if (segs === 403) return send(403, "forbidden\n");
    let root: string;
    let rel: string[];
    if (segs.length === 1 && segs[0] === "explore.json") {
      // Checked on every request: shipped checkpoints may be added while the server runs.
      const shipped = [...shippedCheckpoints(checkpointsDir).keys()];
      // Only when a results folder is served: the experiments with a full run there.
      const runs = resultsDir ? { experiments: experimentRuns(resultsDir) } : {};
      return send(200, JSON.stringify({ checkpoint: name, shipped, ...runs }), TYPES[".json"]);
    }
    if (segs[0] === "checkpoints") {
      // The shipped checkpoints: the manifest, and the known files of the entries it lists.
      if (!checkpointsDir) return send(404, "not found\n");
      const dirs = new Set(shippedCheckpoints(checkpointsDir).values());
      const ok =
        (segs.length === 2 && segs[1] === "manifest.json") ||
        (segs.length === 3 &&
          dirs.has(segs[1]) &&
          (CHECKPOINT_FILES as readonly string[]).includes(segs[2]));
      if (!ok) return send(404, "not found\n");
      root = checkpointsDir;
      rel = segs.slice(1);
    } else if (segs[0] === "experiments") {
      // Only NAME/results.json, and only for a name of the registry.
      if (
        !resultsDir ||
        segs.length !== 3 ||
        !experimentNames().includes(segs[1]) ||
        segs[2] !== "results.json"
      )
        return send(404, "not found\n");
      root = resultsDir;
      rel = [segs[1], "results.json"];
    } else if (segs[0] === "checkpoint") {
      if (
        !checkpoint ||
        segs.length !== 2 ||
        !(CHECKPOINT_FILES as readonly string[]).includes(segs[1])
      ) {
        return send(404, "not found\n");
      }
      root = checkpoint;
      rel = [segs[1]];
    } else {
      root = appDir;
      rel = segs.length === 0 ? ["index.html"] : segs;
    }
    const file = path.join(root, ...rel);
    if (!realInside(root, file)) return send(404, "not found\n");
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      return send(404, "not found\n");
    }
    if (!stat.isFile()) return send(404, "not found\n");
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream",
      "Content-Length": stat.size,
      "Cache-Control":
        rel[rel.length - 1] === "index.html" ||
        root === checkpoint ||
        root === checkpointsDir ||
        root === resultsDir
          ? "no-cache"
          : "max-age=3600",
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    fs.createReadStream(file)
      .on("error", () => res.destroy())
      .pipe(res);
  };
}

/** Starts the server; resolves once it listens. */
export async function startExploreServer(opts: ExploreOptions = {}): Promise<ExploreServer> {
  const { appDir, checkpoint, name, checkpointsDir, resultsDir } = checkExploreDirs(opts);
  const host = opts.host ?? "127.0.0.1";
  const server = http.createServer(
    createExploreHandler(appDir, checkpoint, name, checkpointsDir, resultsDir),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        e.code === "EADDRINUSE"
          ? new AttnError(`port ${opts.port} is in use: choose another with --port`)
          : e.code === "ENOTFOUND" || e.code === "EAI_AGAIN" || e.code === "EADDRNOTAVAIL"
            ? new AttnError(`--host ${host}: not an address of this machine (${e.code})`)
            : e,
      ),
    );
    server.listen(opts.port ?? 8787, host, () => resolve());
  });
  const addr = server.address() as { port: number; address: string };
  const shown = addr.address.includes(":") ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${shown}:${addr.port}/`,
    checkpointsDir,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function registerExplore(program: Command): void {
  program
    .command("explore")
    .description("serve the browser explorer (and optionally a checkpoint) on this machine")
    .option(
      "--checkpoint <dir>",
      "checkpoint directory to explore (config.json, model.safetensors, tokenizer.json)",
    )
    .option(
      "--checkpoints <dir>",
      "folder of shipped checkpoints with a manifest.json (default: the built app's checkpoints/)",
    )
    .option("--port <n>", "port (0 = any free port)", intFlag("port", 0, 65535), 8787)
    .option(
      "--host <h>",
      "address to listen on (other than 127.0.0.1 exposes the page to your network)",
      "127.0.0.1",
    )
    .action(
      async (opts: { checkpoint?: string; checkpoints?: string; port: number; host: string }) => {
        const s = await startExploreServer({
          checkpoint: opts.checkpoint ?? null,
          checkpointsDir: opts.checkpoints ?? null,
          resultsDir: defaultResultsDir(),
          port: opts.port,
          host: opts.host,
        });
        process.stdout.write(`Attention Lab explorer: ${s.url}\n`);
        if (!isLoopback(opts.host))
          process.stderr.write(
            `attn: warning: --host ${opts.host} serves the explorer to your network, not only to this machine\n`,
          );
        if (opts.checkpoint) {
          process.stdout.write(`checkpoint: ${resolveCheckpoint(opts.checkpoint)}\n`);
        }
        const shipped = [...shippedCheckpoints(s.checkpointsDir).keys()];
        if (shipped.length > 0)
          process.stdout.write(`shipped checkpoints: ${shipped.join(", ")}\n`);
        const runs = experimentRuns(defaultResultsDir());
        if (runs.length > 0) process.stdout.write(`experiments' full runs: ${runs.join(", ")}\n`);
        process.stdout.write("Press Ctrl+C to stop.\n");
        await new Promise<void>((resolve) => {
          process.once("SIGINT", () => void s.close().then(resolve));
          process.once("SIGTERM", () => void s.close().then(resolve));
        });
      },
    );
}

/** 127.0.0.0/8, ::1 and localhost: the addresses only this machine reaches. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
