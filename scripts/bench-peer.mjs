#!/usr/bin/env node
/**
 * `npm run bench:peer`: the PyTorch peer (../shared/bench/peer_pytorch.py) and
 * `attn bench` on the same workloads, alternately (peer, ours, peer, ours, ...),
 * in the peer's best environment (../shared/bench/README.md: OPENBLAS_CORETYPE
 * and OPENBLAS_L2_SIZE unset, OMP_WAIT_POLICY=passive,
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1, for both sides), then a table per
 * workload: medians over rounds of each run's median, the ratio ours/peer, and
 * peak RSS of both. Each run is one process running one workload.
 *
 *   node scripts/bench-peer.mjs [--config NAME|all] [--rounds N] [--steps N] [--warmup N]
 *                               [--json] [--plain] [--dev] [--python PATH] [--peer PATH]
 *
 * --json prints one JSON object per workload on stdout (the table then goes to stderr).
 * --plain keeps the calling environment as it is (label such numbers "plain environment").
 * --dev runs ours from source with tsx instead of the built dist/ (npm run build).
 */
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CONFIGS = [
  "s2s-small-train",
  "s2s-base-train",
  "gpt-small-train",
  "gpt-small-decode",
  "gpt-small-decode-nocache",
  "s2s-small-translate",
];
/** Above this, other processes competed for the CPU while a run was timing. */
const OTHER_PROCS_LIMIT = 0.1;

function usage(msg) {
  if (msg) process.stderr.write(`bench-peer: ${msg}\n`);
  process.stderr.write(
    "usage: node scripts/bench-peer.mjs [--config NAME|all] [--rounds N] [--steps N] [--warmup N]\n" +
      "                                   [--json] [--plain] [--dev] [--python PATH] [--peer PATH]\n",
  );
  process.exit(msg ? 2 : 0);
}

function parseArgs(argv) {
  const o = {
    config: "all",
    rounds: 3,
    steps: undefined,
    warmup: undefined,
    json: false,
    plain: false,
    dev: false,
    python: "/usr/bin/python3",
    peer: resolve(ROOT, "..", "shared", "bench", "peer_pytorch.py"),
  };
  const int = (name, v, min) => {
    if (!/^\d+$/.test(v ?? "") || Number(v) < min) usage(`${name} must be an integer >= ${min}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--config") o.config = val();
    else if (a === "--rounds") o.rounds = int(a, val(), 1);
    else if (a === "--steps") o.steps = int(a, val(), 1);
    else if (a === "--warmup") o.warmup = int(a, val(), 0);
    else if (a === "--python") o.python = val();
    else if (a === "--peer") o.peer = resolve(val());
    else if (a === "--json") o.json = true;
    else if (a === "--plain") o.plain = true;
    else if (a === "--dev") o.dev = true;
    else if (a === "-h" || a === "--help") usage();
    else usage(`unknown option ${a}`);
  }
  if (o.config !== "all" && !CONFIGS.includes(o.config)) {
    usage(`unknown config "${o.config}"; choose from ${CONFIGS.join(", ")} or all`);
  }
  return o;
}

/** The peer's best environment (README "What moves the peer's numbers"), for both sides. */
function benchEnv(plain) {
  const env = { ...process.env };
  if (plain) return env;
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  env.OMP_WAIT_POLICY = "passive";
  env.GLIBC_TUNABLES = "glibc.malloc.hugetlb=1";
  return env;
}

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round = (x, d) =>
  x === null || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d;

/** One process, one workload: its JSON result, other_procs_cores, and stderr lines worth keeping. */
function runSide(side, cmd, args, env, config) {
  const t0 = Date.now();
  const p = spawnSync(cmd, args, {
    cwd: ROOT,
    env,
    encoding: "utf8",
    maxBuffer: 64 * 2 ** 20,
  });
  const wall = (Date.now() - t0) / 1000;
  if (p.error || p.status !== 0) {
    process.stderr.write(p.stderr ?? "");
    throw new Error(
      `${side} failed on ${config}: ${p.error?.message ?? `exit code ${p.status}, signal ${p.signal}`}\n  ${cmd} ${args.join(" ")}`,
    );
  }
  const result = p.stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l))
    .find((r) => r.config === config);
  if (!result) throw new Error(`${side} printed no JSON result for ${config}:\n${p.stdout}`);
  const lines = p.stderr.split("\n");
  const summary = lines.find((l) => l.startsWith(`# ${config}:`)) ?? "";
  const header = lines.find((l) => l.startsWith("# peer_pytorch") || l.startsWith("# attn-bench"));
  const m = /other_procs_cores=(\S+)/.exec(summary);
  const other = m && Number.isFinite(Number(m[1])) ? Number(m[1]) : null;
  return { result, other, summary, header, wall };
}

function pad(s, n, left = false) {
  const t = String(s);
  return left ? t.padEnd(n) : t.padStart(n);
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(o.peer)) throw new Error(`peer script not found: ${o.peer} (use --peer PATH)`);
  const dist = join(ROOT, "dist", "cli", "main.js");
  if (!o.dev) {
    if (!existsSync(dist))
      throw new Error("dist/ is not built: run `npm run build` (or pass --dev)");
    const built = join(ROOT, "dist", "cli", "bench.js");
    const src = join(ROOT, "src", "cli", "bench.ts");
    if (!existsSync(built)) throw new Error("dist/ has no bench command: run `npm run build`");
    if (statSync(src).mtimeMs > statSync(built).mtimeMs) {
      process.stderr.write(
        "# warning: src/cli/bench.ts is newer than dist/: run `npm run build`\n",
      );
    }
  }
  const env = benchEnv(o.plain);
  const envLabel = o.plain ? "plain environment (as called)" : "peer's best environment";
  const names = o.config === "all" ? CONFIGS : [o.config];
  const extra = [];
  if (o.steps !== undefined) extra.push("--steps", String(o.steps));
  if (o.warmup !== undefined) extra.push("--warmup", String(o.warmup));
  const sides = {
    peer: (c) => [o.python, [o.peer, "--json", "--config", c, ...extra]],
    ours: (c) =>
      o.dev
        ? [
            process.execPath,
            ["--import", "tsx", "src/cli/main.ts", "bench", "--json", "--config", c, ...extra],
          ]
        : [process.execPath, ["bin/attn.js", "bench", "--json", "--config", c, ...extra]],
  };
  const show = (envKeys) =>
    envKeys.map((k) => `${k}=${env[k] === undefined ? "<unset>" : env[k]}`).join(" ");
  process.stderr.write(
    `# bench-peer: ${envLabel}: ${show(["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_WAIT_POLICY", "GLIBC_TUNABLES"])}\n` +
      `# rounds=${o.rounds} configs=${names.join(",")} order per round and workload: peer, ours` +
      `${o.steps !== undefined ? ` steps=${o.steps}` : ""}${o.warmup !== undefined ? ` warmup=${o.warmup}` : ""}\n`,
  );

  const runs = Object.fromEntries(names.map((n) => [n, { peer: [], ours: [] }]));
  const headers = {};
  for (let r = 1; r <= o.rounds; r++) {
    for (const c of names) {
      for (const side of ["peer", "ours"]) {
        const [cmd, args] = sides[side](c);
        const run = runSide(side, cmd, args, env, c);
        if (!headers[side] && run.header) {
          headers[side] = run.header;
          process.stderr.write(`${run.header}\n`);
        }
        runs[c][side].push(run);
        process.stderr.write(
          `# round ${r} ${pad(side, 4, true)} ${pad(c, 25, true)} median=${run.result.median} ${run.result.unit} ` +
            `peak_rss_mb=${run.result.peak_rss_mb} other_procs_cores=${run.other} wall=${run.wall.toFixed(1)}s\n`,
        );
      }
    }
  }

  const rows = names.map((c) => {
    const { peer, ours } = runs[c];
    const pm = median(peer.map((x) => x.result.median));
    const om = median(ours.map((x) => x.result.median));
    const prss = Math.max(...peer.map((x) => x.result.peak_rss_mb));
    const orss = Math.max(...ours.map((x) => x.result.peak_rss_mb));
    return {
      config: c,
      metric: peer[0].result.metric,
      unit: peer[0].result.unit,
      environment: o.plain ? "plain" : "best",
      rounds: o.rounds,
      peer_median: round(pm, 2),
      ours_median: round(om, 2),
      ratio: round(om / pm, 3),
      peer_medians: peer.map((x) => x.result.median),
      ours_medians: ours.map((x) => x.result.median),
      peer_peak_rss_mb: prss,
      ours_peak_rss_mb: orss,
      rss_ratio: round(orss / prss, 3),
      peer_other_procs_cores: peer.map((x) => x.other),
      ours_other_procs_cores: ours.map((x) => x.other),
      ours_metric_matches: ours.every((x) => x.result.metric === peer[0].result.metric),
    };
  });

  const out = o.json ? process.stderr : process.stdout;
  const head =
    `${pad("config", 25, true)} ${pad("metric", 19, true)} ${pad("peer", 10)} ${pad("ours", 10)} ` +
    `${pad("ours/peer", 9)} ${pad("peer_rss", 9)} ${pad("ours_rss", 9)} ${pad("rss o/p", 7)}  other_procs_cores peer | ours`;
  const lines = [
    `# ${envLabel}; medians of ${o.rounds} run medians, tokens/s; peak RSS in MiB (max over runs)`,
    head,
  ];
  for (const w of rows) {
    const f = (x) => (x === null ? "?" : x.toFixed(1));
    lines.push(
      `${pad(w.config, 25, true)} ${pad(w.metric, 19, true)} ${pad(f(w.peer_median), 10)} ${pad(f(w.ours_median), 10)} ` +
        `${pad(w.ratio === null ? "?" : w.ratio.toFixed(3), 9)} ${pad(f(w.peer_peak_rss_mb), 9)} ${pad(f(w.ours_peak_rss_mb), 9)} ` +
        `${pad(w.rss_ratio === null ? "?" : w.rss_ratio.toFixed(2), 7)}  ${w.peer_other_procs_cores.join(",")} | ${w.ours_other_procs_cores.join(",")}`,
    );
  }
  out.write(`${lines.join("\n")}\n`);
  if (o.json) for (const w of rows) process.stdout.write(`${JSON.stringify(w)}\n`);

  const busy = rows.flatMap((w) =>
    [...w.peer_other_procs_cores, ...w.ours_other_procs_cores]
      .filter((x) => x === null || x > OTHER_PROCS_LIMIT)
      .map((x) => `${w.config}:${x}`),
  );
  if (busy.length > 0) {
    process.stderr.write(
      `# WARNING: other processes used CPU while timing (other_procs_cores > ${OTHER_PROCS_LIMIT} or unknown: ${busy.join(" ")}). ` +
        "Discard these numbers and repeat on a quiet machine.\n",
    );
  }
  for (const w of rows) {
    if (!w.ours_metric_matches)
      process.stderr.write(`# WARNING: ${w.config}: metric names differ\n`);
  }
}

try {
  main();
} catch (e) {
  process.stderr.write(`bench-peer: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
