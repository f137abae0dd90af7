/** `attn experiment`: the list, and one-line errors for bad names and flags. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EXPERIMENTS } from "../../src/experiments/index.js";
import { assertUserError, attn } from "../helpers/cli.js";

describe("attn experiment", () => {
  test("--list describes every experiment with its question and chapter", () => {
    const r = attn(["experiment", "--list"]);
    assert.equal(r.code, 0, r.stderr);
    for (const e of EXPERIMENTS) {
      assert.match(r.stdout, new RegExp(`^${e.name} `, "m"));
      assert.ok(r.stdout.includes(e.question), e.name);
      assert.ok(r.stdout.includes(e.chapter), e.name);
    }
  });

  test("bad names and flags give one-line errors", () => {
    assertUserError(
      attn(["experiment", "positonal"]),
      /unknown experiment "positonal".*positional/,
    );
    assertUserError(attn(["experiment"]), /name an experiment, or --list/);
    assertUserError(
      attn(["experiment", "positional", "--seeds", "1,2"]),
      /--seeds must list at least 3/,
    );
    assertUserError(
      attn(["experiment", "positional", "--seeds", "1,1,2"]),
      /--seeds must list at least 3 different/,
    );
    assertUserError(
      attn(["experiment", "positional", "--runs", "2"]),
      /--runs must be an integer in 3\.\.50/,
    );
    assertUserError(
      attn(["experiment", "positional", "--runs", "3", "--seeds", "4,5,6"]),
      /--seeds or --runs, not both/,
    );
  });
});
