/**
 * `exoform check [stack]`: runs the health probes again against the deployed instances (the same
 * module and thresholds as the deployment's HealthCheck), outside Pulumi: nothing changes.
 * Exit code 0 when every instance is healthy, 4 when one is not.
 */
import type { HealthCheckSpec } from "../../../infra/health/check";
import { checkHealth, readTail } from "../../../infra/health";
import { Command, CommandContext, describeInstance, InstanceOutput, stackArg } from "../../command";
import { CliError, ExitCode } from "../../exit-codes";
import { existingStack, stackOutputs } from "../../stack";

interface DeployedInstance extends InstanceOutput {
  readonly healthSpec: HealthCheckSpec;
}

export const checkCommand: Command = {
  name: "check",
  usage: "check [stack]",
  summary: "health-check a deployed stack again (ping and GET /health)",
  async run(ctx: CommandContext) {
    const name = stackArg(ctx);
    const instances = await deployedInstances(name);
    const reports = [];
    const lines: string[] = [];
    for (const instance of instances) {
      // The deadline counts from now: the instance is already up, this is a retry window.
      const spec = { ...instance.healthSpec, startedAtEpochMs: Date.now() };
      const report = await checkHealth(spec, ctx.output.event);
      reports.push(report);
      lines.push(...describeInstance(instance, report));
      if (!report.healthy) {
        const tail = readTail(instance.serialLog);
        if (tail) lines.push(`    last lines of the serial log (${instance.serialLog}):`, tail);
      }
    }
    if (reports.some((r) => !r.healthy)) {
      throw new CliError(`${name} is not healthy:\n${lines.join("\n")}`, ExitCode.Deployment);
    }
    ctx.output.result("check", { stack: name, reports }, [`${name} is healthy`, ...lines]);
  },
};

/** The instances a stack's last deployment exported; an undeployed stack is exit code 4. */
export async function deployedInstances(name: string): Promise<DeployedInstance[]> {
  const stack = await existingStack(name);
  const outputs = stack ? await stackOutputs(stack) : {};
  const instances = (outputs.instances ?? []) as DeployedInstance[];
  if (instances.length === 0) {
    throw new CliError(
      `${name} has no deployed instances (run: exoform up ${name})`,
      ExitCode.Deployment,
    );
  }
  return instances;
}
