/**
 * The health check every target uses: probe at once and keep probing until a deadline counted
 * from the start of the check (not from the instance's creation: a check that is re-run later,
 * or re-created because a threshold changed, must still probe), for the first ICMP echo reply
 * and the first good GET /health, concurrently; then measure loss, round-trip time and HTTP
 * latency against the stack's thresholds. ICMP alone never makes an instance healthy: HTTP must
 * pass, ICMP must pass or be skipped with a reason. Imports nothing from any target.
 */
import type { EventSink } from "../../lib/events";
import { distribution } from "../../lib/stats";
import { healthResponseProblem, httpGet } from "./http";
import { measurePing, waitForFirstEcho } from "./ping";
import type {
  HealthCheckSpec,
  HealthReport,
  HttpResult,
  IcmpResult,
  PingStats,
  ProbeName,
} from "./schema";
import type { HealthThresholds } from "./thresholds";

export * from "./schema";

/** A failed health check: names each failed probe, its last error and the console's tail. */
export class HealthCheckError extends Error {
  constructor(
    readonly report: HealthReport,
    consoleTail?: { source: string; lines: string },
  ) {
    super(healthFailureMessage(report, consoleTail));
    this.name = "HealthCheckError";
  }
}

/**
 * "health check failed for <instance>:", one line per failed probe, then the console's last
 * lines when the target has a console. Pure.
 */
export function healthFailureMessage(
  report: HealthReport,
  consoleTail?: { source: string; lines: string },
): string {
  const probes = report.failures.map((f) => `  ${f.probe}: ${f.error}`).join("\n");
  const tail = consoleTail
    ? `\nlast lines of the console (${consoleTail.source}):\n${consoleTail.lines}`
    : "";
  return `health check failed for ${report.instance}:\n${probes}${tail}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the probes in this process (already inside the right network namespace, if any). */
export async function runHealthCheck(
  spec: HealthCheckSpec,
  onEvent: EventSink = () => undefined,
): Promise<HealthReport> {
  // The deadline counts from now, and every probe tries at least once before it is checked.
  const deadline = Date.now() + spec.thresholds.deadlineSeconds * 1000;
  const icmpWhat = "address" in spec.icmp ? `ping ${spec.icmp.address}` : "ICMP skipped";
  onEvent({
    phase: "health",
    status: "start",
    message: `${spec.instance}: ${icmpWhat}, GET ${spec.httpUrl}`,
  });
  const [icmp, http] = await Promise.all([
    checkIcmp(spec, deadline, onEvent),
    checkHttp(spec, deadline, onEvent),
  ]);
  const failures: { probe: ProbeName; error: string }[] = [];
  if (icmp.error) failures.push({ probe: "icmp", error: icmp.error });
  if (http.error) failures.push({ probe: "http", error: http.error });
  const report: HealthReport = {
    healthy: failures.length === 0,
    instance: spec.instance,
    expectedBuild: spec.expectedBuild,
    icmp: icmp.result,
    http: http.result,
    failures,
    checkedAt: new Date().toISOString(),
  };
  onEvent({
    phase: "health",
    status: report.healthy ? "stop" : "error",
    message: report.healthy
      ? `${spec.instance}: healthy (${summarizeReport(report)})`
      : `${spec.instance}: ${failures.map((f) => `${f.probe}: ${f.error}`).join("; ")}`,
    data: { report },
  });
  return report;
}

async function checkIcmp(
  spec: HealthCheckSpec,
  deadline: number,
  onEvent: EventSink,
): Promise<{ result: IcmpResult; error?: string }> {
  if (!("address" in spec.icmp)) {
    return { result: { status: "skipped", reason: spec.icmp.skipReason } };
  }
  const address = spec.icmp.address;
  let firstReplyMs: number;
  try {
    const at = await waitForFirstEcho(address, deadline, (message) =>
      onEvent({ phase: "health", status: "progress", message: `ping ${address}: ${message}` }),
    );
    firstReplyMs = Math.round(at - spec.startedAtEpochMs);
  } catch (e) {
    const error = `no echo reply from ${address} within ${spec.thresholds.deadlineSeconds} s (last: ${(e as Error).message})`;
    return { result: { status: "failed", address }, error };
  }
  const stats = await measurePing(address, spec.thresholds.pingCount);
  const error = icmpThresholdProblem(stats, spec.thresholds);
  return { result: { status: error ? "failed" : "passed", address, firstReplyMs, stats }, error };
}

async function checkHttp(
  spec: HealthCheckSpec,
  deadline: number,
  onEvent: EventSink,
): Promise<{ result: HttpResult; error?: string }> {
  const url = spec.httpUrl;
  let lastError = "";
  let firstOkMs: number | undefined;
  do {
    const error = await probeHttpOnce(
      url,
      spec.expectedBuild,
      Math.max(500, Math.min(2000, deadline - Date.now())),
    );
    if (!error) {
      firstOkMs = Date.now() - spec.startedAtEpochMs;
      break;
    }
    if (error !== lastError) {
      lastError = error;
      onEvent({ phase: "health", status: "progress", message: `GET ${url}: ${error}` });
    }
    await sleep(100);
  } while (Date.now() < deadline);
  if (firstOkMs === undefined) {
    const error = `GET ${url} did not succeed within ${spec.thresholds.deadlineSeconds} s (last: ${lastError})`;
    return { result: { status: "failed", url }, error };
  }
  // Every timed request counts: a failure is loss, not the end of the measurement.
  const latencies: number[] = [];
  const errors: string[] = [];
  for (let i = 0; i < spec.thresholds.httpCount; i++) {
    const started = performance.now();
    const error = await probeHttpOnce(url, spec.expectedBuild, 5000);
    if (error) errors.push(error);
    else latencies.push(performance.now() - started);
  }
  const latency = distribution(latencies);
  const requests = spec.thresholds.httpCount;
  const lossPercent = Math.round((errors.length / requests) * 1000) / 10;
  const latencyMaxMs = latency?.maxMs;
  const latencyAvgMs = latency && round2(latencies.reduce((a, b) => a + b, 0) / latencies.length);
  const error = errors.length
    ? `GET ${url}: ${errors.length} of ${requests} timed requests failed (last: ${errors[errors.length - 1]})`
    : latencyMaxMs !== undefined && latencyMaxMs > spec.thresholds.maxHttpLatencyMs
      ? `GET ${url}: latency ${latencyMaxMs} ms above the limit of ${spec.thresholds.maxHttpLatencyMs} ms`
      : undefined;
  const result: HttpResult = {
    status: error ? "failed" : "passed",
    url,
    firstOkMs,
    build: spec.expectedBuild,
    ...(latency && { latencyAvgMs, latencyMaxMs, latency }),
    requests,
    lossPercent,
  };
  return { result, error };
}

/** One GET: undefined when it proved the build is serving, else what went wrong. */
async function probeHttpOnce(url: string, build: string, timeoutMs: number) {
  try {
    return healthResponseProblem(await httpGet(url, timeoutMs), build);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return err.code ?? err.message;
  }
}

/** Loss and round-trip time against the limits; undefined when within them. Pure. */
export function icmpThresholdProblem(
  stats: PingStats,
  limits: Pick<HealthThresholds, "maxPacketLossPercent" | "maxRttMs">,
): string | undefined {
  if (stats.lossPercent > limits.maxPacketLossPercent) {
    return `packet loss ${stats.lossPercent}% (${stats.received}/${stats.sent} replies) above the limit of ${limits.maxPacketLossPercent}%`;
  }
  if (stats.rttAvgMs !== undefined && stats.rttAvgMs > limits.maxRttMs) {
    return `average round-trip ${stats.rttAvgMs} ms above the limit of ${limits.maxRttMs} ms`;
  }
  return undefined;
}

/** One line: "ping 0% loss, rtt 0.4 ms, first reply 812 ms; HTTP 200 in 1.2 ms, first 200 903 ms". */
export function summarizeReport(report: HealthReport): string {
  const { icmp, http } = report;
  const ping =
    icmp.status === "skipped"
      ? `ping skipped (${icmp.reason})`
      : icmp.stats
        ? `ping ${icmp.stats.lossPercent}% loss, rtt avg ${icmp.stats.rttAvgMs ?? "-"} ms, first reply after ${icmp.firstReplyMs} ms`
        : "ping failed";
  const web =
    http.latencyMaxMs !== undefined
      ? `HTTP 200 build ok, latency max ${http.latencyMaxMs} ms, first 200 after ${http.firstOkMs} ms`
      : "HTTP failed";
  return `${ping}; ${web}`;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
