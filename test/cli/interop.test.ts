/** `attn import` and `attn export` as a user meets them, and their one-line errors. */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { attn, assertUserError, ROOT } from "../helpers/cli.js";

const HF = path.join(ROOT, "test", "fixtures", "hf");

const tmp = mkdtempSync(path.join(tmpdir(), "attn-interop-"));

describe("attn import / export", () => {
  test("an imported Marian translates, evaluates, and exports back to the same files", () => {
    const ck = path.join(tmp, "marian");
    let r = attn(["import", "--from", "hf-marian", path.join(HF, "marian"), "--out", ck]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /imported hf-marian \(2\+2 layers, d_model 32, vocabulary 509\)/);
    const expected = JSON.parse(readFileSync(path.join(HF, "marian", "expected.json"), "utf8"));
    r = attn(["translate", "--checkpoint", ck], `${expected.greedy[0].source}\n\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split("\n").length, 3, "one line per input line, the empty one included");
    const tsv = path.join(tmp, "pairs.tsv");
    writeFileSync(tsv, "Y dijo Dios.\tAnd God said.\nLa luz.\tThe light.\n");
    r = attn(["eval", "--checkpoint", ck, "--data", tsv, "--src", "0", "--tgt", "1", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Number.isFinite(JSON.parse(r.stdout).bleu));
    const out = path.join(tmp, "marian-hf");
    r = attn(["export", "--to", "hf-marian", ck, "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    for (const f of ["config.json", "model.safetensors", "source.spm", "target.spm", "vocab.json"])
      assert.ok(existsSync(path.join(out, f)), f);
    assert.ok(
      readFileSync(path.join(out, "source.spm")).equals(
        readFileSync(path.join(HF, "marian", "source.spm")),
      ),
    );
  });

  test("an imported GPT-2 generates the transformers model's greedy ids", () => {
    const ck = path.join(tmp, "gpt2");
    let r = attn(["import", "--from", "hf-gpt2", path.join(HF, "gpt2"), "--out", ck]);
    assert.equal(r.code, 0, r.stderr);
    r = attn([
      "generate",
      "--checkpoint",
      ck,
      "--prompt",
      "And God said",
      "--temperature",
      "0",
      "--max-tokens",
      "12",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith("And God said"));
    const text = path.join(tmp, "held-out.txt");
    writeFileSync(text, "And God said, Let there be light: and there was light.\n".repeat(4));
    r = attn(["eval", "--checkpoint", ck, "--data", text, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).perplexity > 1);
    r = attn(["export", "--to", "pytorch", ck, "--out", path.join(tmp, "gpt2-pt")]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(path.join(tmp, "gpt2-pt", "model.safetensors")));
  });

  test("bad input: one line naming the flag, the file or the mismatch", () => {
    assertUserError(
      attn(["import", "--from", "hf-bert", HF, "--out", path.join(tmp, "x")]),
      /--from must be one of hf-gpt2, hf-marian/,
    );
    assertUserError(
      attn(["import", "--from", "hf-gpt2", path.join(tmp, "nope"), "--out", path.join(tmp, "x")]),
      /does not exist/,
    );
    assertUserError(
      attn(["import", "--from", "hf-gpt2", path.join(HF, "marian"), "--out", path.join(tmp, "x")]),
      /model_type is "marian", not "gpt2"/,
    );
    const empty = path.join(tmp, "empty");
    mkdirSync(empty);
    writeFileSync(path.join(empty, "config.json"), "{}");
    assertUserError(
      attn(["import", "--from", "hf-marian", empty, "--out", path.join(tmp, "x")]),
      /no model\.safetensors/,
    );
    assertUserError(
      attn(["export", "--to", "hf-gpt2", path.join(tmp, "marian"), "--out", path.join(tmp, "y")]),
      /is an encoder-decoder/,
    );
    assertUserError(
      attn(["export", "--to", "tflite", path.join(tmp, "marian"), "--out", path.join(tmp, "y")]),
      /--to must be one of/,
    );
  });
});
