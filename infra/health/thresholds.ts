/** The stack setting `exoform:health`: when an instance counts as healthy, and how long to wait. */
import { z } from "zod";

export const HealthThresholdsSchema = z
  .object({
    /** Seconds from the start of the check until both probes must have passed. */
    deadlineSeconds: z.number().positive().max(3600).default(60),
    /** Echo requests sent to measure loss and round-trip time once the first reply came. */
    pingCount: z.number().int().min(1).max(100).default(5),
    /** Highest acceptable ICMP packet loss, in percent. */
    maxPacketLossPercent: z.number().min(0).max(100).default(0),
    /** Highest acceptable average ICMP round-trip time. */
    maxRttMs: z.number().positive().default(500),
    /** GET /health requests timed once the first 200 came. */
    httpCount: z.number().int().min(1).max(100).default(3),
    /** Highest acceptable GET /health latency (slowest of httpCount requests). */
    maxHttpLatencyMs: z.number().positive().default(1000),
  })
  .strict();
export type HealthThresholds = z.infer<typeof HealthThresholdsSchema>;
