/**
 * exoform's exit codes: the same numbers as the Pulumi CLI's own taxonomy, so scripts can treat
 * both alike. Pinned by test/cli/cli.test.ts and documented in docs/cli.md.
 */
export const ExitCode = {
  /** Done; for `check`: every instance is healthy. */
  Ok: 0,
  /** Anything unexpected (a bug, a missing tool, a failed kernel or image build). */
  Error: 1,
  /** Bad usage or configuration: unknown command or flag, missing or invalid stack file, a target not implemented yet. */
  Config: 2,
  /** The state backend or secrets refused us: login needed, wrong passphrase. */
  Auth: 3,
  /** The deployment failed: a resource could not be created, or an instance is not healthy. */
  Deployment: 4,
  /** Interrupted (Ctrl-C): the engine cancelled gracefully, or was stopped by a second Ctrl-C. */
  Cancelled: 8,
  /** The stack is locked by an update that is still running (not Pulumi's: exoform's own). */
  Locked: 10,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one message on stderr (stack trace only with DEBUG) and exits with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = "CliError";
  }
}
