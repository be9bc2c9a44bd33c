/**
 * exoform: build, deploy and health-check the kernel image. One folder per command under
 * commands/; this file parses the command line, picks the output mode and turns every failure
 * into a message on stderr and an exit code (cli/exit-codes.ts, docs/cli.md).
 */
import { parseArgs, ParseArgsConfig } from "node:util";
import type { Command } from "./command";
import { buildCommand } from "./commands/build";
import { cancelCommand } from "./commands/cancel";
import { checkCommand } from "./commands/check";
import { compareCommand } from "./commands/compare";
import { downCommand } from "./commands/down";
import { logsCommand } from "./commands/logs";
import { outputsCommand } from "./commands/outputs";
import { previewCommand } from "./commands/preview";
import { pulumiCommand, runPulumi } from "./commands/pulumi";
import { refreshCommand } from "./commands/refresh";
import { statusCommand } from "./commands/status";
import { upCommand } from "./commands/up";
import { versionLine } from "./commands/version";
import { CliError, ExitCode } from "./exit-codes";
import { chooseOutputMode, Output } from "./output";
import { addEnvironmentSecrets } from "./secrets";

const COMMANDS: readonly Command[] = [
  buildCommand,
  previewCommand,
  upCommand,
  checkCommand,
  logsCommand,
  outputsCommand,
  refreshCommand,
  downCommand,
  cancelCommand,
  statusCommand,
  compareCommand,
  pulumiCommand,
];

const GLOBAL_OPTIONS: ParseArgsConfig["options"] = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** `-s/--stack`, for every command that takes a stack. */
const STACK_OPTION: ParseArgsConfig["options"] = { stack: { type: "string", short: "s" } };

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return [
    "usage: exoform <command> [stack] [--json]",
    "",
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    "",
    "The stack defaults to `local` (or give it as -s/--stack); its configuration is stacks/Pulumi.<stack>.yaml.",
    "Exit codes: 0 ok, 1 error, 2 usage/configuration, 3 authentication, 4 deployment/health, 8 cancelled, 10 stack locked (docs/cli.md).",
  ].join("\n");
}

export async function main(argv: readonly string[]): Promise<number> {
  addEnvironmentSecrets();
  const [name, ...rest] = argv;
  if (name === "--version" || name === "version") {
    process.stdout.write(versionLine() + "\n");
    return ExitCode.Ok;
  }
  if (name === "pulumi") return runPulumi(rest);
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
    await command.run({ output, args: parsed.args, flags: parsed.flags, json });
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
  const takesStack = command.usage.includes("[stack]");
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { ...GLOBAL_OPTIONS, ...(takesStack ? STACK_OPTION : {}), ...command.options },
      allowPositionals: true,
      strict: true,
    });
    const maxArgs = command.maxPositionals ?? (takesStack ? 1 : 0);
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
