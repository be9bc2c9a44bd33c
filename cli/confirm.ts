/**
 * Asking before changing anything, as `pulumi up`/`destroy` do: on a terminal the user confirms
 * (the `@inquirer/confirm` prompt); `--yes` skips the question. Without a terminal (a pipe, `CI`
 * set, `--json`) and without `--yes` the command refuses with exit code 2 before doing anything,
 * as `pulumi up --non-interactive` does without `--yes`.
 */
import { CliError, ExitCode } from "./exit-codes";

/** Whether a person can answer: stdin and stdout are terminals, not CI, not --json. */
export function isInteractive(json: boolean): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY && !process.env.CI && !json);
}

/** Refuses a non-interactive run without --yes (exit 2); call before any side effect. */
export function requireYesWhenNonInteractive(command: string, yes: boolean, json: boolean): void {
  if (yes || isInteractive(json)) return;
  throw new CliError(
    `--yes must be passed in to proceed when running in non-interactive mode (exoform ${command} … --yes)`,
    ExitCode.Config,
  );
}

/**
 * Asks `question` on the terminal unless `yes`; a "no" (or Ctrl-C at the prompt) is exit code 8,
 * nothing changed.
 */
export async function confirmOrStop(question: string, yes: boolean): Promise<void> {
  if (yes) return;
  // ESM-only package: loaded with Node's require(esm).
  const { default: confirm } = require("@inquirer/confirm") as typeof import("@inquirer/confirm");
  let answer = false;
  try {
    answer = await confirm({ message: question, default: false }, { output: process.stderr });
  } catch {
    answer = false;
  }
  if (!answer) throw new CliError("cancelled: nothing was changed", ExitCode.Cancelled);
}
