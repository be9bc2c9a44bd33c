/** `exoform logs [stack] [--follow]`: the serial console log of each instance of a stack. */
import * as fs from "node:fs";
import { readSerial } from "../../../infra/local/qemu";
import { Command, CommandContext, InstanceOutput, stackArg } from "../../command";
import { CliError, ExitCode } from "../../exit-codes";
import { deployedInstances } from "../check";

export const logsCommand: Command = {
  name: "logs",
  usage: "logs [stack] [--follow]",
  summary: "print the serial console log of a stack's instances",
  options: { follow: { type: "boolean", short: "f" } },
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    const instances = await deployedInstances(name);
    if (ctx.flags.follow) {
      if (instances.length !== 1) {
        throw new CliError("--follow needs a stack with exactly one instance", ExitCode.Config);
      }
      return follow(instances[0]);
    }
    const logs = instances.map((i) => ({
      name: i.name,
      path: i.serialLog,
      text: readLog(i.serialLog),
    }));
    const lines = logs.flatMap((l) =>
      logs.length > 1 ? [`==> ${l.name} (${l.path}) <==`, l.text] : [l.text],
    );
    ctx.output.result("logs", { stack: name, logs }, lines);
  },
};

function readLog(file: string): string {
  if (!fs.existsSync(file)) return `(no serial log at ${file})`;
  return readSerial(file).join("\n").trim();
}

/** Prints the log and then whatever QEMU appends, until interrupted. */
async function follow(instance: InstanceOutput): Promise<void> {
  let offset = 0;
  for (;;) {
    let size = 0;
    try {
      size = fs.statSync(instance.serialLog).size;
    } catch {
      throw new CliError(
        `the serial log ${instance.serialLog} is gone (instance stopped?)`,
        ExitCode.Deployment,
      );
    }
    if (size > offset) {
      const fd = fs.openSync(instance.serialLog, "r");
      const buf = Buffer.alloc(size - offset);
      fs.readSync(fd, buf, 0, buf.length, offset);
      fs.closeSync(fd);
      process.stdout.write(buf.toString().replace(/\r/g, ""));
      offset = size;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
