/** Probe sample summaries (lib/stats.ts). */
import { distribution } from "../../lib/stats";

test("quantiles by linear interpolation over the sorted samples", () => {
  expect(distribution([5, 1, 3, 2, 4])).toEqual({
    count: 5,
    minMs: 1,
    p50Ms: 3,
    p95Ms: 4.8,
    maxMs: 5,
  });
  expect(distribution([0.123456])).toEqual({
    count: 1,
    minMs: 0.12,
    p50Ms: 0.12,
    p95Ms: 0.12,
    maxMs: 0.12,
  });
  expect(distribution([])).toBeUndefined();
});
