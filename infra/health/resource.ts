/**
 * The health check as a Pulumi resource: created during `up` (never during preview, where
 * dynamic providers only diff), it runs the probes and fails the deployment when they fail.
 * Its outputs are the report. Any change of the spec (a new instance, a new image, other
 * thresholds) replaces it, which runs the check again.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { HealthCheckSpec, HealthReport } from "./check";

/**
 * Absolute path of the health module, captured by value in the serialized provider: the
 * provider itself stays a few lines that require() the real code at run time.
 */
const healthModulePath = path.join(__dirname, "index.js");

export const healthCheckProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { spec: HealthCheckSpec }) {
    const health = require(healthModulePath) as typeof import("./index");
    const report = health.assertHealthy(await health.checkHealth(inputs.spec), inputs.spec);
    return {
      id: `${inputs.spec.instance}@${inputs.spec.startedAtEpochMs}`,
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
