/**
 * `exoform build [stack] [--config file] [--out dir]`: the kernel (`make -C kernel`) and a disk
 * image (raw, VMDK, raw.gz, manifest) without deploying. The image configuration comes from
 * the stack (default `local`) or, with --config, from a JSON file; artefacts go to the stack's
 * working directory or to --out. `up` builds the same image inside the Pulumi program, so its
 * id is known at plan time.
 */
import * as path from "node:path";
import {
  buildImage,
  formatBuildResult,
  ImageConfig,
  ImageConfigError,
  loadImageConfigFile,
} from "../../../image-builder";
import { stackStateDir } from "../../../infra/state-dir";
import { Command, CommandContext, stackArg } from "../../command";
import { CliError, ExitCode } from "../../exit-codes";
import { stackConfigFromPulumi } from "../../../infra/config";
import { openStack, projectDir, requireStackFile } from "../../stack";

export const buildCommand: Command = {
  name: "build",
  usage: "build [stack] [--config file] [--out dir]",
  summary: "build the kernel and a disk image (from a stack or a JSON config) without deploying",
  options: { config: { type: "string" }, out: { type: "string" } },
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    const configFile = typeof ctx.flags.config === "string" ? ctx.flags.config : undefined;
    const config = configFile
      ? await configFromFile(configFile)
      : (await configOfStack(name)).image;
    const outDir =
      typeof ctx.flags.out === "string"
        ? path.resolve(ctx.flags.out)
        : path.join(stackStateDir(projectDir(), name), "images");
    const result = await buildImage({ config, outDir, onEvent: ctx.output.event });
    ctx.output.result("build", { stack: configFile ? undefined : name, ...result }, [
      formatBuildResult(result),
    ]);
  },
};

/**
 * The stack's configuration from its stack file, without touching the backend; a stack file
 * with secure exoform values needs Pulumi to decrypt them.
 */
async function configOfStack(name: string) {
  const file = requireStackFile(name);
  if (file.secureKeys.some((k) => k.startsWith("exoform:"))) return (await openStack(name)).config;
  return stackConfigFromPulumi(
    name,
    file.flat,
    (message) => new CliError(message, ExitCode.Config),
  );
}

async function configFromFile(file: string): Promise<ImageConfig> {
  try {
    return await loadImageConfigFile(file);
  } catch (e) {
    if (e instanceof ImageConfigError) throw new CliError(e.message, ExitCode.Config);
    throw e;
  }
}
