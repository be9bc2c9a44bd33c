/**
 * `exoform compare <stack> <stack> [...] [--out dir] [--deploy] [--destroy]`: one report on
 * deployed stacks (any targets) running the same image: phase timings, probe statistics and
 * monthly cost exactly as each stack's outputs recorded them, and whether every stack runs the
 * same image id. Written three ways: `report.md` (fits a pull-request comment), `report.html`
 * (self-contained, SVG charts) and `report.json`. `--deploy` runs `up` on each stack first,
 * `--destroy` runs `down` on each afterwards (also when the report fails).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { compareStacks, ComparedStackInput } from "../../../lib/report/comparison";
import { renderHtml } from "../../../lib/report/html";
import { renderMarkdown } from "../../../lib/report/markdown";
import { Command, CommandContext } from "../../command";
import { CliError, ExitCode } from "../../exit-codes";
import { projectDir } from "../../stack";
import { deployedOutputs } from "../check";
import { downCommand } from "../down";
import { upCommand } from "../up";

export const compareCommand: Command = {
  name: "compare",
  usage: "compare <stack> <stack> [...] [--out dir] [--deploy] [--destroy]",
  summary: "compare deployed stacks: phase timings, latency, cost (markdown, HTML, JSON)",
  maxPositionals: Infinity,
  options: {
    out: { type: "string" },
    deploy: { type: "boolean" },
    destroy: { type: "boolean" },
  },
  async run(ctx: CommandContext) {
    const stacks = [...ctx.args];
    if (stacks.length < 2) {
      throw new CliError(
        `compare needs at least two stacks\nusage: exoform ${this.usage}`,
        ExitCode.Config,
      );
    }
    if (new Set(stacks).size !== stacks.length) {
      throw new CliError(`a stack is named twice: ${stacks.join(" ")}`, ExitCode.Config);
    }
    try {
      if (ctx.flags.deploy) {
        // --deploy and --destroy are the confirmation: the nested commands do not ask again.
        for (const stack of stacks)
          await upCommand.run({ ...ctx, args: [stack], flags: { ...ctx.flags, yes: true } });
      }
      const inputs: ComparedStackInput[] = [];
      for (const stack of stacks) inputs.push({ stack, ...(await deployedOutputs(stack)) });
      const comparison = compareStacks(inputs);
      const outDir =
        typeof ctx.flags.out === "string"
          ? path.resolve(ctx.flags.out)
          : path.join(projectDir(), ".exoform", "reports", `${stacks.join("-vs-")}`);
      fs.mkdirSync(outDir, { recursive: true });
      const markdown = renderMarkdown(comparison);
      const files = {
        markdown: path.join(outDir, "report.md"),
        html: path.join(outDir, "report.html"),
        json: path.join(outDir, "report.json"),
      };
      fs.writeFileSync(files.markdown, markdown);
      fs.writeFileSync(files.html, renderHtml(comparison));
      fs.writeFileSync(files.json, JSON.stringify(comparison, null, 2) + "\n");
      ctx.output.result("compare", { stacks, files, comparison }, [
        markdown,
        `report: ${files.markdown}, ${files.html}, ${files.json}`,
        ...(comparison.sameImage ? [] : ["warning: the stacks run different images"]),
      ]);
    } finally {
      if (ctx.flags.destroy) {
        for (const stack of stacks)
          await downCommand.run({ ...ctx, args: [stack], flags: { ...ctx.flags, yes: true } });
      }
    }
  },
};
