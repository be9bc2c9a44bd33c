/**
 * `exoform preview [stack]`: what `up` would change, as `pulumi preview` computes it: nothing is
 * created, started or written (the image is built into a temporary directory to learn its id).
 */
import { Command, CommandContext, stackArg } from "../../command";
import { planLines, previewPlan } from "../../plan";
import { openStack } from "../../stack";

export const previewCommand: Command = {
  name: "preview",
  usage: "preview [stack]",
  summary: "show what up would change, without changing anything",
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    const { stack } = await openStack(name);
    const plan = await previewPlan(stack, ctx.output.event);
    ctx.output.result("preview", { stack: name, ...plan }, planLines(name, plan));
  },
};
