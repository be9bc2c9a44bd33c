/**
 * `exoform check [stack]`: runs the health probes again against the deployed instances (the same
 * module and thresholds as the deployment's HealthCheck), outside Pulumi: nothing changes.
 * Exit code 0 when every instance is healthy, 4 when one is not.
 */
import { checkHealth, healthFailureMessage } from "../../../infra/health";
import type { StackOutputs } from "../../../infra/outputs";
import {
  Command,
  CommandContext,
  consoleTailFor,
  describeInstance,
  stackArg,
  targetOf,
} from "../../command";
import { CliError, ExitCode } from "../../exit-codes";
import { existingStack, stackOutputs } from "../../stack";

export const checkCommand: Command = {
  name: "check",
  usage: "check [stack]",
  summary: "health-check a deployed stack again (ping and GET /health)",
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    const outputs = await deployedOutputs(name);
    const target = targetOf(outputs);
    const reports = [];
    const lines: string[] = [];
    for (const instance of outputs.instances) {
      // Times to the first reply count from now: the instance is already up.
      const spec = { ...instance.healthSpec, startedAtEpochMs: Date.now() };
      const report = await checkHealth(spec, ctx.output.event);
      reports.push(report);
      lines.push(...describeInstance(instance, target, report));
      if (!report.healthy) {
        lines.push(healthFailureMessage(report, await consoleTailFor(instance, target)));
      }
    }
    if (reports.some((r) => !r.healthy)) {
      throw new CliError(`${name} is not healthy:\n${lines.join("\n")}`, ExitCode.Deployment);
    }
    ctx.output.result("check", { stack: name, reports }, [`${name} is healthy`, ...lines]);
  },
};

/** The validated outputs of a stack's last deployment; an undeployed stack is exit code 4. */
export async function deployedOutputs(name: string): Promise<StackOutputs> {
  const stack = await existingStack(name);
  const outputs = stack ? await stackOutputs(stack) : undefined;
  if (!outputs || outputs.instances.length === 0) {
    throw new CliError(
      `${name} has no deployed instances (run: exoform up ${name})`,
      ExitCode.Deployment,
    );
  }
  return outputs;
}
