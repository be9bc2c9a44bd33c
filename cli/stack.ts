/**
 * Stacks through the Pulumi Automation API (LocalWorkspace on the project directory, which runs
 * the real `pulumi` CLI). The CLI honours `stackConfigDir: stacks` for config; the Automation
 * API's own stackSettings() does not (pulumi#10305), so nothing here reads or writes stack
 * settings through it: config comes from `pulumi config` (Stack.getAllConfig).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CommandError, LocalWorkspace, OutputMap, Stack } from "@pulumi/pulumi/automation";
import {
  CONFIG_NAMESPACE,
  StackConfig,
  stackConfigFromPulumi,
  stackFileFor,
} from "../infra/config";
import { checkStackName, stackNameProblem } from "../infra/stack-name";
import { findTarget } from "../infra/targets";
import { parseStackOutputs, StackOutputs, StackOutputsError } from "../infra/outputs";
import { CliError, ExitCode } from "./exit-codes";
import { ownRunTag, RUN_TAG_ENV } from "./processes";
import { addSecretConfigValue } from "./secrets";
import { readStackFile, StackFile } from "./stack-file";

/** The project: the repository by default; tests point EXOFORM_PROJECT_DIR at a copy. */
export function projectDir(): string {
  return process.env.EXOFORM_PROJECT_DIR ?? path.resolve(__dirname, "..", "..");
}

/** Stack names that have a `stacks/Pulumi.<name>.yaml`. */
export function stackNames(dir = projectDir()): string[] {
  const stacksDir = path.join(dir, "stacks");
  if (!fs.existsSync(stacksDir)) return [];
  return fs
    .readdirSync(stacksDir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((n): n is string => n !== undefined && stackNameProblem(n) === undefined)
    .sort();
}

/**
 * The passphrase scripts/env.sh sets when the user has none: public, so only for stacks of a
 * `localOnly` target, which hold no credentials.
 */
export const BUILTIN_PASSPHRASE = "exoform-local-only";

/** A stack name from the command line, checked by Pulumi's rules (cli: exit code 2). */
export function validStackName(name: string): string {
  return checkStackName(name, (message) => new CliError(message, ExitCode.Config));
}

/**
 * The stack's file, checked (YAML, keys, and the schema unless `validate` is false); a missing
 * one is exit 2 naming the known stacks.
 */
export function requireStackFile(name: string, validate = true): StackFile {
  const dir = projectDir();
  const file = readStackFile(dir, name, validate);
  if (!file) {
    const known = stackNames(dir);
    throw new CliError(
      `no stack file ${stackFileFor(name)} (stacks: ${known.join(", ") || "none"})`,
      ExitCode.Config,
    );
  }
  return file;
}

/**
 * Refuses the built-in local passphrase for a stack whose target is not `localOnly`: its
 * secrets (cloud tokens) would be encrypted with a passphrase anyone can read (exit code 3).
 */
export function checkPassphrase(name: string, targetName: string | undefined): void {
  const target = targetName ? findTarget(targetName) : undefined;
  if (!target || target.localOnly) return;
  if (process.env.PULUMI_CONFIG_PASSPHRASE_FILE) return;
  if (process.env.PULUMI_CONFIG_PASSPHRASE !== BUILTIN_PASSPHRASE) return;
  throw new CliError(
    `the ${targetName} stack ${name} would keep its secrets under the public built-in passphrase; set your own: export PULUMI_CONFIG_PASSPHRASE='<a passphrase of your own>'`,
    ExitCode.Auth,
  );
}

/**
 * Selects the stack, creating it in the backend on first use. Everything that can be checked
 * without Pulumi is checked first (name, stack file, schema, passphrase), so an invalid stack
 * file never leaves an empty stack behind; a stack created here whose decrypted configuration
 * then fails is removed again (its stack file kept).
 */
export async function openStack(name: string): Promise<{ stack: Stack; config: StackConfig }> {
  const dir = projectDir();
  validStackName(name);
  const file = requireStackFile(name);
  checkPassphrase(name, file.flat[`${CONFIG_NAMESPACE}:target`]);
  const existing = await existingStack(name);
  const existed = existing !== undefined;
  const stack =
    existing ??
    (await pulumiCall(() =>
      LocalWorkspace.createStack({ stackName: name, workDir: dir }, workspaceOptions(dir)),
    ));
  try {
    const config = await loadStackConfig(stack);
    checkPassphrase(name, config.target);
    return { stack, config };
  } catch (e) {
    if (!existed) {
      await stack.workspace.removeStack(name, { preserveConfig: true }).catch(() => undefined);
    }
    throw e;
  }
}

/**
 * Options of every workspace: the program learns the project directory from
 * EXOFORM_PROJECT_DIR (infra/state-dir.ts). A file backend's directory is created on first use
 * (Pulumi refuses a missing one).
 */
export function workspaceOptions(dir: string) {
  const backend = process.env.PULUMI_BACKEND_URL;
  if (backend?.startsWith("file://")) {
    fs.mkdirSync(backend.slice("file://".length).replace(/^~(?=\/)/, os.homedir()), {
      recursive: true,
    });
  }
  return { envVars: { EXOFORM_PROJECT_DIR: dir, [RUN_TAG_ENV]: ownRunTag() } };
}

/** The stack if the backend has it (no creation), else undefined. */
export async function existingStack(name: string): Promise<Stack | undefined> {
  validStackName(name);
  const dir = projectDir();
  const ws = await pulumiCall(() =>
    LocalWorkspace.create({ workDir: dir, ...workspaceOptions(dir) }),
  );
  const stacks = await pulumiCall(() => ws.listStacks());
  if (!stacks.some((s) => s.name === name)) return undefined;
  return pulumiCall(() =>
    LocalWorkspace.selectStack({ stackName: name, workDir: dir }, workspaceOptions(dir)),
  );
}

/** The validated configuration; an invalid one (or a target not implemented yet) is exit code 2. */
export async function loadStackConfig(stack: Stack): Promise<StackConfig> {
  const all = await pulumiCall(() => stack.getAllConfig());
  for (const v of Object.values(all)) if (v.secret) addSecretConfigValue(v.value);
  const flat = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.value]));
  return stackConfigFromPulumi(
    stack.name,
    flat,
    (message) => new CliError(message, ExitCode.Config),
  );
}

/**
 * The stack's outputs validated against the outputs contract (infra/outputs.ts), or undefined
 * when it exported none; outputs that break the contract are exit code 1 with each field named.
 */
export async function stackOutputs(stack: Stack): Promise<StackOutputs | undefined> {
  const outputs: OutputMap = await pulumiCall(() => stack.outputs());
  const raw = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));
  try {
    return parseStackOutputs(stack.name, raw);
  } catch (e) {
    if (e instanceof StackOutputsError) throw new CliError(e.message, ExitCode.Error);
    throw e;
  }
}

/**
 * Runs a Pulumi operation, turning the CLI's failures into CliErrors with exoform's exit code:
 * Pulumi's own 2 (configuration) and 3 (authentication) pass through, a wrong passphrase is 3,
 * a stack it cannot find is 2, anything else 1 (deployments classify resource failures as 4
 * themselves, from the engine events).
 */
export async function pulumiCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw cliErrorFromPulumi(e);
  }
}

export function cliErrorFromPulumi(e: unknown, errors: readonly string[] = []): CliError {
  if (e instanceof CliError) return e;
  if (!(e instanceof CommandError)) {
    const err = e as Error;
    if (/pulumi.*(not found|ENOENT)|minimum version/i.test(err.message)) {
      return new CliError(
        `cannot run the Pulumi CLI: ${err.message} (run npm run bootstrap)`,
        ExitCode.Error,
      );
    }
    return new CliError(err.message, ExitCode.Error);
  }
  const result = (e as unknown as { commandResult?: { stderr?: string; code?: number } })
    .commandResult;
  const text =
    [...errors, ...pulumiErrorLines(result?.stderr ?? e.message)].join("\n") || e.message;
  const code = result?.code;
  if (
    code === 3 ||
    /incorrect passphrase|passphrase must be set|PULUMI_ACCESS_TOKEN|not logged in|unauthorized/i.test(
      text,
    )
  ) {
    return new CliError(authHint(text), ExitCode.Auth);
  }
  if (code === 2 || code === 6) return new CliError(text, ExitCode.Config);
  return new CliError(text, ExitCode.Error);
}

/**
 * The `error:` lines of Pulumi's stderr, without its decorations; a hint naming a pulumi
 * command (`pulumi cancel`) names it as `exoform pulumi cancel`, which runs it with the
 * project's settings in the project directory, so it works as printed.
 */
function pulumiErrorLines(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("error: "))
    .map((l) => l.slice("error: ".length).trim())
    .filter((l) => l !== "update failed")
    .map((l) => l.replace(/`pulumi /g, "`exoform pulumi "));
}

function authHint(text: string): string {
  if (!/passphrase/i.test(text)) return text;
  return `${text}\n(the stack's secrets use a passphrase: set PULUMI_CONFIG_PASSPHRASE, or unset it to use the local-only default for the local stack)`;
}
