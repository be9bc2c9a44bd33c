/** Helpers of the mocked program tests (pulumi.runtime.setMocks: no engine runs). */
import * as pulumi from "@pulumi/pulumi";

/** The value of an Output (or a plain value), as the engine would export it. */
export function valueOf<T>(o: unknown): Promise<T> {
  return new Promise((resolve) =>
    pulumi.output(o as pulumi.Input<T>).apply((v) => resolve(v as T)),
  );
}

/**
 * The mocked HealthCheck's report: healthy, for the spec it was given; ICMP as `icmp` says
 * (default: skipped), the first 200 after 900 ms.
 */
export function cannedReport(
  spec: { instance: string; expectedBuild: string; httpUrl: string },
  icmp: Record<string, unknown> = { status: "skipped", reason: "mocked" },
) {
  return {
    healthy: true,
    instance: spec.instance,
    expectedBuild: spec.expectedBuild,
    icmp,
    http: { status: "passed", url: spec.httpUrl, firstOkMs: 900, build: spec.expectedBuild },
    failures: [],
    checkedAt: new Date(0).toISOString(),
  };
}
