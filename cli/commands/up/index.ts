/**
 * `exoform up [stack]`: `pulumi up` the stack; the program builds the kernel and the image,
 * starts the instances and health-checks them. A failed deployment is rolled back: the
 * resources this run created are destroyed, so an instance that never became healthy is not
 * left running (--keep-failed keeps them for debugging).
 */
import type { Stack } from "@pulumi/pulumi/automation";
import type { EventSink } from "../../../lib/events";
import type { InstanceOutput } from "../../../infra/outputs";
import {
  Command,
  CommandContext,
  describeInstance,
  stackArg,
  targetOf,
  yesFlag,
} from "../../command";
import { confirmOrStop, requireYesWhenNonInteractive } from "../../confirm";
import { EngineEventState, onlyRemovalsFailed } from "../../engine-events";
import { CliError, ExitCode } from "../../exit-codes";
import { engineOperation } from "../../operation";
import { planLines, previewPlan } from "../../plan";
import { recoverStack } from "../../recover";
import { cliErrorFromPulumi, openStack, stackOutputs } from "../../stack";

export const upCommand: Command = {
  name: "up",
  usage: "up [stack] [--yes] [--keep-failed]",
  summary: "build, deploy and health-check a stack (default: local); asks first unless --yes",
  options: { "keep-failed": { type: "boolean" }, yes: { type: "boolean", short: "y" } },
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    const yes = yesFlag(ctx);
    requireYesWhenNonInteractive("up", yes, ctx.json);
    const onEvent = ctx.output.event;
    const { stack, config } = await openStack(name);
    await recoverStack(name, stack, onEvent);
    if (!yes) {
      const plan = await previewPlan(stack, onEvent);
      ctx.output.finish();
      process.stderr.write(planLines(name, plan).join("\n") + "\n");
      await confirmOrStop(`Do you want to perform this update of ${name}?`, false);
    }

    onEvent({
      phase: "deploy",
      status: "start",
      message: `pulumi up ${name} (target ${config.target})`,
    });
    const changes = await engineOperation(stack, onEvent, async (run) => {
      try {
        const result = await stack.up({ color: "never", signal: run.signal, onEvent: run.onEvent });
        const done = Object.fromEntries(
          Object.entries(result.summary.resourceChanges ?? {}).filter(([op]) => op !== "same"),
        ) as Record<string, number>;
        const said = Object.entries(done).map(([op, n]) => `${n} ${op}`);
        onEvent({
          phase: "deploy",
          status: "stop",
          message: said.length ? said.join(", ") : "no changes",
        });
        return done;
      } catch (e) {
        onEvent({ phase: "deploy", status: "error", message: "failed" });
        if (run.interrupted()) throw e;
        const error = deploymentError(e, run.state);
        if (onlyRemovalsFailed(run.state)) {
          // The new instances are healthy and serving: keep them; what could not be removed
          // is still in the state and the next up removes it.
          throw new CliError(
            `${error.message}\n(the new deployment is healthy and serving; only removing what it replaced failed: run exoform up ${name} again to finish)`,
            error.exitCode,
          );
        }
        if (!ctx.flags["keep-failed"] && run.state.created.length > 0)
          await rollBack(stack, run.state, onEvent);
        else if (ctx.flags["keep-failed"] && run.state.created.length > 0)
          throw new CliError(
            `${error.message}\n(kept for debugging: exoform status ${name}, exoform logs ${name}; exoform down ${name} removes it)`,
            error.exitCode,
          );
        throw error;
      }
    });

    const outputs = await stackOutputs(stack);
    const instances = outputs?.instances ?? [];
    const target = outputs && targetOf(outputs);
    const lines = [
      `${name} is up: ${instances.length} instance${instances.length === 1 ? "" : "s"}, image ${String(outputs?.imageId).slice(0, 16)}…`,
      ...instances.flatMap((i) => describeInstance(i, target)),
      ...howToReach(name, instances),
    ];
    ctx.output.result("up", { stack: name, changes, outputs }, lines);
  },
};

function deploymentError(e: unknown, state: EngineEventState): CliError {
  const base = cliErrorFromPulumi(e, state.errors);
  return state.resourceFailed ? new CliError(base.message, ExitCode.Deployment) : base;
}

/** Destroys exactly what this run created (and what depends on it). */
async function rollBack(stack: Stack, state: EngineEventState, onEvent: EventSink) {
  onEvent({
    phase: "rollback",
    status: "start",
    message: `destroying ${state.created.length} resource(s) this run created`,
  });
  try {
    await stack.destroy({ target: state.created, targetDependents: true, color: "never" });
    onEvent({
      phase: "rollback",
      status: "stop",
      message: "nothing of the failed deployment is left running",
    });
  } catch (e) {
    onEvent({
      phase: "rollback",
      status: "error",
      message: `rollback failed: ${cliErrorFromPulumi(e).message}`,
    });
  }
}

function howToReach(stack: string, instances: InstanceOutput[]): string[] {
  const first = instances[0];
  if (!first) return [];
  const netns = first.healthSpec.netns;
  const curl = netns ? `ip netns exec ${netns} curl ${first.url}` : `curl ${first.url}`;
  const down =
    stack === "local" ? "npm run down   (or: exoform down local)" : `exoform down ${stack}`;
  return [
    `  try it:      ${curl}`,
    `  serial log:  exoform logs ${stack}`,
    `  re-check:    exoform check ${stack}`,
    `  stop:        ${down}`,
  ];
}
