/**
 * `exoform logs [stack] [--follow]`: the console log of each instance of a stack, as its target
 * reads it (local: the serial log file).
 */
import type { InstanceOutput } from "../../../infra/outputs";
import type { Target } from "../../../infra/targets";
import { Command, CommandContext, stackArg, targetOf } from "../../command";
import { CliError, ExitCode } from "../../exit-codes";
import { foundInstances } from "../../recover";
import { existingStack, projectDir, stackOutputs } from "../../stack";
import { deployedOutputs } from "../check";

export const logsCommand: Command = {
  name: "logs",
  usage: "logs [stack] [--follow]",
  summary: "print the console log of a stack's instances",
  options: { follow: { type: "boolean", short: "f" } },
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    const kept = await keptInstanceLogs(name);
    if (kept) {
      const lines = kept.flatMap((l) =>
        kept.length > 1 ? [`==> ${l.name} (${l.source}) <==`, l.text] : [l.text],
      );
      return ctx.output.result("logs", { stack: name, logs: kept }, lines);
    }
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

/**
 * The console logs of a stack that has instances but no outputs (an `up --keep-failed` that
 * failed), as the targets find them; undefined when the stack has outputs or nothing is found.
 */
async function keptInstanceLogs(
  name: string,
): Promise<{ name: string; source: string; text: string }[] | undefined> {
  const stack = await existingStack(name);
  const outputs = stack ? await stackOutputs(stack) : undefined;
  if (outputs && outputs.instances.length > 0) return undefined;
  const scope = { stack: name, projectDir: projectDir() };
  const logs = [];
  for (const { target, instance } of await foundInstances(name)) {
    if (!target.readFoundConsole) continue;
    const log = await target.readFoundConsole(scope, instance.id);
    logs.push({
      name: instance.id,
      source: log.source,
      text: log.text ?? `(no console log at ${log.source})`,
    });
  }
  return logs.length ? logs : undefined;
}

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
