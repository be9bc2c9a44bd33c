/**
 * `exoform up [stack]`: `pulumi up` the stack; the program builds the kernel and the image,
 * starts the instances and health-checks them. A failed deployment is rolled back: the
 * resources this run created are destroyed, so an instance that never became healthy is not
 * left running (--keep-failed keeps them for debugging).
 */
import type { Stack } from "@pulumi/pulumi/automation";
import type { EventSink } from "../../../lib/events";
import type { InstanceOutput } from "../../../infra/outputs";
import { Command, CommandContext, describeInstance, stackArg, targetOf } from "../../command";
import { EngineEventState, newEngineEventState, translateEngineEvent } from "../../engine-events";
import { openEventChannel } from "../../event-channel";
import { CliError, ExitCode } from "../../exit-codes";
import { cliErrorFromPulumi, loadStackConfig, openStack, stackOutputs } from "../../stack";

export const upCommand: Command = {
  name: "up",
  usage: "up [stack] [--keep-failed]",
  summary: "build, deploy and health-check a stack (default: local)",
  options: { "keep-failed": { type: "boolean" } },
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    const onEvent = ctx.output.event;
    const stack = await openStack(name);
    const config = await loadStackConfig(stack);

    onEvent({
      phase: "deploy",
      status: "start",
      message: `pulumi up ${name} (target ${config.target})`,
    });
    const state = newEngineEventState();
    let changes: Record<string, number> = {};
    const channel = await openEventChannel(stack, onEvent);
    try {
      const result = await stack.up({
        color: "never",
        onEvent: (e) => translateEngineEvent(e, state).forEach(onEvent),
      });
      changes = Object.fromEntries(
        Object.entries(result.summary.resourceChanges ?? {}).filter(([op]) => op !== "same"),
      ) as Record<string, number>;
      const said = Object.entries(changes).map(([op, n]) => `${n} ${op}`);
      onEvent({
        phase: "deploy",
        status: "stop",
        message: said.length ? said.join(", ") : "no changes",
      });
    } catch (e) {
      await channel.close();
      onEvent({ phase: "deploy", status: "error", message: "failed" });
      const error = deploymentError(e, state);
      if (!ctx.flags["keep-failed"] && state.created.length > 0)
        await rollBack(stack, state, onEvent);
      throw error;
    }
    await channel.close();

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
