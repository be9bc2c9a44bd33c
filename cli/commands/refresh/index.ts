/**
 * `exoform refresh [stack] [--yes]`: `pulumi refresh`: the state learns what really runs (a
 * QEMU that died shows as not running; the next `up` replaces it). Asks first unless --yes,
 * as pulumi does. Needs a usable stack file (exit 2 naming its line otherwise; `down` works
 * without one).
 */
import { Command, CommandContext, stackArg, yesFlag } from "../../command";
import { confirmOrStop, requireYesWhenNonInteractive } from "../../confirm";
import { CliError, ExitCode } from "../../exit-codes";
import { engineOperation } from "../../operation";
import { recoverStack } from "../../recover";
import { existingStack, pulumiCall, requireStackFile } from "../../stack";

export const refreshCommand: Command = {
  name: "refresh",
  usage: "refresh [stack] [--yes]",
  summary: "update the stack's state from what really runs; asks first unless --yes",
  options: { yes: { type: "boolean", short: "y" } },
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    const yes = yesFlag(ctx);
    requireYesWhenNonInteractive("refresh", yes, ctx.json);
    // Refresh reads the stack's config through Pulumi, which would write a new file in place
    // of a missing one and fail on a broken one with its raw text: check the file first.
    requireStackFile(name, false);
    const stack = await existingStack(name);
    if (!stack)
      throw new CliError(`${name} is not deployed (run: exoform up ${name})`, ExitCode.Deployment);
    await confirmOrStop(`Do you want to refresh the state of ${name}?`, yes);
    await recoverStack(name, stack, ctx.output.event);
    const result = await engineOperation(stack, ctx.output.event, (run) =>
      pulumiCall(() => stack.refresh({ color: "never", signal: run.signal, onEvent: run.onEvent })),
    );
    const changes = Object.fromEntries(
      Object.entries(result.summary.resourceChanges ?? {}).filter(([op]) => op !== "same"),
    );
    const said = Object.entries(changes).map(([op, n]) => `${n} ${op}`);
    ctx.output.result("refresh", { stack: name, changes }, [
      `${name} refreshed: ${said.length ? said.join(", ") : "no changes"}`,
    ]);
  },
};
