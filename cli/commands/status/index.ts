/**
 * `exoform status`: every stack, from the stack files and from the backend (a stack deployed
 * before its file was removed, or whose file is broken, still shows), with its state
 * (resources, last update) and each instance: from the outputs, or, where there are none (an
 * `up --keep-failed` that failed), as the target finds them; instances that no state owns
 * (an interrupted create, a deleted state) show as orphaned. Where the target can tell, whether
 * each instance still runs.
 */
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { Command, CommandContext, targetOf } from "../../command";
import { foundInstances, stateOf } from "../../recover";
import { readStackFile } from "../../stack-file";
import { projectDir, pulumiCall, stackNames, stackOutputs, workspaceOptions } from "../../stack";

interface InstanceStatus {
  name: string;
  url: string | null;
  running: boolean | null;
  /** outputs: deployed; state: in the state without outputs (a kept failed up); orphan: no state owns it. */
  source: "outputs" | "state" | "orphan";
}

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
      let problem: string | null = null;
      const instances: InstanceStatus[] = [];
      if (files.has(name)) {
        try {
          readStackFile(dir, name, false);
        } catch (e) {
          problem = (e as Error).message;
        }
      }
      let owned = new Set<string | undefined>();
      try {
        if (summary && (summary.resourceCount ?? 0) > 0) {
          const stack = await pulumiCall(() =>
            LocalWorkspace.selectStack({ stackName: name, workDir: dir }, workspaceOptions(dir)),
          );
          owned = new Set((await stateOf(stack)).resources.map((r) => r.id));
          const outputs = await stackOutputs(stack);
          if (outputs) {
            target = outputs.target;
            const t = targetOf(outputs);
            for (const i of outputs.instances) {
              const running = t?.isRunning
                ? await t.isRunning(i).catch(() => undefined)
                : undefined;
              instances.push({
                name: i.name,
                url: i.url,
                running: running ?? null,
                source: "outputs",
              });
            }
          }
        }
      } catch (e) {
        problem ??= (e as Error).message;
      }
      const fromOutputs = instances.length;
      for (const { target: t, instance } of await foundInstances(name)) {
        const inState = owned.has(instance.id);
        if (inState && fromOutputs > 0) continue;
        target ??= t.name;
        instances.push({
          name: instance.description,
          url: null,
          running: null,
          source: inState ? "state" : "orphan",
        });
      }
      stacks.push({
        name,
        target,
        stackFile: files.has(name),
        problem,
        deployed: fromOutputs > 0,
        resources: summary?.resourceCount ?? 0,
        lastUpdate: summary?.lastUpdate ?? null,
        updateInProgress: summary?.updateInProgress ?? false,
        instances,
      });
    }
    const lines = stacks.flatMap((s) => [
      `${s.name}: ${s.deployed ? `${s.target}, ${s.instances.filter((i) => i.source === "outputs").length} instance(s), ${s.resources} resources, updated ${s.lastUpdate}` : s.resources > 0 ? `${s.resources} resources, no outputs` : "not deployed"}${s.updateInProgress ? " (update in progress)" : ""}${s.stackFile ? "" : " (no stack file)"}`,
      ...(s.problem ? [`  ! ${s.problem.split("\n")[0]}`] : []),
      ...s.instances.map((i) =>
        i.source === "outputs"
          ? `  ${i.name}  ${i.url}  ${i.running === null ? "" : i.running ? "running" : `NOT RUNNING (exoform up ${s.name} repairs it)`}`.trimEnd()
          : i.source === "state"
            ? `  ${i.name}  kept from a failed up (exoform logs ${s.name}; exoform down ${s.name} removes it)`
            : `  ${i.name}  ORPHANED: no state owns it (exoform down ${s.name} or exoform up ${s.name} removes it)`,
      ),
    ]);
    ctx.output.result(
      "status",
      { stacks },
      lines.length ? lines : ["no stacks (add stacks/Pulumi.<name>.yaml)"],
    );
  },
};
