/**
 * The health check's data as zod schemas: the spec a target hands to the check and the report
 * it produces both cross process boundaries (the probe child in a network namespace, the
 * dynamic provider, the stack outputs read by the CLI), so each side validates them.
 */
import { z } from "zod";
import { HealthThresholdsSchema } from "./thresholds";

/** A latency distribution of successful probes (lib/stats.ts), milliseconds. */
export const DistributionSchema = z.object({
  count: z.number().int().positive(),
  minMs: z.number(),
  p50Ms: z.number(),
  p95Ms: z.number(),
  maxMs: z.number(),
});

/** Loss and round-trip times of a finished `ping -c N` run (milliseconds). */
export const PingStatsSchema = z.object({
  sent: z.number().int().nonnegative(),
  received: z.number().int().nonnegative(),
  lossPercent: z.number().min(0).max(100),
  /** Absent when no reply came. */
  rttMinMs: z.number().optional(),
  rttAvgMs: z.number().optional(),
  rttMaxMs: z.number().optional(),
  /** Per-reply round-trip times summarized (p50, p95); absent when no reply came. */
  rtt: DistributionSchema.optional(),
});
export type PingStats = z.infer<typeof PingStatsSchema>;

/** What to probe and how; made by the target, run by infra/health. */
export const HealthCheckSpecSchema = z.object({
  /** The instance, as messages name it. */
  instance: z.string().min(1),
  /** The image id `/health` must report as `build`. */
  expectedBuild: z.string().min(1),
  /** Full URL of the health endpoint, e.g. http://10.0.2.15/health. */
  httpUrl: z.string().url(),
  /** The address to ping, or why ICMP cannot be checked on this target. */
  icmp: z.union([
    z.object({ address: z.string().min(1) }).strict(),
    z.object({ skipReason: z.string().min(1) }).strict(),
  ]),
  /**
   * When the instance was started (epoch ms): time to the first reply counts from it. The
   * deadline does not: it counts from the start of the check, which always probes first.
   */
  startedAtEpochMs: z.number().nonnegative(),
  thresholds: HealthThresholdsSchema,
  /**
   * How probes reach the instance: from this machine's network (absent), or from inside the
   * named network namespace (`ip netns exec`), where a target keeps its instances' links.
   */
  netns: z.string().min(1).optional(),
  /**
   * A file holding the instance's console output (absolute, or relative to the project
   * directory), whose tail goes into failure messages.
   */
  consoleLogPath: z.string().min(1).optional(),
});
export type HealthCheckSpec = z.infer<typeof HealthCheckSpecSchema>;

export type ProbeName = "icmp" | "http";

export const IcmpResultSchema = z.object({
  status: z.enum(["passed", "failed", "skipped"]),
  address: z.string().optional(),
  /** Why ICMP was skipped. */
  reason: z.string().optional(),
  /** Instance start → first echo reply (ms). */
  firstReplyMs: z.number().optional(),
  stats: PingStatsSchema.optional(),
});
export type IcmpResult = z.infer<typeof IcmpResultSchema>;

export const HttpResultSchema = z.object({
  status: z.enum(["passed", "failed"]),
  url: z.string(),
  /** Instance start → first 200 with the expected build (ms). */
  firstOkMs: z.number().optional(),
  build: z.string().optional(),
  latencyAvgMs: z.number().optional(),
  latencyMaxMs: z.number().optional(),
  requests: z.number().int().optional(),
  /** Latencies of the timed requests summarized (p50, p95, max). */
  latency: DistributionSchema.optional(),
  /** Timed requests that failed, in percent of `requests`. */
  lossPercent: z.number().min(0).max(100).optional(),
});
export type HttpResult = z.infer<typeof HttpResultSchema>;

export const HealthReportSchema = z.object({
  healthy: z.boolean(),
  instance: z.string(),
  expectedBuild: z.string(),
  icmp: IcmpResultSchema,
  http: HttpResultSchema,
  /** One entry per failed probe, with the last error it saw. */
  failures: z.array(z.object({ probe: z.enum(["icmp", "http"]), error: z.string() })),
  /** ISO 8601 time the check finished. */
  checkedAt: z.string(),
});
export type HealthReport = z.infer<typeof HealthReportSchema>;
