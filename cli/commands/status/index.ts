/**
 * `exoform status`: every stack, from the stack files and from the backend (a stack deployed
 * before its file was removed still shows), with its state (resources, last update) and, where
 * the target can tell, whether each instance still runs.
 */
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { Command, CommandContext, targetOf } from "../../command";
import { projectDir, pulumiCall, stackNames, stackOutputs, workspaceOptions } from "../../stack";

export const statusCommand: Command = {
  name: "status",
  usage: "status",
  summary: "list the stacks, their instances and whether they run",
  async run(ctx: CommandContext) {
    const dir = projectDir();
    const ws = await pulumiCall(() =>
      LocalWorkspace.create({ workDir: dir, ...workspaceOptions(dir) }),
    );
    const inBackend = await pulumiCall(() => ws.listStacks());
    const files = new Set(stackNames(dir));
    const names = [...new Set([...files, ...inBackend.map((s) => s.name)])].sort();
    const stacks = [];
    for (const name of names) {
      const summary = inBackend.find((s) => s.name === name);
      let target: string | null = null;
      const instances: { name: string; url: string; running: boolean | null }[] = [];
      if (summary && (summary.resourceCount ?? 0) > 0) {
        const stack = await pulumiCall(() =>
          LocalWorkspace.selectStack({ stackName: name, workDir: dir }, workspaceOptions(dir)),
        );
        const outputs = await stackOutputs(stack);
        if (outputs) {
          target = outputs.target;
          const t = targetOf(outputs);
          for (const i of outputs.instances) {
            const running = t?.isRunning ? await t.isRunning(i).catch(() => undefined) : undefined;
            instances.push({ name: i.name, url: i.url, running: running ?? null });
          }
        }
      }
      stacks.push({
        name,
        target,
        stackFile: files.has(name),
        deployed: instances.length > 0,
        resources: summary?.resourceCount ?? 0,
        lastUpdate: summary?.lastUpdate ?? null,
        updateInProgress: summary?.updateInProgress ?? false,
        instances,
      });
    }
    const lines = stacks.flatMap((s) => [
      `${s.name}: ${s.deployed ? `${s.target}, ${s.instances.length} instance(s), ${s.resources} resources, updated ${s.lastUpdate}` : s.resources > 0 ? `${s.resources} resources, no instances` : "not deployed"}${s.updateInProgress ? " (update in progress)" : ""}${s.stackFile ? "" : " (no stack file)"}`,
      ...s.instances.map((i) =>
        `  ${i.name}  ${i.url}  ${i.running === null ? "" : i.running ? "running" : `NOT RUNNING (exoform up ${s.name} repairs it)`}`.trimEnd(),
      ),
    ]);
    ctx.output.result(
      "status",
      { stacks },
      lines.length ? lines : ["no stacks (add stacks/Pulumi.<name>.yaml)"],
    );
  },
};
