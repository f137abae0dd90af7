/** attn explore's server: only its own files, the shipped and the named checkpoints, loopback by default, no traversal. */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { AttnError } from "../../src/errors.js";
import {
  type ExploreServer,
  isLoopback,
  requestSegments,
  startExploreServer,
} from "../../src/cli/explore.js";

/** A raw GET: the path is sent exactly as given (fetch would normalise `..` away). */
function get(
  base: string,
  rawPath: string,
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: rawPath, method: "GET" },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("attn explore server", () => {
  let root: string;
  let app: string;
  let ckpt: string;
  let server: ExploreServer;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "attn-explore-"));
    app = path.join(root, "app");
    ckpt = path.join(root, "ckpt");
    fs.mkdirSync(path.join(app, "assets"), { recursive: true });
    fs.mkdirSync(ckpt);
    fs.writeFileSync(path.join(app, "index.html"), "<!doctype html><title>app</title>");
    fs.writeFileSync(path.join(app, "assets", "main.js"), "console.log(1)");
    fs.writeFileSync(path.join(root, "secret.txt"), "SECRET");
    for (const f of [
      "config.json",
      "model.safetensors",
      "tokenizer.json",
      "optimizer.safetensors",
    ]) {
      fs.writeFileSync(path.join(ckpt, f), f === "config.json" ? '{"kind":"encdec"}' : "x");
    }
    fs.symlinkSync(path.join(root, "secret.txt"), path.join(app, "link.txt"));
    // Shipped checkpoints: "one" is complete, "two" has no files, "bad" points outside.
    const shipped = path.join(app, "checkpoints");
    fs.mkdirSync(path.join(shipped, "one"), { recursive: true });
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "optimizer.safetensors"])
      fs.writeFileSync(path.join(shipped, "one", f), f === "config.json" ? '{"one":1}' : "x");
    fs.writeFileSync(
      path.join(shipped, "manifest.json"),
      JSON.stringify({
        checkpoints: [
          { name: "one", path: "one/" },
          { name: "two", path: "two/" },
          { name: "bad", path: "../../ckpt/" },
        ],
      }),
    );
    server = await startExploreServer({ appDir: app, checkpoint: ckpt, port: 0 });
  });

  after(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("binds 127.0.0.1 by default and prints that URL", () => {
    const addr = server.server.address() as { address: string };
    assert.equal(addr.address, "127.0.0.1");
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  test("a --host beyond loopback is told apart (the CLI warns); an unknown host is one clean error", async () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) assert.ok(isLoopback(h), h);
    for (const h of ["0.0.0.0", "::", "192.168.1.5", "example.invalid"])
      assert.ok(!isLoopback(h), h);
    await assert.rejects(
      startExploreServer({ appDir: app, port: 0, host: "example.invalid" }),
      (e: unknown) =>
        e instanceof AttnError && /--host example\.invalid: not an address/.test(e.message),
    );
  });

  test("serves the app with cross-origin isolation headers", async () => {
    const r = await get(server.url, "/");
    assert.equal(r.status, 200);
    assert.match(r.body, /<title>app<\/title>/);
    assert.equal(r.headers["cross-origin-opener-policy"], "same-origin");
    assert.equal(r.headers["cross-origin-embedder-policy"], "require-corp");
    assert.match(String(r.headers["content-type"]), /text\/html/);
    assert.equal((await get(server.url, "/assets/main.js")).status, 200);
    assert.equal((await get(server.url, "/assets/main.js?v=1")).status, 200);
  });

  test("serves the checkpoint's known files only, and says there is one", async () => {
    assert.equal((await get(server.url, "/checkpoint/config.json")).body, '{"kind":"encdec"}');
    assert.equal((await get(server.url, "/checkpoint/model.safetensors")).status, 200);
    assert.equal((await get(server.url, "/checkpoint/optimizer.safetensors")).status, 404);
    assert.equal((await get(server.url, "/checkpoint/")).status, 404);
    assert.deepEqual(JSON.parse((await get(server.url, "/explore.json")).body), {
      checkpoint: "ckpt",
      shipped: ["one"],
    });
  });

  test("serves the manifest and the known files of the shipped checkpoints present", async () => {
    const m = await get(server.url, "/checkpoints/manifest.json");
    assert.equal(m.status, 200);
    assert.equal(JSON.parse(m.body).checkpoints.length, 3);
    assert.equal((await get(server.url, "/checkpoints/one/config.json")).body, '{"one":1}');
    assert.equal((await get(server.url, "/checkpoints/one/model.safetensors")).status, 200);
    for (const p of [
      "/checkpoints/one/optimizer.safetensors",
      "/checkpoints/two/config.json",
      "/checkpoints/one/",
      "/checkpoints/",
      "/checkpoints/bad/config.json",
    ]) {
      assert.equal((await get(server.url, p)).status, 404, p);
    }
    for (const p of ["/checkpoints/../ckpt/config.json", "/checkpoints/..%2f..%2fsecret.txt"])
      assert.equal((await get(server.url, p)).status, 403, p);
  });

  test("--checkpoints DIR serves another folder of shipped checkpoints", async () => {
    const other = path.join(root, "other");
    fs.mkdirSync(path.join(other, "gpt"), { recursive: true });
    for (const f of ["config.json", "model.safetensors", "tokenizer.json"])
      fs.writeFileSync(path.join(other, "gpt", f), f === "config.json" ? '{"gpt":1}' : "x");
    fs.writeFileSync(
      path.join(other, "manifest.json"),
      JSON.stringify({ checkpoints: [{ name: "kjv-gpt", path: "gpt" }] }),
    );
    const s = await startExploreServer({ appDir: app, checkpointsDir: other, port: 0 });
    try {
      assert.deepEqual(JSON.parse((await get(s.url, "/explore.json")).body), {
        checkpoint: null,
        shipped: ["kjv-gpt"],
      });
      assert.equal((await get(s.url, "/checkpoints/gpt/config.json")).body, '{"gpt":1}');
      assert.equal((await get(s.url, "/checkpoints/one/config.json")).status, 404);
    } finally {
      await s.close();
    }
    await assert.rejects(
      startExploreServer({ appDir: app, checkpointsDir: path.join(root, "nowhere"), port: 0 }),
      /no manifest\.json/,
    );
  });

  test("refuses .. in every spelling, and never leaks a file outside its roots", async () => {
    const attempts = [
      "/../secret.txt",
      "/assets/../../secret.txt",
      "/%2e%2e/secret.txt",
      "/%2E%2E/secret.txt",
      "/..%2fsecret.txt",
      "/..%2Fsecret.txt",
      "/assets/..%2f..%2fsecret.txt",
      "/checkpoint/..%2f..%2fsecret.txt",
      "/checkpoint/../config.json",
      "/..%5csecret.txt",
      "/assets%5c..%5c..%5csecret.txt",
      "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      "/.%2e/secret.txt",
    ];
    for (const a of attempts) {
      const r = await get(server.url, a);
      assert.equal(r.status, 403, `${a} should be refused, got ${r.status}`);
      assert.doesNotMatch(r.body, /SECRET|root:/);
    }
    for (const a of [
      "/%252e%252e/secret.txt",
      "/link.txt",
      "/secret.txt",
      "/%00index.html",
      "/%zz",
    ]) {
      const r = await get(server.url, a);
      assert.ok([400, 403, 404].includes(r.status), `${a} gave ${r.status}`);
      assert.doesNotMatch(r.body, /SECRET/);
    }
  });

  test("requestSegments decodes first, then checks", () => {
    assert.deepEqual(requestSegments("/a/b%20c.js?x=1"), ["a", "b c.js"]);
    assert.equal(requestSegments("/a/%2e%2e/b"), 403);
    assert.equal(requestSegments("http://evil.example/x"), 403);
    assert.equal(requestSegments("/%E0%A4%A"), 400);
  });

  test("a run directory serves its best checkpoint", async () => {
    const run = path.join(root, "run");
    fs.mkdirSync(path.join(run, "best"), { recursive: true });
    for (const f of ["config.json", "model.safetensors", "tokenizer.json"]) {
      fs.writeFileSync(path.join(run, "best", f), f === "config.json" ? '{"best":1}' : "x");
    }
    const s = await startExploreServer({ appDir: app, checkpoint: run, port: 0 });
    try {
      assert.equal((await get(s.url, "/checkpoint/config.json")).body, '{"best":1}');
      assert.deepEqual(JSON.parse((await get(s.url, "/explore.json")).body), {
        checkpoint: path.join("run", "best"),
        shipped: ["one"],
      });
    } finally {
      await s.close();
    }
  });

  test("only GET and HEAD", async () => {
    const u = new URL(server.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: u.hostname, port: u.port, path: "/", method: "POST" },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end("x");
    });
    assert.equal(status, 405);
  });

  test("a one-line error when the app is not built, or the checkpoint is incomplete", async () => {
    await assert.rejects(
      startExploreServer({ appDir: path.join(root, "nope"), port: 0 }),
      (e: unknown) => {
        assert.ok(e instanceof AttnError);
        assert.match(e.message, /npm run build:web/);
        return true;
      },
    );
    const partial = path.join(root, "partial");
    fs.mkdirSync(partial);
    fs.writeFileSync(path.join(partial, "config.json"), "{}");
    fs.writeFileSync(path.join(partial, "model.safetensors"), "x");
    await assert.rejects(
      startExploreServer({ appDir: app, checkpoint: partial, port: 0 }),
      /missing tokenizer\.json/,
    );
    await assert.rejects(
      startExploreServer({ appDir: app, checkpoint: path.join(root, "nowhere"), port: 0 }),
      AttnError,
    );
  });
});
