/**
 * The comparison of deployed stacks that `exoform compare` writes: per instance, the phase
 * timings and probe statistics exactly as each stack's outputs recorded them (nothing is
 * re-measured or recomputed), each stack's monthly cost, and whether every stack runs the same
 * image. Pure: rendered by markdown.ts and html.ts, or written as JSON.
 */
import type { Distribution } from "../stats";

/** The deployment phases a report shows, in the order they happen. */
export const PHASES = ["build", "upload", "import", "create", "firstPing", "firstHttp200"] as const;
export type PhaseName = (typeof PHASES)[number];

/** What a comparison needs of one stack's outputs (the outputs contract, infra/outputs.ts). */
export interface ComparedStackInput {
  readonly stack: string;
  readonly target: string;
  readonly imageId: string;
  readonly monthlyCostUsd?: number;
  readonly instances: readonly {
    readonly name: string;
    readonly phases: Partial<Record<PhaseName, number>>;
    readonly monthlyCostUsd?: number;
    readonly health: {
      readonly icmp: {
        readonly status: string;
        readonly stats?: { readonly lossPercent: number; readonly rtt?: Distribution };
      };
      readonly http: {
        readonly status: string;
        readonly latency?: Distribution;
        readonly lossPercent?: number;
      };
    };
  }[];
}

/** Probe statistics of one protocol for one instance; absent figures were not measured. */
export interface ProbeSummary {
  readonly status: string;
  readonly lossPercent?: number;
  readonly latency?: Distribution;
}

export interface ComparedInstance {
  readonly stack: string;
  readonly name: string;
  /** Milliseconds per phase, as the outputs recorded them. */
  readonly phases: Partial<Record<PhaseName, number>>;
  readonly monthlyCostUsd?: number;
  readonly icmp: ProbeSummary;
  readonly http: ProbeSummary;
}

export interface ComparedStack {
  readonly stack: string;
  readonly target: string;
  readonly imageId: string;
  readonly instanceCount: number;
  /** USD per month of the whole stack (instances + stored images), when the target knows it. */
  readonly monthlyCostUsd?: number;
}

export interface Comparison {
  readonly format: "exoform-comparison/1";
  /** ISO 8601. */
  readonly generatedAt: string;
  /** True when every stack runs the same image id. */
  readonly sameImage: boolean;
  readonly stacks: readonly ComparedStack[];
  readonly instances: readonly ComparedInstance[];
}

/** The comparison of `stacks` (at least one), in the order given. Pure but for `now`. */
export function compareStacks(
  stacks: readonly ComparedStackInput[],
  now: Date = new Date(),
): Comparison {
  return {
    format: "exoform-comparison/1",
    generatedAt: now.toISOString(),
    sameImage: new Set(stacks.map((s) => s.imageId)).size === 1,
    stacks: stacks.map((s) => ({
      stack: s.stack,
      target: s.target,
      imageId: s.imageId,
      instanceCount: s.instances.length,
      ...(s.monthlyCostUsd !== undefined && { monthlyCostUsd: s.monthlyCostUsd }),
    })),
    instances: stacks.flatMap((s) =>
      s.instances.map((i) => ({
        stack: s.stack,
        name: i.name,
        phases: i.phases,
        ...(i.monthlyCostUsd !== undefined && { monthlyCostUsd: i.monthlyCostUsd }),
        icmp: {
          status: i.health.icmp.status,
          ...(i.health.icmp.stats && { lossPercent: i.health.icmp.stats.lossPercent }),
          ...(i.health.icmp.stats?.rtt && { latency: i.health.icmp.stats.rtt }),
        },
        http: {
          status: i.health.http.status,
          ...(i.health.http.lossPercent !== undefined && {
            lossPercent: i.health.http.lossPercent,
          }),
          ...(i.health.http.latency && { latency: i.health.http.latency }),
        },
      })),
    ),
  };
}

/** Human names of the phases, for tables and chart legends. */
export const PHASE_LABELS: Record<PhaseName, string> = {
  build: "build",
  upload: "upload",
  import: "import",
  create: "create",
  firstPing: "first ping",
  firstHttp200: "first HTTP 200",
};
