/**
 * The health check every target uses: wait (until a deadline counted from instance creation)
 * for the first ICMP echo reply and the first good GET /health, concurrently, then measure loss,
 * round-trip time and HTTP latency against the stack's thresholds. ICMP alone never makes an
 * instance healthy: HTTP must pass, ICMP must pass or be skipped with a reason.
 */
import * as fs from "node:fs";
import type { EventSink } from "../../lib/events";
import type { HealthThresholds } from "./thresholds";
import { healthResponseProblem, httpGet } from "./http";
import { readSerial } from "../local/qemu";
import { measurePing, PingStats, waitForFirstEcho } from "./ping";

export interface HealthCheckSpec {
  /** The instance, as messages name it. */
  readonly instance: string;
  /** The image id `/health` must report as `build`. */
  readonly expectedBuild: string;
  /** Full URL of the health endpoint, e.g. http://10.0.2.15:80/health. */
  readonly httpUrl: string;
  /** The address to ping, or why ICMP cannot be checked on this target. */
  readonly icmp: { readonly address: string } | { readonly skipReason: string };
  /** When the instance was created (epoch ms): deadline and time-to-first-reply count from it. */
  readonly startedAtEpochMs: number;
  readonly thresholds: HealthThresholds;
  /** Run the probes inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
  /** The instance's serial console log, whose tail goes into failure messages. */
  readonly serialLogPath?: string;
}

export type ProbeName = "icmp" | "http";

export interface IcmpResult {
  readonly status: "passed" | "failed" | "skipped";
  readonly address?: string;
  /** Why ICMP was skipped. */
  readonly reason?: string;
  /** Instance creation → first echo reply. */
  readonly firstReplyMs?: number;
  readonly stats?: PingStats;
}

export interface HttpResult {
  readonly status: "passed" | "failed";
  readonly url: string;
  /** Instance creation → first 200 with the expected build. */
  readonly firstOkMs?: number;
  readonly build?: string;
  readonly latencyAvgMs?: number;
  readonly latencyMaxMs?: number;
  readonly requests?: number;
}

export interface HealthReport {
  readonly healthy: boolean;
  readonly instance: string;
  readonly expectedBuild: string;
  readonly icmp: IcmpResult;
  readonly http: HttpResult;
  /** One entry per failed probe, with the last error it saw. */
  readonly failures: readonly { readonly probe: ProbeName; readonly error: string }[];
  readonly checkedAt: string;
}

/** A failed health check: names the probe, its last error and the tail of the serial log. */
export class HealthCheckError extends Error {
  constructor(
    readonly report: HealthReport,
    serialTail?: { path: string; lines: string },
  ) {
    const probes = report.failures.map((f) => `  ${f.probe}: ${f.error}`).join("\n");
    const tail = serialTail
      ? `\nlast lines of the serial log (${serialTail.path}):\n${serialTail.lines}`
      : "";
    super(`health check failed for ${report.instance}:\n${probes}${tail}`);
    this.name = "HealthCheckError";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the probes in this process (already inside the right network namespace, if any). */
export async function runHealthCheck(
  spec: HealthCheckSpec,
  onEvent: EventSink = () => undefined,
): Promise<HealthReport> {
  const deadline = spec.startedAtEpochMs + spec.thresholds.deadlineSeconds * 1000;
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
  let lastError = "no attempt made";
  let firstOkMs: number | undefined;
  while (Date.now() < deadline) {
    const error = await probeHttpOnce(
      url,
      spec.expectedBuild,
      Math.min(2000, deadline - Date.now()),
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
  }
  if (firstOkMs === undefined) {
    const error = `GET ${url} did not succeed within ${spec.thresholds.deadlineSeconds} s (last: ${lastError})`;
    return { result: { status: "failed", url }, error };
  }
  const latencies: number[] = [];
  for (let i = 0; i < spec.thresholds.httpCount; i++) {
    const started = performance.now();
    const error = await probeHttpOnce(url, spec.expectedBuild, 5000);
    if (error)
      return { result: { status: "failed", url, firstOkMs }, error: `GET ${url}: ${error}` };
    latencies.push(performance.now() - started);
  }
  const latencyMaxMs = round2(Math.max(...latencies));
  const latencyAvgMs = round2(latencies.reduce((a, b) => a + b, 0) / latencies.length);
  const error =
    latencyMaxMs > spec.thresholds.maxHttpLatencyMs
      ? `GET ${url}: latency ${latencyMaxMs} ms above the limit of ${spec.thresholds.maxHttpLatencyMs} ms`
      : undefined;
  const result: HttpResult = {
    status: error ? "failed" : "passed",
    url,
    firstOkMs,
    build: spec.expectedBuild,
    latencyAvgMs,
    latencyMaxMs,
    requests: latencies.length,
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

/** The last `lines` lines of a serial log, or undefined when it does not exist. */
export function readTail(file: string, lines = 15): string | undefined {
  if (!fs.existsSync(file)) return undefined;
  const text = readSerial(file).filter((l) => l.trim() !== "");
  if (text.length === 0) return "  (empty: the guest printed nothing)";
  return text
    .slice(-lines)
    .map((l) => `  | ${l}`)
    .join("\n");
}

const round2 = (n: number) => Math.round(n * 100) / 100;
