/**
 * Summaries of probe samples (latencies in milliseconds): the figures reports compare. The
 * quantiles are simple-statistics' (R-7 linear interpolation, as R and NumPy's default).
 */
import { quantileSorted } from "simple-statistics";

export interface Distribution {
  /** Samples summarized (successful probes). */
  readonly count: number;
  readonly minMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
}

/** The distribution of `samples` (ms, rounded to 0.01), or undefined when there are none. Pure. */
export function distribution(samples: readonly number[]): Distribution | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 100) / 100;
  return {
    count: sorted.length,
    minMs: r(sorted[0]),
    p50Ms: r(quantileSorted(sorted, 0.5)),
    p95Ms: r(quantileSorted(sorted, 0.95)),
    maxMs: r(sorted[sorted.length - 1]),
  };
}
