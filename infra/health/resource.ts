/**
 * The health check as a Pulumi resource: created during `up` (never during preview, where
 * dynamic providers only diff), it runs the probes and fails the deployment when they fail.
 * Its outputs are the report. Any change of the spec (a new instance, a new image, other
 * thresholds) replaces it, which runs the check again: the deadline counts from the check's
 * own start (check.ts), so a re-created check probes a healthy instance and passes.
 */
import * as pulumi from "@pulumi/pulumi";
import { requireProjectModule } from "../project-modules";
import type { HealthCheckSpec, HealthReport } from "./check";

type HealthModule = typeof import("./index");
type EventsModule = typeof import("../program-events");

/**
 * A few lines that find the health module in the project as it is at run time
 * (infra/project-modules.ts): no absolute path is captured in the state.
 */
export const healthCheckProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { spec: HealthCheckSpec }) {
    const health = requireProjectModule<HealthModule>("infra/health/index.js");
    const events = requireProjectModule<EventsModule>("infra/program-events.js");
    const parsed = health.HealthCheckSpecSchema.safeParse(inputs.spec);
    if (!parsed.success) {
      // A target's bug, said one field per line like every other validation error.
      const fields = parsed.error.issues.map(
        (i) => `  ${i.path.join(".") || "(spec)"}: ${i.message}`,
      );
      throw new Error(`the target made an invalid health check spec:\n${fields.join("\n")}`);
    }
    const spec = parsed.data;
    const report = health.assertHealthy(await health.checkHealth(spec, events.sendToCli), spec);
    return {
      id: `${spec.instance}@${spec.startedAtEpochMs}`,
      outs: { spec: inputs.spec, report },
    };
  },
  async diff(_id: string, olds: { spec: unknown }, news: { spec: unknown }) {
    const changed = JSON.stringify(olds.spec) !== JSON.stringify(news.spec);
    return { changes: changed, replaces: changed ? ["spec"] : [] };
  },
};

export interface HealthCheckArgs {
  /** What to probe and the thresholds; see HealthCheckSpec. */
  readonly spec: pulumi.Input<HealthCheckSpec>;
}

/** Pulumi type token `pulumi-nodejs:dynamic/health:HealthCheck`. */
export class HealthCheck extends pulumi.dynamic.Resource {
  /** The report of the check that passed. */
  declare readonly report: pulumi.Output<HealthReport>;
  /** What was probed, with which thresholds (`exoform check` probes the same way again). */
  declare readonly spec: pulumi.Output<HealthCheckSpec>;

  constructor(name: string, args: HealthCheckArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      healthCheckProvider,
      name,
      { spec: args.spec, report: undefined },
      opts,
      "health",
      "HealthCheck",
    );
  }
}

/** The type token of HealthCheck resources, as engine events name it. */
export const HEALTH_CHECK_TYPE = "pulumi-nodejs:dynamic/health:HealthCheck";
