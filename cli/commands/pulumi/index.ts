/**
 * `exoform pulumi <args…>`: the Pulumi CLI exoform uses, run in the project directory with the
 * project's settings (backend, passphrase, PULUMI_HOME from scripts/env.sh), so every hint that
 * names a `pulumi` command works as printed, e.g. `exoform pulumi stack export -s local`.
 * Standard input and output are the terminal's; the exit code is pulumi's.
 */
import { spawn } from "node:child_process";
import type { Command } from "../../command";
import { ExitCode } from "../../exit-codes";
import { projectDir } from "../../stack";

/** Runs pulumi with `args`; resolves with its exit code. */
export function runPulumi(args: readonly string[]): Promise<number> {
  const dir = projectDir();
  // Ctrl-C reaches pulumi itself (same process group): it decides, we wait for it.
  const ignore = () => undefined;
  process.on("SIGINT", ignore);
  return new Promise<number>((resolve) => {
    const child = spawn("pulumi", [...args], {
      cwd: dir,
      stdio: "inherit",
      env: { ...process.env, EXOFORM_PROJECT_DIR: dir },
    });
    child.on("error", (e) => {
      process.stderr.write(
        `exoform pulumi: error: cannot run pulumi: ${e.message} (run npm run bootstrap)\n`,
      );
      resolve(ExitCode.Error);
    });
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 + 2 : ExitCode.Error)));
  }).finally(() => process.off("SIGINT", ignore));
}

/** Listed in the usage; main() runs it before any flag parsing (the arguments are pulumi's). */
export const pulumiCommand: Command = {
  name: "pulumi",
  usage: "pulumi <args…>",
  summary: "run the Pulumi CLI in the project with exoform's settings",
  async run() {
    throw new Error("exoform pulumi is dispatched by main()");
  },
};
