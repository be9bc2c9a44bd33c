/**
 * `exoform status`: every stack file with its state in the backend (resources, last update) and,
 * for deployed local instances, whether their QEMU process is still alive.
 */
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { isQemuRunning } from "../../../infra/local/qemu";
import { Command, CommandContext, InstanceOutput } from "../../command";
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
    const stacks = [];
    for (const name of stackNames(dir)) {
      const summary = inBackend.find((s) => s.name === name);
      let instances: { name: string; url: string; pid: number; running: boolean }[] = [];
      if (summary && (summary.resourceCount ?? 0) > 0) {
        const stack = await pulumiCall(() =>
          LocalWorkspace.selectStack({ stackName: name, workDir: dir }),
        );
        const deployed = ((await stackOutputs(stack)).instances ?? []) as InstanceOutput[];
        instances = deployed.map((i) => ({
          name: i.name,
          url: i.url,
          pid: i.pid,
          running: isQemuRunning(i.pidFile),
        }));
      }
      stacks.push({
        name,
        deployed: instances.length > 0,
        resources: summary?.resourceCount ?? 0,
        lastUpdate: summary?.lastUpdate ?? null,
        updateInProgress: summary?.updateInProgress ?? false,
        instances,
      });
    }
    const lines = stacks.flatMap((s) => [
      `${s.name}: ${s.deployed ? `${s.instances.length} instance(s), ${s.resources} resources, updated ${s.lastUpdate}` : "not deployed"}${s.updateInProgress ? " (update in progress)" : ""}`,
      ...s.instances.map(
        (i) =>
          `  ${i.name}  ${i.url}  pid ${i.pid} ${i.running ? "running" : "NOT RUNNING (exoform up repairs it)"}`,
      ),
    ]);
    ctx.output.result(
      "status",
      { stacks },
      lines.length ? lines : ["no stacks (add stacks/Pulumi.<name>.yaml)"],
    );
  },
};
