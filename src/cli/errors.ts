/** How the CLI reports failures: a user's mistake is one line on stderr and exit code 1; a bug keeps its stack. */
import { CommanderError } from "commander";
import { isUserError } from "../index.js";

export function reportAndExit(e: unknown): never {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  if (isUserError(e)) {
    // One line, always: a quoted snippet of a file (a JSON parser's message) may hold newlines.
    process.stderr.write(`attn: ${e.message.replace(/\s*\n\s*/g, " ")}\n`);
    process.exit(1);
  }
  // Anything else is our bug: keep the stack so it can be reported.
  process.stderr.write(
    `attn: internal error (please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(70);
}
