/**
 * `exoform cancel [stack] [--yes]`: what `pulumi cancel` does for the file backend, with care:
 * an update that still runs on this machine is asked to cancel gracefully (SIGINT to its
 * pulumi, as a Ctrl-C would), waited for, and its lock goes with it; a stale lock (its process
 * is gone) is removed; helpers of dead exoform runs are stopped. Asks before cancelling a live
 * update unless --yes.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { Command, CommandContext, stackArg, yesFlag } from "../../command";
import { confirmOrStop, requireYesWhenNonInteractive } from "../../confirm";
import { CliError, ExitCode } from "../../exit-codes";
import { clearStaleLocks, describeLock, fileBackendDir, stackLocks } from "../../locks";
import { reapDeadRuns } from "../../processes";

/** How long a cancelled update may take to finish its steps in flight. */
const WAIT_MS = 120_000;

export const cancelCommand: Command = {
  name: "cancel",
  usage: "cancel [stack] [--yes]",
  summary: "cancel a running update of the stack, or clear the lock a dead one left",
  options: { yes: { type: "boolean", short: "y" } },
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    if (!fileBackendDir()) {
      throw new CliError(
        "exoform cancel handles the file backend's locks; for this backend run: exoform pulumi cancel -s " +
          name,
        ExitCode.Config,
      );
    }
    const lines: string[] = [];
    const killed = reapDeadRuns();
    if (killed.length) lines.push(`stopped ${killed.length} process(es) of dead exoform runs`);
    const live = stackLocks(name).filter((l) => l.live);
    const local = live.filter((l) => l.hostname === os.hostname());
    if (live.length > local.length) {
      throw new CliError(
        `${name} is locked from another machine (${live
          .filter((l) => !local.includes(l))
          .map(describeLock)
          .join(
            "; ",
          )}): cancel it there, or remove the lock with: exoform pulumi cancel -s ${name}`,
        ExitCode.Locked,
      );
    }
    if (local.length > 0) {
      requireYesWhenNonInteractive("cancel", yesFlag(ctx), ctx.json);
      await confirmOrStop(
        `${name} is being updated (${local.map(describeLock).join("; ")}). Cancel that update?`,
        yesFlag(ctx),
      );
      for (const lock of local) process.kill(lock.pid, "SIGINT");
      const end = Date.now() + WAIT_MS;
      while (local.some((l) => fs.existsSync(l.file)) && Date.now() < end) {
        if (stackLocks(name).every((l) => !l.live)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      lines.push(
        `asked the running update of ${name} to cancel (${local.map(describeLock).join("; ")})`,
      );
    }
    const stale = clearStaleLocks(name);
    for (const lock of stale)
      lines.push(`removed the stale lock of ${name} (${describeLock(lock)})`);
    if (stackLocks(name).length > 0) {
      throw new CliError(
        `${name} is still locked: ${stackLocks(name).map(describeLock).join("; ")}`,
        ExitCode.Locked,
      );
    }
    ctx.output.result(
      "cancel",
      { stack: name, cancelled: local.length, staleLocksRemoved: stale.length },
      lines.length ? lines : [`${name} is not locked: nothing to cancel`],
    );
  },
};
