/**
 * `exoform build [stack]`: the kernel (`make -C kernel`) and the stack's image (raw, VMDK,
 * raw.gz, manifest) into the stack's working directory, without deploying. `up` builds the same image inside the
 * Pulumi program, so its id is known at plan time.
 */
import * as path from "node:path";
import { buildImage, formatBuildResult } from "../../../image-builder";
import { stackStateDir } from "../../../infra/state-dir";
import { Command, CommandContext, stackArg } from "../../command";
import { loadStackConfig, openStack, projectDir } from "../../stack";

export const buildCommand: Command = {
  name: "build",
  usage: "build [stack]",
  summary: "build the kernel and a stack's disk image without deploying",
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    const config = await loadStackConfig(await openStack(name));
    const outDir = path.join(stackStateDir(projectDir(), name), "images");
    const result = await buildImage({ config: config.image, outDir, onEvent: ctx.output.event });
    ctx.output.result("build", { stack: name, ...result }, [formatBuildResult(result)]);
  },
};
