/**
 * `exoform outputs [stack] [--json]`: the stack's outputs (the outputs contract,
 * infra/outputs.ts), validated: `--json` gives them whole; otherwise one line per instance.
 */
import { Command, CommandContext, stackArg } from "../../command";
import { deployedOutputs } from "../check";

export const outputsCommand: Command = {
  name: "outputs",
  usage: "outputs [stack]",
  summary: "print the stack's outputs (--json: the whole outputs contract)",
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    const outputs = await deployedOutputs(name);
    ctx.output.result("outputs", { stack: name, outputs }, [
      `target:   ${outputs.target}`,
      `imageId:  ${outputs.imageId}`,
      ...(outputs.monthlyCostUsd !== undefined ? [`monthly:  $${outputs.monthlyCostUsd}`] : []),
      "instances:",
      ...outputs.instances.map((i) =>
        `  ${i.name}  ${i.url}  ${i.address ?? ""}  healthy: ${i.health.healthy}`.trimEnd(),
      ),
    ]);
  },
};
