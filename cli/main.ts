/**
 * exoform: build, deploy and health-check the kernel image. One folder per command under
 * commands/; this file parses the command line, picks the output mode and turns every failure
 * into a message on stderr and an exit code (cli/exit-codes.ts, docs/cli.md).
 */
import { parseArgs, ParseArgsConfig } from "node:util";
import type { Command } from "./command";
import { buildCommand } from "./commands/build";
import { checkCommand } from "./commands/check";
import { compareCommand } from "./commands/compare";
import { downCommand } from "./commands/down";
import { logsCommand } from "./commands/logs";
import { statusCommand } from "./commands/status";
import { upCommand } from "./commands/up";
import { CliError, ExitCode } from "./exit-codes";
import { chooseOutputMode, Output } from "./output";

const COMMANDS: readonly Command[] = [
  buildCommand,
  upCommand,
  checkCommand,
  logsCommand,
  downCommand,
  statusCommand,
  compareCommand,
];

const GLOBAL_OPTIONS: ParseArgsConfig["options"] = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return [
    "usage: exoform <command> [stack] [--json]",
    "",
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    "",
    "The stack defaults to `local`; its configuration is stacks/Pulumi.<stack>.yaml.",
    "Exit codes: 0 ok, 1 error, 2 usage/configuration, 3 authentication, 4 deployment/health (docs/cli.md).",
  ].join("\n");
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const json = rest.includes("--json") || name === "--json";
  const output = new Output(chooseOutputMode(json));
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage() + "\n");
    return name === undefined ? ExitCode.Config : ExitCode.Ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (!command) throw new CliError(`unknown command "${name}"\n${usage()}`, ExitCode.Config);
    const parsed = parseCommandLine(command, rest);
    if (parsed.flags.help) {
      process.stdout.write(`usage: exoform ${command.usage}\n${command.summary}\n`);
      return ExitCode.Ok;
    }
    await command.run({ output, args: parsed.args, flags: parsed.flags });
    return ExitCode.Ok;
  } catch (e) {
    const error =
      e instanceof CliError ? e : new CliError((e as Error).message ?? String(e), ExitCode.Error);
    const debug = process.env.DEBUG ? (e as Error).stack : undefined;
    output.failure(name, error.exitCode, error.message, debug);
    return error.exitCode;
  }
}

function parseCommandLine(command: Command, args: readonly string[]) {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    const maxArgs = command.maxPositionals ?? (command.usage.includes("[stack]") ? 1 : 0);
    if (positionals.length > maxArgs) {
      throw new Error(`too many arguments: ${positionals.slice(maxArgs).join(" ")}`);
    }
    return { args: positionals, flags: values as Record<string, string | boolean | undefined> };
  } catch (e) {
    throw new CliError(`${(e as Error).message}\nusage: exoform ${command.usage}`, ExitCode.Config);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: Error) => {
      process.stderr.write(`exoform: internal error: ${e.stack ?? e}\n`);
      process.exitCode = ExitCode.Error;
    },
  );
}
