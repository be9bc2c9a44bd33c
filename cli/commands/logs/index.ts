/**
 * `exoform logs [stack] [--follow]`: the console log of each instance of a stack, as its target
 * reads it (local: the serial log file).
 */
import type { InstanceOutput } from "../../../infra/outputs";
import type { Target } from "../../../infra/targets";
import { Command, CommandContext, stackArg, targetOf } from "../../command";
import { CliError, ExitCode } from "../../exit-codes";
import { deployedOutputs } from "../check";

export const logsCommand: Command = {
  name: "logs",
  usage: "logs [stack] [--follow]",
  summary: "print the console log of a stack's instances",
  options: { follow: { type: "boolean", short: "f" } },
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    const outputs = await deployedOutputs(name);
    const target = targetOf(outputs);
    if (!target?.readConsole) {
      throw new CliError(
        `the ${outputs.target} target offers no console log for ${name}`,
        ExitCode.Config,
      );
    }
    const { instances } = outputs;
    if (ctx.flags.follow) {
      if (instances.length !== 1) {
        throw new CliError("--follow needs a stack with exactly one instance", ExitCode.Config);
      }
      return follow(target, instances[0]);
    }
    const logs = [];
    for (const i of instances) {
      const log = await target.readConsole(i);
      logs.push({
        name: i.name,
        source: log.source,
        text: log.text ?? `(no console log at ${log.source})`,
      });
    }
    const lines = logs.flatMap((l) =>
      logs.length > 1 ? [`==> ${l.name} (${l.source}) <==`, l.text] : [l.text],
    );
    ctx.output.result("logs", { stack: name, logs }, lines);
  },
};

/** Prints the log and then whatever the instance adds, until interrupted. */
async function follow(target: Target, instance: InstanceOutput): Promise<void> {
  let printed = "";
  for (;;) {
    const log = await target.readConsole!(instance);
    if (log.text === undefined) {
      throw new CliError(
        `the console log ${log.source} is gone (instance stopped?)`,
        ExitCode.Deployment,
      );
    }
    if (log.text.length > printed.length && log.text.startsWith(printed)) {
      process.stdout.write(log.text.slice(printed.length) + "\n");
      printed = log.text;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
