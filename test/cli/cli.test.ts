/** The `attn` command as a user meets it: results, and one-line errors without stack traces for bad input. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { attn, assertUserError, MAIN, ROOT } from "../helpers/cli.js";

const tmp = mkdtempSync(path.join(tmpdir(), "attn-cli-"));

describe("attn info", () => {
  test("paper-base with a 37k vocabulary has 63,045,632 parameters", () => {
    const r = attn(["info", "--preset", "paper-base", "--vocab", "37000", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.equal(info.parameters, 63_045_632);
  });
  test("bad configs and flags", () => {
    assertUserError(
      attn(["info", "--d-model", "30", "--heads", "4"]),
      /dModel 30 is not divisible by heads 4/,
    );
    assertUserError(attn(["info", "--vocab", "abc"]), /--vocab must be an integer/);
    assertUserError(attn(["info", "--preset", "nope"]), /unknown model preset "nope"/);
  });
});

describe("attn train and friends", () => {
  const run = path.join(tmp, "copy");
  test("a short copy-task run writes a checkpoint that eval, translate and info read", () => {
    const r = attn([
      "train",
      "--task",
      "copy",
      "--out",
      run,
      "--steps",
      "12",
      "--eval-every",
      "6",
      "--eval-size",
      "20",
      "--quiet",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /held-out: exact_match/);
    for (const f of [
      "config.json",
      "model.safetensors",
      "tokenizer.json",
      "optimizer.safetensors",
      "trainer.json",
    ]) {
      assert.ok(existsSync(path.join(run, "last", f)), `last/${f}`);
    }
    const e = attn(["eval", "--checkpoint", run, "--json", "--limit", "10"]);
    assert.equal(e.code, 0, e.stderr);
    const lines = e.stdout.trim().split("\n");
    assert.equal(lines.length, 1);
    const m = JSON.parse(lines[0]);
    assert.equal(typeof m.exact_match, "number");
    const t = attn(["translate", "--checkpoint", run, "abcdefgabc"]);
    assert.equal(t.code, 0, t.stderr);
    assert.equal(t.stdout.trim().split("\n").length, 1);
    const s = attn(["translate", "--checkpoint", run, "--beam", "3"], "abc\n\ngfe\n");
    assert.equal(s.code, 0, s.stderr);
    const outs = s.stdout.split("\n");
    assert.equal(outs.length, 4, "one output per stdin line, and a final newline");
    assert.equal(outs[1], "", "an empty line gives an empty translation in place");
    const long = attn(["translate", "--checkpoint", run], `${"abc".repeat(30)}\nab\n`);
    assert.equal(long.code, 0, long.stderr);
    assert.equal(long.stdout.split("\n").length, 3);
    assert.equal(long.stderr.match(/attn: warning: input 1 has 90 tokens/g)?.length, 1);
    const tsv = path.join(tmp, "held.tsv");
    writeFileSync(tsv, "abc\tabc\ngfed\tgfed\n");
    const hyps = path.join(tmp, "hyps.txt");
    const ev = attn([
      "eval",
      "--checkpoint",
      run,
      "--data",
      tsv,
      "--beam",
      "2",
      "--json",
      "--hyps",
      hyps,
    ]);
    assert.equal(ev.code, 0, ev.stderr);
    const em = JSON.parse(ev.stdout);
    assert.equal(em.n, 2);
    assert.equal(typeof em.bleu, "number");
    assert.equal(typeof em.chrf, "number");
    assert.equal(readFileSync(hyps, "utf8").split("\n").length, 3);
    assertUserError(
      attn(["eval", "--checkpoint", run, "--data", path.join(tmp, "none.tsv")]),
      /--data: file not found/,
    );
    assertUserError(attn(["translate", "--checkpoint", run, "--beam", "0", "a"]), /--beam must be/);
  });
  test("resume continues to more steps; a second train into the same --out refuses", () => {
    const again = attn(["train", "--task", "copy", "--out", run, "--steps", "12", "--quiet"]);
    assertUserError(again, /already holds a run; pass --resume/);
    const r = attn([
      "train",
      "--task",
      "copy",
      "--out",
      run,
      "--steps",
      "14",
      "--resume",
      "--quiet",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).steps, 14);
  });
  test("bad inputs give one-line errors", () => {
    // Commander's own messages too, as one attn: line.
    assertUserError(
      attn(["train", "--task", "copy"]),
      /required option '--out <dir>' not specified/,
    );
    assertUserError(attn(["nosuch"]), /unknown command 'nosuch' \(run attn --help for usage\)/);
    assertUserError(attn(["translate", "--beam"]), /option '--beam <k>' argument missing/);
    assertUserError(
      attn(["train", "--data", path.join(tmp, "missing.tsv"), "--out", path.join(tmp, "x")]),
      /data file not found/,
    );
    assertUserError(
      attn(["train", "--task", "nope", "--out", path.join(tmp, "x")]),
      /--task must be one of/,
    );
    assertUserError(
      attn(["train", "--task", "copy", "--out", path.join(tmp, "x"), "--steps", "-3"]),
      /--steps must be an integer/,
    );
    assertUserError(
      attn(["train", "--task", "copy", "--out", path.join(tmp, "x"), "--time", "soon"]),
      /--time must be a duration/,
    );
    assertUserError(
      attn(["eval", "--checkpoint", path.join(tmp, "nothing")]),
      /checkpoint not found/,
    );
    assertUserError(
      attn(["generate", "--checkpoint", run, "--prompt", "a"]),
      /is a translation model/,
    );
  });
  test("generate writes --max-tokens characters past the context, reading the whole prompt", () => {
    // The shipped KJV GPT: 128 positions, a character tokenizer that never emits <eos>.
    const ckpt = path.join(ROOT, "web/public/checkpoints/kjv-gpt");
    const prompt = "In the beginning";
    const r = attn([
      "generate",
      "--checkpoint",
      ckpt,
      "--prompt",
      prompt,
      "--max-tokens",
      "300",
      "--temperature",
      "0",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout.replace(/\n$/, "");
    assert.ok(text.startsWith(prompt));
    assert.equal(text.length, prompt.length + 300);
    // Greedy from the whole prompt: the same start as a 20-token run (no prompt cut to one token).
    const short = attn([
      "generate",
      "--checkpoint",
      ckpt,
      "--prompt",
      prompt,
      "--max-tokens",
      "20",
      "--temperature",
      "0",
    ]);
    assert.ok(text.startsWith(short.stdout.replace(/\n$/, "")), `${short.stdout} vs ${text}`);
  });
  test("a TSV with bad lines is reported by line number, or skipped on request", () => {
    const tsv = path.join(tmp, "bad.tsv");
    const lines = [
      "a b\tc d",
      "e f\tg h",
      "only one column",
      "",
      "i j\tk l\tm",
      ...Array.from({ length: 60 }, (_, i) => `w${i} x\ty${i} z`),
    ];
    writeFileSync(tsv, `${lines.join("\n")}\n`);
    const r = attn(["train", "--data", tsv, "--out", path.join(tmp, "tsv1"), "--steps", "1"]);
    assertUserError(r, /lines? 3, 5/);
    const ok = attn([
      "train",
      "--data",
      tsv,
      "--out",
      path.join(tmp, "tsv2"),
      "--steps",
      "2",
      "--on-bad-line",
      "skip",
      "--tokenizer",
      "char",
      "--model",
      "s2s-tiny",
      "--eval-size",
      "2",
      "--json",
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(typeof JSON.parse(ok.stdout).bleu, "number");
  });
  test("a checkpoint whose tokenizer does not match its model is refused", () => {
    const ck = path.join(run, "last");
    const tokFile = path.join(ck, "tokenizer.json");
    const tok = JSON.parse(readFileSync(tokFile, "utf8"));
    const other = attn([
      "train",
      "--task",
      "dates",
      "--out",
      path.join(tmp, "dates"),
      "--steps",
      "1",
      "--quiet",
      "--eval-size",
      "2",
    ]);
    assert.equal(other.code, 0, other.stderr);
    writeFileSync(tokFile, readFileSync(path.join(tmp, "dates", "last", "tokenizer.json")));
    assertUserError(
      attn(["eval", "--checkpoint", ck]),
      /config\.json's model has a vocabulary of 11, tokenizer\.json has \d+/,
    );
    writeFileSync(tokFile, JSON.stringify(tok));
  });

  test("--checkpoint D/last loads the checkpoint an interrupted save moved aside", () => {
    const d = path.join(tmp, "recover");
    mkdirSync(d, { recursive: true });
    cpSync(path.join(run, "last"), path.join(d, ".last.old-123-0123abcd"), { recursive: true });
    const r = attn(["eval", "--checkpoint", path.join(d, "last"), "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"exact_match"/);
  });

  test("weights with a NaN are refused, naming the file, the tensor and the count", () => {
    const bad = path.join(tmp, "nan-ckpt");
    cpSync(path.join(run, "last"), bad, { recursive: true });
    const file = path.join(bad, "model.safetensors");
    const bytes = readFileSync(file);
    const dataStart = 8 + Number(bytes.readBigUInt64LE(0));
    bytes.writeFloatLE(Number.NaN, dataStart + 4 * 3); // one value of the first tensor in the file
    writeFileSync(file, bytes);
    assertUserError(
      attn(["eval", "--checkpoint", bad]),
      /model\.safetensors: \S+ holds 1 non-finite value \(NaN or ±Infinity\) of \d+; the weights are corrupt/,
    );
  });
});

describe("Ctrl-C", () => {
  test("SIGINT during training saves a checkpoint and exits cleanly", async () => {
    const out = path.join(tmp, "sigint");
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        MAIN,
        "train",
        "--task",
        "copy",
        "--out",
        out,
        "--steps",
        "100000",
        "--eval-every",
        "100000",
      ],
      {
        cwd: ROOT,
      },
    );
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (/model: /.test(stderr)) {
          clearInterval(poll);
          setTimeout(() => {
            child.kill("SIGINT");
            resolve();
          }, 1500);
        }
      }, 100);
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    assert.equal(code, 0, stderr);
    assert.ok(existsSync(path.join(out, "last", "model.safetensors")), "checkpoint saved");
    assert.match(stderr, /stopping/);
  });

  for (const signal of ["SIGINT", "SIGKILL"] as const) {
    test(`stopped by ${signal} and resumed, the default recipe ends bit-identical to a straight run; metrics.jsonl has each step once`, async () => {
      // SIGKILL loses the steps after the last save (every 20 here); --resume redoes them.
      const args = (out: string) => [
        "train",
        "--task",
        "copy",
        "--out",
        out,
        "--steps",
        "120",
        "--eval-every",
        "20",
      ];
      const straight = path.join(tmp, `straight-${signal}`);
      assert.equal(attn(args(straight)).code, 0);
      const cut = path.join(tmp, `cut-${signal}`);
      const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args(cut)], { cwd: ROOT });
      let stderr = "";
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      // SIGINT as soon as training runs; SIGKILL between two saves (steps 20 and 40), when
      // metrics.jsonl already holds steps that the checkpoint does not.
      const metrics = path.join(cut, "metrics.jsonl");
      const ready = () =>
        signal === "SIGINT"
          ? /model: /.test(stderr)
          : existsSync(metrics) && readFileSync(metrics, "utf8").split("\n").length > 27;
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (ready()) {
            clearInterval(poll);
            child.kill(signal);
            resolve();
          }
        }, 20);
      });
      await new Promise((r) => child.on("exit", r));
      const stoppedAt = JSON.parse(
        readFileSync(path.join(cut, "last", "trainer.json"), "utf8"),
      ).step;
      assert.ok(stoppedAt < 120, `stopped at ${stoppedAt}`);
      const resumed = attn(["train", "--out", cut, "--resume"]);
      assert.equal(resumed.code, 0, resumed.stderr);
      const weights = (d: string) => readFileSync(path.join(d, "last", "model.safetensors"));
      assert.ok(
        weights(cut).equals(weights(straight)),
        `resumed from step ${stoppedAt}: weights differ`,
      );
      const steps = readFileSync(path.join(cut, "metrics.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
        .filter((m) => m.type === "step")
        .map((m) => m.step);
      assert.deepEqual(
        steps,
        Array.from({ length: 120 }, (_, i) => i + 1),
      );
    });
  }

  test("an interrupted translate keeps every line it printed", async () => {
    const run = path.join(tmp, "copy");
    const lines = ["abc", "gfe", "", "bad", "cab", "fed"];
    const full = attn(
      ["translate", "--checkpoint", run, "--batch-size", "2"],
      `${lines.join("\n")}\n`,
    );
    assert.equal(full.code, 0, full.stderr);
    const expected = full.stdout.split("\n").slice(0, lines.length);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", MAIN, "translate", "--checkpoint", run, "--batch-size", "2"],
      { cwd: ROOT },
    );
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    // Four lines in, then wait for their four translations with stdin still open, then Ctrl-C.
    child.stdin.write(`${lines.slice(0, 4).join("\n")}\n`);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (stdout.split("\n").length > 4) {
          clearInterval(poll);
          resolve();
        }
      }, 50);
    });
    child.kill("SIGINT");
    await new Promise((resolve) => child.on("exit", resolve));
    assert.deepEqual(stdout.split("\n").slice(0, 4), expected.slice(0, 4));
    assert.ok(stdout.endsWith("\n"), "no half-written line");
  });
});
